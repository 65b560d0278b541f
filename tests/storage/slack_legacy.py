"""Slack installation rows as revision 0006 wrote them: tokens sealed with associated data naming only the column."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from deferredrev.storage.vault import TokenVault

CLIENT_ID = "1111.2222"


@dataclass(frozen=True)
class ColumnOnlyIdentity:
    """The associated data of a Slack token up to revision 0006."""

    column: str

    def associated_data(self) -> bytes:
        return f"deferredrev|slack-token|v1|col={self.column}".encode()


def seal_the_old_way(vault: TokenVault, token: str, column: str) -> str:
    return base64.b64encode(vault.encrypt(token, ColumnOnlyIdentity(column))).decode()


def tokens_of(team: str) -> dict[str, str]:
    return {
        "bot_token": f"xoxb-canary-legacy-{team}",
        "bot_refresh_token": f"xoxe-1-canary-legacy-{team}",
        "user_token": f"xoxp-canary-legacy-{team}",
    }


def save_the_old_way(
    engine: Engine, vault: TokenVault, *, team_id: str | None, enterprise_id: str | None = None, now: datetime
) -> None:
    """An installation (and its bot row) written by slack_sdk with tokens sealed as 0006 sealed them."""
    sealed = {column: seal_the_old_way(vault, token, column) for column, token in tokens_of(team_id or "org").items()}
    SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine).save(
        Installation(
            app_id="A0APP",
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_id="B0BOT",
            bot_user_id="U0BOT",
            user_id="U0INSTALLER",
            is_enterprise_install=team_id is None,
            installed_at=now.timestamp(),
            **sealed,
        )
    )

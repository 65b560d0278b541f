"""slack_sdk's SQLAlchemy installation store, with Slack tokens sealed by the vault (AES-256-GCM) like ours.

slack_sdk builds its own ``Table`` objects and writes rows itself; the token columns here get a type that encrypts
on the way in and decrypts on the way out, so nothing else about the store changes. Values are base64 text.
"""

from __future__ import annotations

import base64
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, String, Table, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from deferredrev.storage.vault import SlackTokenIdentity, TokenVault

TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


class SealedToken(TypeDecorator[str]):
    impl = String(1000)
    cache_ok = True

    def __init__(self, vault: TokenVault, column: str) -> None:
        super().__init__()
        self.vault = vault
        self.identity = SlackTokenIdentity(column)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return base64.b64encode(self.vault.encrypt(str(value), self.identity)).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.vault.decrypt(base64.b64decode(value), self.identity)


class SealedInstallationStore(SQLAlchemyInstallationStore):
    def __init__(self, *, client_id: str, engine: Engine, vault: TokenVault) -> None:
        super().__init__(client_id=client_id, engine=engine)
        for table in (self.bots, self.installations):
            _seal(table, vault)


def _seal(table: Table, vault: TokenVault) -> None:
    for name in TOKEN_COLUMNS:
        if name in table.c:
            table.c[name].type = SealedToken(vault, name)


def rotate_slack_tokens(session: Session, vault: TokenVault) -> int:
    """Re-encrypt the Slack tokens of every installation row under the primary key; returns how many rows changed."""
    touched = 0
    inspector_tables = set(inspect(session.get_bind()).get_table_names())
    for table in ("slack_bots", "slack_installations"):
        if table not in inspector_tables:
            continue
        columns = [c for c in TOKEN_COLUMNS if table == "slack_installations" or c.startswith("bot_")]
        rows = session.execute(text(f"SELECT id, {', '.join(columns)} FROM {table}")).mappings().all()  # noqa: S608
        for row in rows:
            changed = {}
            for column in columns:
                value = row[column]
                if value is None:
                    continue
                blob = base64.b64decode(value)
                if vault.needs_rotation(blob):
                    sealed = vault.reencrypt(blob, SlackTokenIdentity(column))
                    changed[column] = base64.b64encode(sealed).decode()
            if changed:
                assignments = ", ".join(f"{column} = :{column}" for column in changed)
                session.execute(text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**changed, "id": row["id"]})  # noqa: S608
                touched += 1
    return touched

"""The Slack installation store: tokens sealed at rest and bound to the installation whose row holds them."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine, text

from deferredrev.storage.slack_store import SealedInstallationStore
from deferredrev.storage.vault import SlackTokenIdentity, TokenVault
from tests.conftest import make_key

CLIENT_ID = "1111.2222"
CANARY = "xoxb-canary-slack-store-"


@pytest.fixture
def vault() -> TokenVault:
    return TokenVault([make_key("k1")])


@pytest.fixture
def store(engine: Engine, vault: TokenVault) -> SealedInstallationStore:
    return SealedInstallationStore(client_id=CLIENT_ID, engine=engine, vault=vault)


def installation(team_id: str | None, *, enterprise_id: str | None = None, now: datetime) -> Installation:
    who = team_id or enterprise_id
    return Installation(
        app_id="A0APP",
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token=f"{CANARY}bot-{who}",
        bot_refresh_token=f"xoxe-1-canary-refresh-{who}",
        bot_id="B0BOT",
        bot_user_id="U0BOT",
        user_id="U0INSTALLER",
        user_token=f"xoxp-canary-user-{who}",
        is_enterprise_install=team_id is None,
        installed_at=now.timestamp(),
    )


def stored_column(engine: Engine, table: str, column: str, team_id: str) -> str:
    with engine.connect() as raw:
        return str(raw.execute(text(f"SELECT {column} FROM {table} WHERE team_id = :t"), {"t": team_id}).scalar_one())  # noqa: S608


def copy_column(engine: Engine, table: str, column: str, *, from_team: str, to_team: str) -> None:
    with engine.begin() as raw:
        raw.execute(
            text(f"UPDATE {table} SET {column} = :v WHERE team_id = :t"),  # noqa: S608
            {"v": stored_column(engine, table, column, from_team), "t": to_team},
        )


def test_tokens_round_trip_and_are_sealed_at_rest(store: SealedInstallationStore, engine: Engine, now: datetime) -> None:
    store.save(installation("T0AAA", now=now))
    found = store.find_installation(enterprise_id=None, team_id="T0AAA")
    assert found is not None
    assert (found.bot_token, found.bot_refresh_token, found.user_token) == (
        f"{CANARY}bot-T0AAA",
        "xoxe-1-canary-refresh-T0AAA",
        "xoxp-canary-user-T0AAA",
    )
    bot = store.find_bot(enterprise_id=None, team_id="T0AAA")
    assert bot is not None and bot.bot_token == f"{CANARY}bot-T0AAA"
    with_user = store.find_installation(enterprise_id=None, team_id="T0AAA", user_id="U0INSTALLER")  # bot back-filled
    assert with_user is not None and with_user.bot_token == f"{CANARY}bot-T0AAA"
    with engine.connect() as raw:
        for table in ("slack_bots", "slack_installations"):
            for value in raw.execute(text(f"SELECT bot_token, bot_refresh_token FROM {table}")).one():  # noqa: S608
                assert "canary" not in str(value) and not str(value).startswith("xox")


@pytest.mark.parametrize(("table", "column"), [("slack_bots", "bot_token"), ("slack_installations", "user_token")])
def test_a_ciphertext_copied_into_another_workspaces_row_does_not_open(
    store: SealedInstallationStore, engine: Engine, now: datetime, caplog: pytest.LogCaptureFixture, table: str, column: str
) -> None:
    store.save(installation("T0AAA", now=now))
    store.save(installation("T0BBB", now=now))
    copy_column(engine, table, column, from_team="T0AAA", to_team="T0BBB")
    caplog.set_level(logging.WARNING, logger="deferredrev.storage.slack_store")

    if table == "slack_bots":
        assert store.find_bot(enterprise_id=None, team_id="T0BBB") is None
    else:
        assert store.find_installation(enterprise_id=None, team_id="T0BBB") is None
    workspace_a = store.find_installation(enterprise_id=None, team_id="T0AAA")  # the original row still opens
    assert workspace_a is not None and workspace_a.bot_token == f"{CANARY}bot-T0AAA"
    warnings = [record.getMessage() for record in caplog.records]
    assert any("team T0BBB" in w and "do not open" in w for w in warnings), warnings
    assert not any("canary" in w or stored_column(engine, table, column, "T0AAA") in w for w in warnings)


def test_an_org_wide_grid_install_and_its_workspaces_do_not_share_an_identity(
    store: SealedInstallationStore, engine: Engine, now: datetime
) -> None:
    store.save(installation(None, enterprise_id="E0ORG", now=now))  # org-wide: team_id is None
    store.save(installation("T0AAA", enterprise_id="E0ORG", now=now))
    org = store.find_installation(enterprise_id="E0ORG", team_id="T0AAA", is_enterprise_install=True)
    assert org is not None and org.team_id is None and org.bot_token == f"{CANARY}bot-E0ORG"
    with engine.begin() as raw:  # the org-wide row's token moved into the workspace's row
        org_token = raw.execute(text("SELECT bot_token FROM slack_bots WHERE team_id IS NULL")).scalar_one()
        raw.execute(text("UPDATE slack_bots SET bot_token = :v WHERE team_id = 'T0AAA'"), {"v": org_token})
    assert store.find_bot(enterprise_id="E0ORG", team_id="T0AAA") is None
    assert store.find_bot(enterprise_id="E0ORG", team_id=None, is_enterprise_install=True) is not None


def test_missing_ids_are_empty_never_none_and_identities_stay_apart() -> None:
    org_wide = SlackTokenIdentity(CLIENT_ID, "E0ORG", None, "bot_token").associated_data()
    assert b"None" not in org_wide and b"|team=|" in org_wide
    identities = {
        SlackTokenIdentity(CLIENT_ID, "E0ORG", None, "bot_token").associated_data(),
        SlackTokenIdentity(CLIENT_ID, None, "E0ORG", "bot_token").associated_data(),
        SlackTokenIdentity(CLIENT_ID, "E0ORG", "T0AAA", "bot_token").associated_data(),
        SlackTokenIdentity(CLIENT_ID, None, "T0AAA", "bot_token").associated_data(),
        SlackTokenIdentity("other", None, "T0AAA", "bot_token").associated_data(),
        SlackTokenIdentity(CLIENT_ID, None, "T0AAA", "bot_refresh_token").associated_data(),
        SlackTokenIdentity(CLIENT_ID, "E|team=T", None, "bot_token").associated_data(),  # separators are escaped
        SlackTokenIdentity(CLIENT_ID, "E", "T", "bot_token").associated_data(),
    }
    assert len(identities) == 8


def test_a_row_that_is_not_a_vault_ciphertext_is_no_installation(
    store: SealedInstallationStore, engine: Engine, now: datetime
) -> None:
    store.save(installation("T0AAA", now=now))
    with engine.begin() as raw:
        raw.execute(text("UPDATE slack_bots SET bot_token = 'xoxb-plaintext-not-sealed'"))
    assert store.find_bot(enterprise_id=None, team_id="T0AAA") is None


def test_a_token_sealed_by_another_app_does_not_open(engine: Engine, vault: TokenVault, now: datetime) -> None:
    SealedInstallationStore(client_id="other.app", engine=engine, vault=vault).save(installation("T0AAA", now=now))
    with engine.begin() as raw:
        raw.execute(text("UPDATE slack_bots SET client_id = :c"), {"c": CLIENT_ID})
    assert (
        SealedInstallationStore(client_id=CLIENT_ID, engine=engine, vault=vault).find_bot(
            enterprise_id=None, team_id="T0AAA"
        )
        is None
    )

"""Background work (alerts, posting progress) finds the Slack token of a workspace's installation, including an
Enterprise Grid org-wide installation, which is stored under the organisation with no workspace of its own. The real
installation store on a migrated database; the tokens are checked against the sandbox Slack over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine

from deferredrev.bot.app import client_for_team_factory, installation_store
from deferredrev.clock import ManualClock
from deferredrev.sandbox.slack import SlackSandbox
from deferredrev.services.workspaces import WorkspaceService
from deferredrev.settings import Plan, Settings
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.vault import TokenVault
from tests.conftest import key_env, make_key

ORG = "E0GRID001"
ORG_WIDE_TEAM, OWN_INSTALL_TEAM, ELSEWHERE = "T0GRIDA01", "T0GRIDB01", "T0OTHER01"
ORG_TOKEN, OWN_TOKEN = "xoxb-org-wide-token", "xoxb-workspace-in-org-token"


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox(signing_secret="s") as sandbox:
        sandbox.start()
        sandbox.add_workspace(ORG_WIDE_TEAM, "Grid A", ORG_TOKEN)
        sandbox.add_workspace(OWN_INSTALL_TEAM, "Grid B", OWN_TOKEN)
        sandbox.add_workspace(ELSEWHERE, "Elsewhere", "xoxb-elsewhere-unused")
        yield sandbox


def test_an_org_wide_installation_serves_the_workspaces_of_its_organisation(
    engine: Engine, sessions: SessionFactory, slack: SlackSandbox, clock: ManualClock, now: datetime
) -> None:
    key = make_key("grid")
    settings = Settings.from_env({"DEFERREDREV_ENCRYPTION_KEYS": key_env(key), "SLACK_CLIENT_ID": "1.2",
                                  "SLACK_CLIENT_SECRET": "canary-secret", "SLACK_API_URL": slack.api_url})  # fmt: skip
    store = installation_store(settings, engine, TokenVault([key]))
    store.save(
        Installation(
            app_id="A1",
            enterprise_id=ORG,
            team_id=None,
            user_id="U0INSTALL",
            bot_token=ORG_TOKEN,
            bot_id="B1",
            bot_user_id="U0BOT",
            is_enterprise_install=True,
            installed_at=now.timestamp(),
        )
    )
    own_install = Installation(
        app_id="A1", enterprise_id=ORG, team_id=OWN_INSTALL_TEAM, user_id="U0INSTALL", bot_token=OWN_TOKEN,
        bot_id="B2", bot_user_id="U0BOT2", installed_at=now.timestamp(),
    )  # fmt: skip
    store.save(own_install)
    workspaces = WorkspaceService(sessions=sessions, clock=clock, default_plan=Plan.GROWTH)
    client_for = client_for_team_factory(settings, store, workspaces.enterprise_of)

    assert client_for(ORG_WIDE_TEAM) is None  # its organisation isn't known yet: no guessing
    workspaces.note_enterprise(ORG_WIDE_TEAM, ORG)  # as its first request does
    workspaces.note_enterprise(OWN_INSTALL_TEAM, ORG)
    org_wide = client_for(ORG_WIDE_TEAM)
    assert org_wide is not None and org_wide.token == ORG_TOKEN
    assert org_wide.auth_test()["team_id"] == ORG_WIDE_TEAM
    own = client_for(OWN_INSTALL_TEAM)
    assert own is not None and own.token == OWN_TOKEN  # a workspace's own installation first
    assert client_for(ELSEWHERE) is None  # another organisation's workspace never gets this one's token

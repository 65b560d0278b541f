"""Multi-workspace mode: install through /slack/install with slack_sdk's SQLAlchemy stores, then use the app."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import text

from tests.e2e.harness import ADMIN, TEAM, running_stack


def test_install_then_use_the_app(database_url: str, now: datetime) -> None:
    with running_stack(database_url, now=now, multi_workspace=True) as stack:
        stack.slack.set_browser_session(TEAM, ADMIN)
        install = stack.browser.get(stack.url + "/slack/install")
        assert install.status_code == 200
        authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', install.text)
        assert authorize, install.text[:500]
        state_cookie = install.headers["set-cookie"].split(";", 1)[0]
        approved = stack.browser.get(authorize.group(1).replace("&amp;", "&"))
        assert approved.status_code == 302
        finished = stack.browser.get(approved.headers["location"], headers={"cookie": state_cookie})
        assert finished.status_code == 200, finished.text[:500]
        assert finished.headers["cache-control"] == "no-store"
        with stack.server.runtime.engine.connect() as raw:
            assert raw.execute(text("SELECT team_id FROM slack_bots")).scalar_one() == TEAM
        stack.command("status")
        assert "Not connected" in stack.ephemeral_text(contains="DeferredRev status")
        stack.connect()
        stack.slack.wait_for_dm(ADMIN, contains="Connected to")


def test_install_with_a_forged_state_is_refused(database_url: str, now: datetime) -> None:
    with running_stack(database_url, now=now, multi_workspace=True) as stack:
        stack.slack.set_browser_session(TEAM, ADMIN)
        install = stack.browser.get(stack.url + "/slack/install")
        authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', install.text)
        assert authorize
        approved = stack.browser.get(authorize.group(1).replace("&amp;", "&"))
        refused = stack.browser.get(approved.headers["location"])  # no state cookie: another browser
        assert refused.status_code in (400, 401)
        with stack.server.runtime.engine.connect() as raw:
            assert raw.execute(text("SELECT count(*) FROM slack_bots")).scalar_one() == 0


def test_slack_tokens_are_sealed_at_rest(database_url: str, now: datetime) -> None:
    with running_stack(database_url, now=now, multi_workspace=True) as stack:
        stack.slack.set_browser_session(TEAM, ADMIN)
        install = stack.browser.get(stack.url + "/slack/install")
        authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', install.text)
        assert authorize
        approved = stack.browser.get(authorize.group(1).replace("&amp;", "&"))
        cookie = install.headers["set-cookie"].split(";", 1)[0]
        assert stack.browser.get(approved.headers["location"], headers={"cookie": cookie}).status_code == 200
        with stack.server.runtime.engine.connect() as raw:
            stored = [str(v) for v in raw.execute(text("SELECT bot_token FROM slack_bots")).scalars()]
            stored += [str(v) for v in raw.execute(text("SELECT bot_token FROM slack_installations")).scalars()]
        issued = [call.response["access_token"] for call in stack.slack.calls("oauth.v2.access") if call.response]
        assert issued and stored
        assert not any(token in value for token in issued for value in stored)
        assert all(not value.startswith("xox") for value in stored)
        stack.command("status")  # the app still reads them back to act in the workspace
        assert "DeferredRev status" in stack.ephemeral_text(contains="DeferredRev status")


def install(stack, team: str = TEAM, admin: str = ADMIN) -> None:  # type: ignore[no-untyped-def]
    stack.slack.set_browser_session(team, admin)
    page = stack.browser.get(stack.url + "/slack/install")
    authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', page.text)
    assert authorize
    approved = stack.browser.get(authorize.group(1).replace("&amp;", "&"))
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    assert stack.browser.get(approved.headers["location"], headers={"cookie": cookie}).status_code == 200


def refresh_grants(stack) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for call in stack.slack.calls("oauth.v2.access") if call.args.get("grant_type") == "refresh_token")


def test_rotating_bot_tokens_are_refreshed_and_stored_sealed(database_url: str, now: datetime) -> None:
    # Tokens that live one hour are always within Bolt's two-hour rotation window, so every use rotates them.
    with running_stack(database_url, now=now, multi_workspace=True, slack_token_ttl=3600) as stack:
        install(stack)
        stack.command("status")
        assert "DeferredRev status" in stack.ephemeral_text(contains="DeferredRev status")
        assert refresh_grants(stack) >= 1  # rotated while authorizing the request
        before = refresh_grants(stack)
        # Background work (an alert, a posting update) rotates too, without a request from Slack.
        client = stack.server.app.notifier._client_for_team(TEAM)
        assert client is not None and client.auth_test()["ok"]
        assert refresh_grants(stack) == before + 1
        with stack.server.runtime.engine.connect() as raw:
            stored = [str(v) for v in raw.execute(text("SELECT bot_token FROM slack_bots")).scalars()]
        assert stored and all(not value.startswith("xox") for value in stored)


OTHER_TEAM, OTHER_ADMIN, OTHER_CHANNEL = "T0E2E0002", "U0OTHER01", "C0OTHER01"


def test_a_bot_token_copied_into_another_workspaces_rows_does_not_work_there(database_url: str, now: datetime) -> None:
    with running_stack(database_url, now=now, multi_workspace=True) as stack:
        other = stack.slack.add_workspace(OTHER_TEAM, "Other Co", "xoxb-other-workspace-token")
        other.add_user(OTHER_ADMIN, "oz", real_name="Oz Admin", is_admin=True)
        other.add_channel(OTHER_CHANNEL, "general", members=[OTHER_ADMIN])
        install(stack)
        install(stack, OTHER_TEAM, OTHER_ADMIN)
        with stack.server.runtime.engine.begin() as raw:  # someone with database access moves A's token into B's rows
            for table in ("slack_bots", "slack_installations"):
                token = raw.execute(text(f"SELECT bot_token FROM {table} WHERE team_id = :t"), {"t": TEAM}).scalar_one()  # noqa: S608
                raw.execute(text(f"UPDATE {table} SET bot_token = :v WHERE team_id = :t"), {"v": token, "t": OTHER_TEAM})  # noqa: S608
        stack.driver.slash(OTHER_ADMIN, OTHER_CHANNEL, "status", team=OTHER_TEAM)
        refused = stack.ephemeral_text(OTHER_ADMIN, contains="reinstall", channel=OTHER_CHANNEL)
        assert "no longer available" in refused
        assert stack.slack.messages(OTHER_CHANNEL) == []  # nothing was said in B's workspace with A's token
        stack.command("status")  # workspace A is untouched
        assert "DeferredRev status" in stack.ephemeral_text(contains="DeferredRev status")

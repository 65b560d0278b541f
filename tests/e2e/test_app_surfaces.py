"""Help, settings modal, App Home, and the error handler, driven over HTTP."""

from __future__ import annotations

from datetime import date

from deferredrev.bot import ids
from deferredrev.sandbox.slack import render_view
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, MEMBER, TEAM, Stack


def test_help_and_unknown_subcommands(stack: Stack) -> None:
    stack.command("help", user=MEMBER)
    assert "/deferredrev preview" in stack.ephemeral_text(MEMBER, contains="preview")
    stack.command("frobnicate", user=MEMBER)
    assert "I don't know `frobnicate`" in stack.ephemeral_text(MEMBER, contains="frobnicate")


def test_settings_modal_saves_and_shows_in_status(stack: Stack) -> None:
    stack.command("settings")
    view = stack.slack.wait_for_view(ADMIN, callback_id=ids.SETTINGS_VIEW)
    response = stack.driver.submit(
        ADMIN,
        view["id"],
        {
            ids.APPROVERS_INPUT: [APPROVER, ADMIN],
            ids.FOUR_EYES_INPUT: [],
            ids.ALERT_CHANNEL_INPUT: CHANNEL,
            ids.POSTING_MODE_INPUT: "summary",
            ids.CUTOVER_INPUT: "2026-01-01",
        },
    )
    assert response.status_code == 200
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Settings saved")
    settings = stack.server.app.workspaces.settings(TEAM)
    assert settings.approvers == (ADMIN, APPROVER)
    assert settings.four_eyes is False and settings.alert_channel == CHANNEL
    assert settings.posting_mode == "summary" and settings.cutover_date == date(2026, 1, 1)
    stack.command("status")
    status = stack.ephemeral_text(contains="DeferredRev status")
    assert "Four-eyes: off" in status and "Posting: summary" in status and "2026-01-01" in status


def test_an_alert_channel_is_told_and_one_without_the_bot_is_named(stack: Stack) -> None:
    stack.workspace.add_channel("C0NOBOT", "no-bot", members=[ADMIN], bot_member=False)
    for channel in (CHANNEL, "C0NOBOT"):
        stack.command("settings")
        view = stack.slack.wait_for_view(ADMIN, callback_id=ids.SETTINGS_VIEW)
        stack.driver.submit(ADMIN, view["id"], {ids.ALERT_CHANNEL_INPUT: channel, ids.POSTING_MODE_INPUT: "per_contract"})
        assert stack.server.app.workspaces.settings(TEAM).alert_channel == channel  # saved before the ack
    announced = stack.slack.wait_for(
        lambda: next((m for m in stack.slack.messages(CHANNEL) if "connection alerts" in m.text), None),
        message="the alert channel told",
    )
    assert f"<@{ADMIN}>" in announced.text and f"<@{ADMIN}>" in str(announced.blocks)  # live mentions
    saved = stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="I'm not a member of <#C0NOBOT>")
    assert "<#C0NOBOT>" in str(saved.blocks) and "`/invite @DeferredRev`" in str(saved.blocks)
    assert stack.server.app.workspaces.settings(TEAM).alert_channel == "C0NOBOT"


def test_members_cannot_open_settings(stack: Stack) -> None:
    stack.command("settings", user=MEMBER)
    assert "change settings" in stack.ephemeral_text(MEMBER, contains="settings")
    assert stack.slack.open_views(MEMBER) == []


def test_app_home_shows_status_and_admin_buttons(connected: Stack) -> None:
    stack = connected
    stack.driver.app_home_opened(ADMIN)
    home = stack.slack.wait_for_home(ADMIN, contains="Sandbox Company_US_1")
    text = render_view(home)
    assert "Connected" in text and "Account mappings" in text and "Disconnect" in text
    assert "QuickBooks connected" in text  # recent activity
    stack.driver.app_home_opened(MEMBER)
    member_home = render_view(stack.slack.wait_for_home(MEMBER, contains="Sandbox Company_US_1"))
    assert "Disconnect" not in member_home and "Admins can connect" in member_home
    # The admin opens the mappings modal straight from App Home.
    stack.driver.click(ADMIN, action_id=ids.OPEN_MAPPINGS, home=True)
    stack.slack.wait_for_view(ADMIN, callback_id=ids.MAPPINGS_VIEW)


def test_home_connect_button_sends_a_link_by_dm(stack: Stack) -> None:
    stack.driver.app_home_opened(ADMIN)
    stack.slack.wait_for_home(ADMIN, contains="Not connected")
    stack.driver.click(ADMIN, action_id=ids.CONNECT_BUTTON, home=True)
    dm = stack.slack.wait_for_dm(ADMIN, contains="Connect QuickBooks")
    assert any(e.get("url", "").startswith(stack.url + "/qbo/connect?t=") for b in dm.blocks for e in b.get("elements", []))


def test_slack_errors_reach_the_user_as_a_clear_message(connected: Stack) -> None:
    stack = connected
    stack.slack.inject_error("views.open", error="internal_error")
    stack.command("mappings")
    text = stack.ephemeral_text(contains="reference")
    assert "Something went wrong on our side" in text

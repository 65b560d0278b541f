"""Socket Mode: with SLACK_APP_TOKEN the app opens a WebSocket to Slack (here the sandbox) and answers envelopes."""

from __future__ import annotations

from pathlib import Path

from deferredrev.clock import ManualClock
from deferredrev.runtime import build_runtime
from deferredrev.sandbox.slack import SlackSandbox
from deferredrev.server import connect_socket_mode
from deferredrev.settings import Settings
from deferredrev.wiring import wire
from tests.conftest import key_env, make_key
from tests.e2e.harness import ADMIN, BOT_TOKEN, CHANNEL, MEMBER, TEAM

APP_TOKEN = "xapp-1-A0SANDBOX-canary-app-token"


def test_slash_commands_and_events_over_socket_mode(tmp_path: Path, clock: ManualClock) -> None:
    with SlackSandbox() as slack:
        slack.start()
        workspace = slack.add_workspace(TEAM, "Acme Finance", BOT_TOKEN)
        workspace.add_user(ADMIN, "ana", is_admin=True)
        workspace.add_user(MEMBER, "cy")
        workspace.add_channel(CHANNEL, "finance", members=[ADMIN, MEMBER])
        server = slack.enable_socket_mode(APP_TOKEN)
        settings = Settings.from_env(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path}/socket.db",
                "DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("sm")),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_API_URL": slack.api_url,
            }
        )
        settings.require_for_serve()  # no signing secret needed in Socket Mode
        app = wire(build_runtime(settings, clock=clock, migrate=True))
        handler = connect_socket_mode(app)
        try:
            server.wait_connected()
            status = server.send_envelope(
                "slash_commands",
                {"command": "/deferredrev", "text": "status", "team_id": TEAM, "user_id": MEMBER, "channel_id": CHANNEL,
                 "trigger_id": slack.issue_trigger(TEAM, MEMBER), "api_app_id": "A0SANDBOX",
                 "response_url": slack.issue_response_url(TEAM, CHANNEL, MEMBER)},
            )  # fmt: skip
            ack = server.wait_ack(status)
            assert "DeferredRev status" in str(ack["payload"]) and "Not connected" in str(ack["payload"])
            server.send_envelope(
                "slash_commands",
                {"command": "/deferredrev", "text": "connect", "team_id": TEAM, "user_id": ADMIN, "channel_id": CHANNEL,
                 "trigger_id": slack.issue_trigger(TEAM, ADMIN), "api_app_id": "A0SANDBOX",
                 "response_url": slack.issue_response_url(TEAM, CHANNEL, ADMIN)},
            )  # fmt: skip
            slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Connect QuickBooks")
        finally:
            handler.close()
            app.close()
            app.runtime.close()

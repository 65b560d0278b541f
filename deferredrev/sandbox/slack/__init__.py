"""Sandbox Slack: a Web API stand-in on loopback, a driver that plays Slack toward the app, and a transcript renderer.

sb = SlackSandbox(signing_secret="...").start()      # WebClient(base_url=sb.api_url)
ws = sb.add_workspace(team_id="T0001", name="Acme", bot_token="xoxb-...")
ws.add_user("U_ADMIN", name="ana", is_admin=True); ws.add_channel("C_FIN", name="finance", members=["U_ADMIN"])
driver = SlackDriver(app_url, "...", sb); driver.slash("U_ADMIN", "C_FIN", "preview 2026-10")
sb.wait_for_message("C_FIN", contains="Post to QuickBooks")
"""

from __future__ import annotations

from deferredrev.sandbox.slack.driver import SlackDriver
from deferredrev.sandbox.slack.model import (
    Channel,
    DriverError,
    Ephemeral,
    HostedFile,
    Message,
    RecordedCall,
    SlackSandboxError,
    User,
)
from deferredrev.sandbox.slack.render import mrkdwn_to_text, render_blocks, render_message, render_view
from deferredrev.sandbox.slack.server import SlackSandbox
from deferredrev.sandbox.slack.state import Workspace
from deferredrev.sandbox.slack.wsgi import ServedApp, serve_wsgi

__all__ = [
    "Channel",
    "DriverError",
    "Ephemeral",
    "HostedFile",
    "Message",
    "RecordedCall",
    "ServedApp",
    "SlackDriver",
    "SlackSandbox",
    "SlackSandboxError",
    "User",
    "Workspace",
    "mrkdwn_to_text",
    "render_blocks",
    "render_message",
    "render_view",
    "serve_wsgi",
]

"""The App Home tab: connection, mappings, settings, recent activity, and the buttons an admin needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deferredrev.bot import ids
from deferredrev.bot.blocks.common import Block, actions, button, context, divider, escape, header, section, slack_date
from deferredrev.bot.blocks.messages import status_blocks
from deferredrev.services.connections import ConnectionStatusView
from deferredrev.services.mappings import Mapping
from deferredrev.services.workspaces import WorkspaceSettings

MAX_ACTIVITY = 10


@dataclass(frozen=True)
class ActivityLine:
    when: datetime
    text: str


def home_view(
    connection: ConnectionStatusView,
    mapping: Mapping | None,
    settings: WorkspaceSettings,
    *,
    is_admin: bool,
    activity: Sequence[ActivityLine] = (),
) -> dict[str, Any]:
    blocks: list[Block] = [header("DeferredRev for Slack"), *status_blocks(connection, mapping, settings)]
    if is_admin:
        blocks.append(admin_actions(connection.status))
    else:
        blocks.append(context("Admins can connect QuickBooks, map accounts and change settings here."))
    blocks += [divider(), section("*Recent previews and postings*")]
    if activity:
        blocks += [context(f"{slack_date(line.when)} · {escape(line.text)}") for line in activity[:MAX_ACTIVITY]]
    else:
        blocks.append(context("Nothing yet. Run `/deferredrev preview` in a channel to preview last month's entries."))
    return {"type": "home", "blocks": blocks[:100]}


def admin_actions(status: str) -> Block:
    elements: list[Block] = []
    if status == "connected":
        elements += [
            button("Account mappings", ids.OPEN_MAPPINGS, value="mappings"),
            button("Settings", ids.OPEN_SETTINGS, value="settings"),
            button("Disconnect", ids.DISCONNECT_ASK, value="disconnect", style="danger"),
        ]
    else:
        verb_id = ids.CONNECT_BUTTON if status == "not_connected" else ids.RECONNECT_BUTTON
        label = "Connect QuickBooks" if status == "not_connected" else "Reconnect QuickBooks"
        elements += [
            button(label, verb_id, value="connect", style="primary"),
            button("Settings", ids.OPEN_SETTINGS, value="settings"),
        ]
    return actions(*elements, block_id="home_admin_actions")

"""The steps behind commands and buttons, shared by both (e.g. "connect" from `/deferredrev connect` or App Home)."""

from __future__ import annotations

import json
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks import messages, modals
from deferredrev.bot.blocks.home import ActivityLine, home_view
from deferredrev.bot.blocks.messages import Message
from deferredrev.bot.deps import BotDeps
from deferredrev.qbo.errors import QboError
from deferredrev.storage.repositories import audit_trail

logger = logging.getLogger(__name__)

ACTIVITY_WORDS = {
    "connect.completed": "QuickBooks connected",
    "connection.disconnected": "QuickBooks disconnected",
    "connection.expired": "QuickBooks connection expired",
    "mappings.saved": "Account mappings saved",
    "settings.saved": "Settings saved",
    "contracts.import": "Contracts imported",
    "preview.posted": "Preview posted",
    "preview.approved": "Preview approved",
    "preview.rejected": "Preview rejected",
    "entries.posted": "Entries posted to QuickBooks",
}


def admin_refusal(deps: BotDeps, client: WebClient, who: Requester, doing: str) -> Message | None:
    """Why ``who`` may not ``doing`` (e.g. "connect QuickBooks"), or None when they are a DeferredRev admin here."""
    clearance = deps.authority.clearance(client, who)
    if clearance.is_admin:
        return None
    reason = clearance.refusal(doing)
    return messages.refused(reason) if reason else messages.admin_only(doing)


def connect_message(deps: BotDeps, client: WebClient, who: Requester, *, reconnect: bool) -> Message:
    if refusal := admin_refusal(deps, client, who, "connect QuickBooks"):
        return refusal
    team_id, user_id = who.team_id, who.user_id
    settings = deps.workspaces.settings(team_id)
    if not settings.plan.allows_quickbooks:
        return messages.plan_required(settings.plan.value)
    status = deps.connections.status(team_id)
    if status.status == "connected" and not reconnect:
        return messages.already_connected(status.company_name or "QuickBooks")
    _remember_workspace_name(deps, client, team_id)
    ticket = deps.connections.connect_ticket(team_id, user_id)
    return messages.connect_prompt(deps.connect_url(ticket), reconnect=reconnect or status.status != "not_connected")


def _remember_workspace_name(deps: BotDeps, client: WebClient, team_id: str) -> None:
    """The connect link's page names the workspace, so a QuickBooks admin sent someone else's link can tell."""
    try:
        name = client.auth_test().get("team")
    except SlackApiError as error:
        logger.info("could not read the workspace name of %s: %s", team_id, error.response.get("error"))
        return
    if name:
        deps.workspaces.remember_name(team_id, str(name))


def status_message(deps: BotDeps, team_id: str) -> Message:
    status = deps.status.read(team_id)
    return messages.status_message(status.connection, status.mapping, status.settings)


def open_mappings(deps: BotDeps, client: WebClient, *, trigger_id: str, who: Requester) -> Message | None:
    """Open the mappings modal; return a message instead when the user can't (not admin, not connected)."""
    if refusal := admin_refusal(deps, client, who, "change account mappings"):
        return refusal
    team_id = who.team_id
    status = deps.connections.status(team_id)
    if status.status == "expired":
        return messages.connection_expired("read your chart of accounts")
    if status.status != "connected" or status.realm_id is None:
        return messages.not_connected("read your chart of accounts")
    view = modals.mappings_modal(
        status.company_name or "QuickBooks", deps.mappings.current(team_id), realm_id=status.realm_id
    )
    client.views_open(trigger_id=trigger_id, view=view)
    warm_chart(deps, team_id)
    return None


def warm_chart(deps: BotDeps, team_id: str) -> None:
    """Load the chart into the cache while the person looks at the modal, so type-ahead answers from memory."""
    try:
        deps.mappings.chart(team_id)
    except QboError as error:
        logger.warning("could not preload the chart of accounts for %s: %s", team_id, error.__class__.__name__)


def open_settings(
    deps: BotDeps, client: WebClient, *, trigger_id: str, who: Requester, channel_id: str | None
) -> Message | None:
    if refusal := admin_refusal(deps, client, who, "change settings"):
        return refusal
    view = modals.settings_modal(deps.workspaces.settings(who.team_id))
    view["private_metadata"] = json.dumps({"channel_id": channel_id})
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def disconnect_message(deps: BotDeps, client: WebClient, who: Requester) -> Message:
    if refusal := admin_refusal(deps, client, who, "disconnect QuickBooks"):
        return refusal
    status = deps.connections.status(who.team_id)
    if status.status in ("not_connected", "disconnected"):
        return messages.error_message("QuickBooks isn't connected, so there is nothing to disconnect.")
    return messages.disconnect_confirm(status.company_name or "QuickBooks")


def publish_home(deps: BotDeps, client: WebClient, who: Requester) -> None:
    team_id, user_id = who.team_id, who.user_id
    with deps.sessions() as session:
        events = audit_trail(session, team_id, limit=40)
    activity = [ActivityLine(e.created_at, ACTIVITY_WORDS[e.action]) for e in events if e.action in ACTIVITY_WORDS]
    status = deps.status.read(team_id)
    view = home_view(
        status.connection,
        status.mapping,
        status.settings,
        is_admin=deps.authority.is_admin(client, who),
        activity=activity,
    )
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        logger.warning("could not publish App Home for %s: %s", user_id, error.response.get("error"))

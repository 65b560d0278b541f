"""Button clicks. Slack gets its ack at once and the work runs after it; the answer goes to the clicker
(response_url, or a DM from App Home)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from deferredrev.bot import ids
from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks import messages
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import flows
from deferredrev.bot.listeners.guard import GuardedApp
from deferredrev.bot.listeners.replies import channel_id_of, reply


def register(app: GuardedApp) -> None:
    app.action(ids.CONNECT_LINK)(ack_only)
    app.action(ids.CONNECT_BUTTON, after_ack=True)(connect_clicked)
    app.action(ids.RECONNECT_BUTTON, after_ack=True)(reconnect_clicked)
    app.action(ids.OPEN_MAPPINGS, after_ack=True)(open_mappings_clicked)
    app.action(ids.OPEN_SETTINGS, after_ack=True)(open_settings_clicked)
    app.action(ids.DISCONNECT_ASK, after_ack=True)(disconnect_ask_clicked)
    app.action(ids.DISCONNECT_CONFIRM, after_ack=True)(disconnect_confirmed)
    app.action(ids.DISCONNECT_CANCEL, after_ack=True)(disconnect_cancelled)


def ack_only(ack: Ack) -> None:
    """URL buttons open the browser; Slack still tells us about the click, which needs nothing more than an ack."""
    ack()


def connect_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    reply(body, respond, client, *flows.connect_message(deps, client, who, reconnect=False))


def reconnect_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    reply(body, respond, client, *flows.connect_message(deps, client, who, reconnect=True))


def open_mappings_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    refusal = flows.open_mappings(deps, client, trigger_id=body["trigger_id"], who=who)
    if refusal is not None:
        reply(body, respond, client, *refusal)


def open_settings_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    refusal = flows.open_settings(deps, client, trigger_id=body["trigger_id"], who=who, channel_id=channel_id_of(body))
    if refusal is not None:
        reply(body, respond, client, *refusal)


def disconnect_ask_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    reply(body, respond, client, *flows.disconnect_message(deps, client, who))


def disconnect_confirmed(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    if refusal := flows.admin_refusal(deps, client, who, "disconnect QuickBooks"):
        reply(body, respond, client, *refusal)
        return
    company = deps.connections.disconnect(who.team_id, user_id=who.user_id, channel_id=channel_id_of(body))
    if company is None:
        text, blocks = messages.error_message("QuickBooks was already disconnected.")
    else:
        text, blocks = messages.confirmation(f"Disconnected {company}. Contracts, mappings and history are kept.")
    reply(body, respond, client, text, blocks, replace_original=True)


def disconnect_cancelled(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    reply(body, respond, client, *messages.confirmation("Still connected; nothing changed."), replace_original=True)

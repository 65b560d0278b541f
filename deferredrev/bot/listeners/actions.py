"""Button clicks. Slack gets its ack at once and the work runs after it; the answer goes to the clicker
(response_url, or a DM from App Home)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from deferredrev.bot import ids
from deferredrev.bot.blocks import messages
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import flows
from deferredrev.bot.listeners.guard import GuardedApp
from deferredrev.bot.listeners.replies import channel_id_of, reply, team_id_of, user_id_of


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


def connect_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    text, blocks = flows.connect_message(deps, client, team_id_of(body), user_id_of(body), reconnect=False)
    reply(body, respond, client, text, blocks)


def reconnect_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    text, blocks = flows.connect_message(deps, client, team_id_of(body), user_id_of(body), reconnect=True)
    reply(body, respond, client, text, blocks)


def open_mappings_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    refusal = flows.open_mappings(
        deps, client, trigger_id=body["trigger_id"], team_id=team_id_of(body), user_id=user_id_of(body)
    )
    if refusal is not None:
        reply(body, respond, client, *refusal)


def open_settings_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    refusal = flows.open_settings(
        deps,
        client,
        trigger_id=body["trigger_id"],
        team_id=team_id_of(body),
        user_id=user_id_of(body),
        channel_id=channel_id_of(body),
    )
    if refusal is not None:
        reply(body, respond, client, *refusal)


def disconnect_ask_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    reply(body, respond, client, *flows.disconnect_message(deps, client, team_id_of(body), user_id_of(body)))


def disconnect_confirmed(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    team_id, user_id = team_id_of(body), user_id_of(body)
    if not deps.admins.is_admin(client, team_id, user_id):
        reply(body, respond, client, *messages.admin_only("disconnect QuickBooks"))
        return
    company = deps.connections.disconnect(team_id, user_id=user_id, channel_id=channel_id_of(body))
    if company is None:
        text, blocks = messages.error_message("QuickBooks was already disconnected.")
    else:
        text, blocks = messages.confirmation(f"Disconnected {company}. Contracts, mappings and history are kept.")
    reply(body, respond, client, text, blocks, replace_original=True)


def disconnect_cancelled(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    reply(body, respond, client, *messages.confirmation("Still connected; nothing changed."), replace_original=True)

"""`/deferredrev <subcommand>`: status and help answer in the ack itself; the others ack at once, then answer
ephemerally through response_url (or open a modal with the trigger)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from deferredrev.bot import ids
from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks import messages
from deferredrev.bot.blocks.messages import Message
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import contracts, flows, previews, reports
from deferredrev.bot.listeners.guard import GuardedApp, Later

Subcommand = Callable[[BotDeps, WebClient, dict[str, Any], Requester, str], Message | None]


def register(app: GuardedApp) -> None:
    app.command(ids.COMMAND)(handle_command)


def handle_command(
    ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, later: Later, who: Requester
) -> None:
    name, _, rest = (command.get("text") or "").strip().partition(" ")
    quick = QUICK_ANSWERS.get(name.lower())
    handler = SUBCOMMANDS.get(name.lower())
    if quick is not None or handler is None:
        # Answers that need only our database go back in the acknowledgement itself: no second request to Slack.
        text, blocks = quick(deps, who) if quick is not None else _help(name)
        ack(text=text, blocks=blocks)
        return
    ack()  # the rest talk to Slack or QuickBooks: after the ack, so Slack's 3 seconds never depend on them
    later(_run_subcommand, handler, deps, client, command, who, rest.strip(), respond)


def _run_subcommand(
    handler: Subcommand,
    deps: BotDeps,
    client: WebClient,
    command: dict[str, Any],
    who: Requester,
    rest: str,
    respond: Respond,
) -> None:
    answer = handler(deps, client, command, who, rest)
    if answer is not None:
        text, blocks = answer
        respond(text=text, blocks=blocks, response_type="ephemeral")


def _help(name: str) -> Message:
    known = not name or name.lower() == "help"
    return messages.help_message() if known else messages.help_message(unknown=name)


def _status(deps: BotDeps, who: Requester) -> Message:
    return flows.status_message(deps, who.team_id)


def _connect(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message:
    return flows.connect_message(deps, client, who, reconnect=False)


def _reconnect(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message:
    return flows.connect_message(deps, client, who, reconnect=True)


def _mappings(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message | None:
    return flows.open_mappings(deps, client, trigger_id=command["trigger_id"], who=who)


def _settings(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message | None:
    return flows.open_settings(deps, client, trigger_id=command["trigger_id"], who=who, channel_id=command.get("channel_id"))


def _disconnect(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message:
    return flows.disconnect_message(deps, client, who)


QUICK_ANSWERS: dict[str, Callable[[BotDeps, Requester], Message]] = {"status": _status}

SUBCOMMANDS: dict[str, Subcommand] = {
    "connect": _connect,
    "reconnect": _reconnect,
    "mappings": _mappings,
    "settings": _settings,
    "disconnect": _disconnect,
    "contracts": contracts.contracts_message,
    "preview": previews.preview_command,
    "history": previews.history_command,
    "report": reports.report_command,
}

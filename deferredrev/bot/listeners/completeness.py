"""The choices a preview offers for earlier months holding revenue never posted: include them as catch-up (the preview
is replaced in place), preview the earliest of them on its own (a new preview), or, before the first posting, count
them as recognised elsewhere by setting the cut-over date (admins; the preview is recomputed in place)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from deferredrev.bot import ids
from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks import messages
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import flows
from deferredrev.bot.listeners.guard import GuardedApp
from deferredrev.bot.listeners.previews import post_preview, preview_id_in, show_in_place
from deferredrev.bot.listeners.replies import channel_id_of, reply
from deferredrev.services.decisions import NOT_FOUND_MESSAGE, PreviewNotFoundError


def register(app: GuardedApp) -> None:
    app.action(ids.PREVIEW_INCLUDE_EARLIER, after_ack=True)(include_clicked)
    app.action(ids.PREVIEW_EARLIER_MONTH, after_ack=True)(earlier_month_clicked)
    app.action(ids.PREVIEW_SET_CUTOVER, after_ack=True)(set_cutover_clicked)


def _member_refusal(deps: BotDeps, client: WebClient, who: Requester, doing: str) -> str | None:
    return deps.authority.clearance(client, who).refusal(doing)


def include_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    if refusal := _member_refusal(deps, client, who, "change previews"):
        reply(body, respond, client, *messages.refused(refusal), replace_original=False)
        return
    try:
        clearance = deps.authority.clearance(client, who)
        refreshed = deps.preview_service.include_earlier(
            who.team_id, preview_id_in(body) or 0, requested_by=clearance.actor()
        )
    except PreviewNotFoundError:
        reply(body, respond, client, *messages.error_message(NOT_FOUND_MESSAGE), replace_original=False)
        return
    show_in_place(deps, client, body, respond, who, refreshed)


def earlier_month_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    if refusal := _member_refusal(deps, client, who, "ask for previews"):
        reply(body, respond, client, *messages.refused(refusal), replace_original=False)
        return
    previews = deps.preview_service
    try:
        month = previews.earliest_unposted(who.team_id, preview_id_in(body) or 0)
    except PreviewNotFoundError:
        reply(body, respond, client, *messages.error_message(NOT_FOUND_MESSAGE), replace_original=False)
        return
    channel = channel_id_of(body)
    if month is None or channel is None:
        reply(body, respond, client, *messages.error_message("Every earlier month left is closed in QuickBooks: include "
                                                             "them as catch-up instead."))  # fmt: skip
        return
    name = deps.authority.clearance(client, who).name
    result = previews.create(who.team_id, month, requested_by=who.user_id, channel_id=channel, requested_by_name=name)
    refused = post_preview(deps, client, who, result.preview_id, channel, detail_csv=result.detail_csv)
    if refused is not None:
        reply(body, respond, client, *refused)


def set_cutover_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    if refusal := flows.admin_refusal(deps, client, who, "set the cut-over date"):
        reply(body, respond, client, *refusal, replace_original=False)
        return
    actor = deps.authority.clearance(client, who).actor()
    try:
        refreshed = deps.preview_service.set_cutover_from(who.team_id, preview_id_in(body) or 0, actor)
    except PreviewNotFoundError:
        reply(body, respond, client, *messages.error_message(NOT_FOUND_MESSAGE), replace_original=False)
        return
    show_in_place(deps, client, body, respond, who, refreshed)

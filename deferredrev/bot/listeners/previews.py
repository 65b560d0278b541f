"""`/deferredrev preview` and `history`, and the buttons on a preview: approve, reject (with a reason), refresh a
stale preview, retry failed entries, reverse a posting."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot import ids
from deferredrev.bot.authority import Clearance, Requester
from deferredrev.bot.blocks import messages
from deferredrev.bot.blocks.common import field_error
from deferredrev.bot.blocks.messages import Message
from deferredrev.bot.blocks.preview import entries_message, history_message, preview_message, reject_modal
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import flows
from deferredrev.bot.listeners.guard import GuardedApp, Later
from deferredrev.bot.listeners.replies import NOT_IN_CHANNEL, channel_id_of, reply
from deferredrev.revrec.errors import PeriodError
from deferredrev.revrec.periods import Period
from deferredrev.services.decisions import (
    NOT_FOUND_MESSAGE,
    Decision,
    DecisionResult,
    PreviewNotFoundError,
    may_decide,
)
from deferredrev.services.history import audit_log_csv, entry_page, first_entries
from deferredrev.services.previews import Refreshed

logger = logging.getLogger(__name__)


def register(app: GuardedApp) -> None:
    app.action(ids.PREVIEW_APPROVE, after_ack=True)(approve_clicked)
    app.action(ids.PREVIEW_REJECT, after_ack=True)(reject_clicked)
    app.view(ids.REJECT_VIEW)(reject_submitted)
    app.action(ids.PREVIEW_REFRESH, after_ack=True)(refresh_clicked)
    app.action(ids.PREVIEW_RETRY, after_ack=True)(retry_clicked)
    app.action(ids.HISTORY_REVERSE, after_ack=True)(reverse_clicked)


def preview_command(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message | None:
    previews = deps.preview_service
    try:
        period = Period.parse(rest) if rest else previews.default_period()
    except PeriodError:
        return messages.error_message(f"“{rest[:20]}” isn't a month. Use YYYY-MM, e.g. /deferredrev preview 2026-10.")
    channel = command["channel_id"]
    name = deps.authority.clearance(client, who).name
    result = previews.create(who.team_id, period, requested_by=who.user_id, channel_id=channel, requested_by_name=name)
    return post_preview(deps, client, who, result.preview_id, channel, detail_csv=result.detail_csv)


def post_preview(
    deps: BotDeps, client: WebClient, who: Requester, preview_id: int, channel: str, *, detail_csv: str | None
) -> Message | None:
    state = deps.preview_service.state(who.team_id, preview_id)
    text, blocks = preview_message(state, environment=deps.environment)
    try:
        posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as error:
        if error.response.get("error") in NOT_IN_CHANNEL:
            # Nobody can see it, so nobody could approve it: withdrawn in the requester's name, not left open.
            deps.preview_service.withdraw(who.team_id, preview_id, "Not shown: DeferredRev isn't in the channel.")
            return messages.error_message(
                "I'm not in this channel, so I can't post the preview here. Invite me with /invite @DeferredRev, "
                "then run the preview again."
            )
        raise
    ts = str(posted["ts"])
    deps.preview_service.attach_message(who.team_id, preview_id, channel, ts)
    if detail_csv:
        return _upload_detail(client, preview_id, state["content"]["period"], channel, ts, detail_csv)
    return None


def _upload_detail(
    client: WebClient, preview_id: int, period: str, channel: str, ts: str, detail_csv: str
) -> Message | None:
    """The preview's every line, as CSV, in the thread of its message; what to tell the person if Slack refused it
    (the preview itself is posted by then, so "something went wrong" would mislead)."""
    try:
        client.files_upload_v2(
            channel=channel, thread_ts=ts, content=detail_csv, filename=f"deferredrev-{period}-preview-{preview_id}.csv",
            title=f"Full detail of preview #{preview_id}", initial_comment="Every line of this preview, as CSV.",
        )  # fmt: skip
    except SlackApiError as error:
        reason = error.response.get("error")
        logger.warning("could not attach the detail CSV of preview %s: %s", preview_id, reason)
        return messages.error_message(
            f"The preview is posted, but Slack refused its full detail as a CSV file ({reason}): the message shows "
            "the first lines and the totals. Run the preview again for a copy with the CSV."
        )
    return None


def history_command(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message | None:
    """`history` (recent previews), `history <number> [page]` (one preview's entries), `history export` (the audit
    log as CSV, for admins)."""
    settings = deps.workspaces.settings(who.team_id)
    words = rest.lower().lstrip("#").split()
    if words[:1] == ["export"]:
        return _export_audit_log(deps, client, command, who, settings.time_zone)
    if words and words[0].isdigit():
        page = entry_page(
            deps.sessions, who.team_id, int(words[0]), int(words[1]) if words[1:2] and words[1].isdigit() else 1
        )
        if page is None:
            return messages.error_message(NOT_FOUND_MESSAGE)
        return entries_message(page, environment=deps.environment)
    items = deps.preview_service.history(who.team_id)
    clearance = deps.authority.clearance(client, who)
    linked = first_entries(deps.sessions, [item["preview_id"] for item in items])
    return history_message(
        items, can_reverse=may_decide(settings, clearance.actor()), entries=linked, environment=deps.environment,
        time_zone=settings.time_zone,
    )  # fmt: skip


def _export_audit_log(
    deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, time_zone: str
) -> Message | None:
    if refusal := flows.admin_refusal(deps, client, who, "export the audit log"):
        return refusal
    log = audit_log_csv(deps.sessions, who.team_id, time_zone)
    day = deps.clock.now().date().isoformat()
    try:
        client.files_upload_v2(
            channel=command.get("channel_id") or who.user_id, content=log, filename=f"deferredrev-audit-log-{day}.csv",
            title="DeferredRev audit log", initial_comment="The audit log, every event so far, as CSV.",
        )  # fmt: skip
    except SlackApiError as error:
        return messages.error_message(f"Slack refused the audit log as a file ({error.response.get('error')}).")
    return None


def preview_id_in(body: dict[str, Any]) -> int | None:
    """The preview id a button carries; None for anything that isn't one (a forged value)."""
    value = str(body["actions"][0].get("value") or "")
    return int(value) if value.isdigit() else None


def _decider(deps: BotDeps, client: WebClient, who: Requester) -> Clearance:
    return deps.authority.clearance(client, who)


def _refused(body: dict[str, Any], respond: Respond, client: WebClient, clearance: Clearance, doing: str) -> bool:
    """Guests, other organisations' users and deactivated accounts are told why, and nothing else happens."""
    reason = clearance.refusal(doing)
    if reason is None:
        return False
    reply(body, respond, client, *messages.refused(reason), replace_original=False)
    return True


def approve_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    clearance = _decider(deps, client, who)
    if _refused(body, respond, client, clearance, "approve previews"):
        return
    result = deps.preview_service.approve(who.team_id, preview_id_in(body) or 0, clearance.actor())
    _after_decision(deps, client, body, respond, who, result)


def _after_decision(
    deps: BotDeps, client: WebClient, body: dict[str, Any], respond: Respond, who: Requester, result: DecisionResult
) -> None:
    if result.decision in (Decision.APPROVED, Decision.STALE, Decision.QUEUED, Decision.REJECTED):
        _update_message(deps, client, who, result.preview_id)
    if result.decision in (Decision.APPROVED, Decision.QUEUED):
        deps.kick_posting()
        return
    if result.decision is not Decision.REJECTED:
        reply(body, respond, client, *messages.error_message(result.message), replace_original=False)


def _update_message(deps: BotDeps, client: WebClient, who: Requester, preview_id: int) -> None:
    state = deps.preview_service.state(who.team_id, preview_id)
    if state.get("channel") and state.get("ts"):
        text, blocks = preview_message(state, environment=deps.environment)
        client.chat_update(channel=state["channel"], ts=state["ts"], text=text, blocks=blocks)


def reject_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    preview_id = preview_id_in(body)
    if preview_id is None or not deps.preview_service.belongs_to(who.team_id, preview_id):
        reply(body, respond, client, *messages.error_message(NOT_FOUND_MESSAGE), replace_original=False)
        return
    client.views_open(trigger_id=body["trigger_id"], view=reject_modal(preview_id))


def reject_submitted(ack: Ack, view: dict[str, Any], client: WebClient, deps: BotDeps, later: Later, who: Requester) -> None:
    reason = view["state"]["values"][ids.REJECT_REASON_BLOCK][ids.REJECT_REASON_INPUT].get("value") or ""
    metadata = str(view.get("private_metadata") or "")
    clearance = _decider(deps, client, who)
    refusal = clearance.refusal("reject previews")
    if refusal is not None or not metadata.isdigit():
        ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: refusal or NOT_FOUND_MESSAGE})
        return
    preview_id = int(metadata)
    result = deps.preview_service.reject(who.team_id, preview_id, clearance.actor(), reason=reason)
    if result.decision is not Decision.REJECTED:
        ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: field_error(result.message)})
        return
    ack()
    later(_update_message, deps, client, who, preview_id)


def refresh_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    """Recompute a stale preview and show the new one in the same message."""
    previews = deps.preview_service
    try:
        refreshed = previews.refresh(who.team_id, preview_id_in(body) or 0, channel_id=channel_id_of(body))
    except PreviewNotFoundError:
        reply(body, respond, client, *messages.error_message(NOT_FOUND_MESSAGE), replace_original=False)
        return
    show_in_place(deps, client, body, respond, who, refreshed)


def show_in_place(
    deps: BotDeps, client: WebClient, body: dict[str, Any], respond: Respond, who: Requester, refreshed: Refreshed
) -> None:
    """The preview that replaced another, in the other's message (and its detail CSV in the thread); or why not."""
    previews = deps.preview_service
    old, result = refreshed.old, refreshed.result
    if result is None:
        reply(body, respond, client, *messages.error_message(refreshed.message or NOT_FOUND_MESSAGE))
        return
    # The message clicked is the one to replace: its place is in the click itself (the stored one may not be recorded
    # yet when someone clicks the moment the preview appears).
    channel, ts = clicked_message(body) or (old.get("channel"), old.get("ts"))
    if channel and ts:
        previews.attach_message(who.team_id, result.preview_id, channel, ts)
        _update_message(deps, client, who, result.preview_id)
        if result.detail_csv:  # the thread's earlier CSV is the stale preview's: the new lines go beside it
            period = result.content["period"]
            refused = _upload_detail(client, result.preview_id, period, channel, ts, result.detail_csv)
            if refused is not None:
                reply(body, respond, client, *refused)


def clicked_message(body: dict[str, Any]) -> tuple[str, str] | None:
    """The channel and ts of the (non-ephemeral) message a button was clicked in."""
    container = body.get("container") or {}
    if container.get("type") != "message" or container.get("is_ephemeral"):
        return None
    channel, ts = container.get("channel_id"), container.get("message_ts")
    return (str(channel), str(ts)) if channel and ts else None


def retry_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    clearance = _decider(deps, client, who)
    if _refused(body, respond, client, clearance, "retry postings"):
        return
    result = deps.preview_service.retry_failed(who.team_id, preview_id_in(body) or 0, clearance.actor())
    _after_decision(deps, client, body, respond, who, result)


def reverse_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    """Ask for a reversal: it is shown as a preview in the channel and waits for an approver, like any posting."""
    clearance = _decider(deps, client, who)
    if _refused(body, respond, client, clearance, "reverse postings"):
        return
    previews = deps.preview_service
    original = preview_id_in(body) or 0
    result = previews.request_reversal(who.team_id, original, clearance.actor(), channel_id=channel_id_of(body))
    if result.decision is not Decision.REQUESTED:
        reply(body, respond, client, *messages.error_message(result.message))
        return
    channel = previews.state(who.team_id, result.preview_id).get("channel") or who.user_id
    refused = post_preview(deps, client, who, result.preview_id, channel, detail_csv=None)
    reply(body, respond, client, *(refused or messages.confirmation(result.message)))

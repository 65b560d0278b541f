"""`/deferredrev preview` and `history`, and the buttons on a preview: approve, reject (with a reason), refresh a
stale preview, retry failed entries, reverse a posting."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot import ids
from deferredrev.bot.blocks import messages
from deferredrev.bot.blocks.common import field_error
from deferredrev.bot.blocks.messages import Message
from deferredrev.bot.blocks.preview import history_message, preview_message, reject_modal
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners.guard import GuardedApp, Later
from deferredrev.bot.listeners.replies import NOT_IN_CHANNEL, channel_id_of, reply, team_id_of, user_id_of
from deferredrev.revrec.errors import PeriodError
from deferredrev.revrec.periods import Period
from deferredrev.services.previews import Decision, DecisionResult

logger = logging.getLogger(__name__)


def register(app: GuardedApp) -> None:
    app.action(ids.PREVIEW_APPROVE, after_ack=True)(approve_clicked)
    app.action(ids.PREVIEW_REJECT, after_ack=True)(reject_clicked)
    app.view(ids.REJECT_VIEW)(reject_submitted)
    app.action(ids.PREVIEW_REFRESH, after_ack=True)(refresh_clicked)
    app.action(ids.PREVIEW_RETRY, after_ack=True)(retry_clicked)
    app.action(ids.HISTORY_REVERSE, after_ack=True)(reverse_clicked)


def preview_command(deps: BotDeps, client: WebClient, command: dict[str, Any], rest: str) -> Message | None:
    previews = deps.preview_service
    try:
        period = Period.parse(rest) if rest else previews.default_period()
    except PeriodError:
        return messages.error_message(f"“{rest[:20]}” isn't a month. Use YYYY-MM, e.g. /deferredrev preview 2026-10.")
    channel = command["channel_id"]
    result = previews.create(command["team_id"], period, requested_by=command["user_id"], channel_id=channel)
    return post_preview(deps, client, result.preview_id, channel, detail_csv=result.detail_csv)


def post_preview(
    deps: BotDeps, client: WebClient, preview_id: int, channel: str, *, detail_csv: str | None
) -> Message | None:
    state = deps.preview_service.state(preview_id)
    text, blocks = preview_message(state, environment=deps.environment)
    try:
        posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as error:
        if error.response.get("error") in NOT_IN_CHANNEL:
            # Nobody can see it, so nobody could approve it: withdrawn in the requester's name, not left open.
            deps.preview_service.reject(
                preview_id, state["requested_by"], is_admin=False, reason="Not shown: DeferredRev isn't in the channel."
            )
            return messages.error_message(
                "I'm not in this channel, so I can't post the preview here. Invite me with /invite @DeferredRev, "
                "then run the preview again."
            )
        raise
    ts = str(posted["ts"])
    deps.preview_service.attach_message(preview_id, channel, ts)
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


def history_command(deps: BotDeps, client: WebClient, command: dict[str, Any], rest: str) -> Message:
    items = deps.preview_service.history(command["team_id"])
    return history_message(items, is_admin=deps.admins.is_admin(client, command["team_id"], command["user_id"]))


def approve_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    team_id, user_id = team_id_of(body), user_id_of(body)
    preview_id = int(body["actions"][0]["value"])
    result = deps.preview_service.approve(preview_id, user_id, is_admin=deps.admins.is_admin(client, team_id, user_id))
    _after_decision(deps, client, body, respond, result)


def _after_decision(
    deps: BotDeps, client: WebClient, body: dict[str, Any], respond: Respond, result: DecisionResult
) -> None:
    if result.decision in (Decision.APPROVED, Decision.STALE, Decision.QUEUED, Decision.REJECTED):
        _update_message(deps, client, result.preview_id)
    if result.decision in (Decision.APPROVED, Decision.QUEUED):
        deps.kick_posting()
        return
    if result.decision is not Decision.REJECTED:
        reply(body, respond, client, *messages.error_message(result.message), replace_original=False)


def _update_message(deps: BotDeps, client: WebClient, preview_id: int) -> None:
    state = deps.preview_service.state(preview_id)
    if state.get("channel") and state.get("ts"):
        text, blocks = preview_message(state, environment=deps.environment)
        client.chat_update(channel=state["channel"], ts=state["ts"], text=text, blocks=blocks)


def reject_clicked(body: dict[str, Any], client: WebClient) -> None:
    client.views_open(trigger_id=body["trigger_id"], view=reject_modal(int(body["actions"][0]["value"])))


def reject_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: BotDeps, later: Later
) -> None:
    team_id, user_id = team_id_of(body), user_id_of(body)
    reason = view["state"]["values"][ids.REJECT_REASON_BLOCK][ids.REJECT_REASON_INPUT].get("value") or ""
    preview_id = int(view["private_metadata"])
    result = deps.preview_service.reject(
        preview_id, user_id, is_admin=deps.admins.is_admin(client, team_id, user_id), reason=reason
    )
    if result.decision is not Decision.REJECTED:
        ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: field_error(result.message)})
        return
    ack()
    later(_update_message, deps, client, preview_id)


def refresh_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    """Recompute a stale preview and show the new one in the same message."""
    previews = deps.preview_service
    old = previews.state(int(body["actions"][0]["value"]))
    channel = channel_id_of(body) or old.get("channel")
    # The person who asked for the preview still asked for it: four-eyes keeps applying to them.
    result = previews.create(
        old["team_id"], Period.parse(old["content"]["period"]), requested_by=old["requested_by"], channel_id=channel
    )
    if old.get("channel") and old.get("ts"):
        previews.attach_message(result.preview_id, old["channel"], old["ts"])
        _update_message(deps, client, result.preview_id)
        if result.detail_csv:  # the thread's earlier CSV is the stale preview's: the new lines go beside it
            period = result.content["period"]
            refused = _upload_detail(client, result.preview_id, period, old["channel"], old["ts"], result.detail_csv)
            if refused is not None:
                reply(body, respond, client, *refused)


def retry_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    team_id, user_id = team_id_of(body), user_id_of(body)
    result = deps.preview_service.retry_failed(
        int(body["actions"][0]["value"]), user_id, is_admin=deps.admins.is_admin(client, team_id, user_id)
    )
    _after_decision(deps, client, body, respond, result)


def reverse_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps) -> None:
    team_id, user_id = team_id_of(body), user_id_of(body)
    previews = deps.preview_service
    result = previews.reverse(
        int(body["actions"][0]["value"]), user_id, is_admin=deps.admins.is_admin(client, team_id, user_id)
    )
    if result.decision is not Decision.QUEUED:
        reply(body, respond, client, *messages.error_message(result.message))
        return
    channel = previews.state(result.preview_id).get("channel") or user_id
    post_preview(deps, client, result.preview_id, channel, detail_csv=None)
    reply(body, respond, client, *messages.confirmation(result.message))
    deps.kick_posting()

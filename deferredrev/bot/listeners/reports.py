"""`/deferredrev report [YYYY-MM[..YYYY-MM]]`: the roll-forward in the channel, as a summary with the tie-out to
QuickBooks, then its waterfall chart and CSV as files."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks import messages
from deferredrev.bot.blocks.messages import Message
from deferredrev.bot.blocks.report import report_message
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners.replies import NOT_IN_CHANNEL
from deferredrev.revrec.errors import PeriodError
from deferredrev.revrec.rollforward import parse_range
from deferredrev.services.reports import Report

logger = logging.getLogger(__name__)


def report_command(deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str) -> Message | None:
    reports = deps.report_service
    try:
        first, last = parse_range(rest) if rest else reports.default_range()
    except PeriodError as error:
        return messages.error_message(
            f"{error}. Give a month or a range of months, e.g. /deferredrev report 2026-10 or "
            "/deferredrev report 2026-01..2026-12 (default: the twelve months ending last month)."
        )
    made = reports.build(who.team_id, first, last, requested_by=who.user_id)
    channel = command["channel_id"]
    text, blocks = report_message(made.content)
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as error:
        if error.response.get("error") in NOT_IN_CHANNEL:
            return messages.error_message(
                "I'm not in this channel, so I can't post the report here. Invite me with /invite @DeferredRev, "
                "then run the report again."
            )
        raise
    return _upload_files(client, channel, made)


def _upload_files(client: WebClient, channel: str, made: Report) -> Message | None:
    """The chart and the CSV, right under the summary; what to tell the person if Slack refused them."""
    label = made.content["label"]
    try:
        client.files_upload_v2(
            channel=channel,
            initial_comment=f"The roll-forward for {label}: its waterfall chart, and every contract month by month as CSV.",
            file_uploads=[
                {"file": made.png, "filename": f"{made.file_stem}.png", "title": f"Deferred revenue waterfall · {label}",
                 "alt_txt": f"Waterfall chart of deferred revenue for {label}: opening balance, billed, recognised "
                            "and closing balance for each month."},
                {"content": made.csv_text, "filename": f"{made.file_stem}.csv",
                 "title": f"Deferred revenue roll-forward · {label} (CSV)"},
            ],
        )  # fmt: skip
    except SlackApiError as error:
        reason = error.response.get("error")
        logger.warning("could not attach the report's files: %s", reason)
        return messages.error_message(
            f"The roll-forward is posted, but Slack refused its chart and CSV ({reason}). `deferredrev report` on the "
            "command line writes both files."
        )
    return None

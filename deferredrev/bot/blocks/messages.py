"""Messages: help, status, connect and disconnect prompts, refusals and notices. Pure functions returning
``(text, blocks)``: the text is the notification and screen-reader fallback."""

from __future__ import annotations

from collections.abc import Sequence

from deferredrev.bot import ids
from deferredrev.bot.blocks.common import (
    Block,
    actions,
    button,
    channel_mention,
    confirm_dialog,
    context,
    escape,
    fields,
    header,
    plain_to_mrkdwn,
    section,
    slack_date,
    slack_day,
    user_mention,
)
from deferredrev.services.connections import ConnectionStatusView
from deferredrev.services.mappings import Mapping
from deferredrev.services.workspaces import WorkspaceSettings

Message = tuple[str, list[Block]]
NAME_LIMIT = 200  # a company name shown in a sentence or in bold: enough for any real one, short of Slack's limits

STATUS_LABELS = {
    "connected": ":large_green_circle: Connected",
    "expired": ":red_circle: Expired",
    "disconnected": ":white_circle: Disconnected",
    "not_connected": ":white_circle: Not connected",
}

HELP_LINES = [
    ("`/deferredrev status`", "connection, mappings and settings"),
    ("`/deferredrev connect`", "connect a QuickBooks Online company (admins)"),
    ("`/deferredrev reconnect`", "connect again after an expiry; mappings and history are kept (admins)"),
    ("`/deferredrev mappings`", "choose the Deferred Revenue and Revenue accounts (admins)"),
    ("`/deferredrev contracts`", "contract counts and totals, and CSV import"),
    ("`/deferredrev preview [YYYY-MM]`", "preview a month's journal entries for approval (default: last month)"),
    ("`/deferredrev history`", "recent previews and postings: who asked, who approved, when, and the entries"),
    ("`/deferredrev history N [page]`", "every entry of preview number N, linked to QuickBooks"),
    ("`/deferredrev history export`", "the audit log as CSV (admins)"),
    (
        "`/deferredrev report [YYYY-MM[..YYYY-MM]]`",
        "the deferred-revenue roll-forward with its waterfall chart and tie-out to QuickBooks (default: the last 12 months)",
    ),
    ("`/deferredrev settings`", "approvers, four-eyes, alert channel, posting mode, cut-over date (admins)"),
    ("`/deferredrev disconnect`", "revoke access to QuickBooks; your data stays (admins)"),
]


def help_message(unknown: str | None = None) -> Message:
    lines = "\n".join(f"{command} — {what}" for command, what in HELP_LINES)
    blocks: list[Block] = []
    if unknown:
        blocks.append(section(f":grey_question: I don't know `{escape(unknown[:50])}`. Here is what I can do:"))
    blocks += [header("DeferredRev for Slack"), section(lines)]
    blocks.append(context("Deferred revenue is recognised daily, straight-line, and posted to QuickBooks once approved."))
    return (
        "DeferredRev commands: status, connect, reconnect, mappings, contracts, preview, history, report, settings, "
        "disconnect",
        blocks,
    )


def status_blocks(connection: ConnectionStatusView, mapping: Mapping | None, settings: WorkspaceSettings) -> list[Block]:
    label = STATUS_LABELS.get(connection.status, connection.status)
    company = escape(connection.company_name, NAME_LIMIT) if connection.company_name else "—"
    since = slack_date(connection.since) if connection.since else "—"
    blocks: list[Block] = [
        fields(("QuickBooks", label), ("Company", company), ("Since", since), ("Plan", settings.plan.value))
    ]
    if connection.status == "expired" and connection.reason:
        reason = plain_to_mrkdwn(connection.reason, 500)
        blocks.append(section(f":warning: {reason}. An admin can `/deferredrev reconnect`."))
    if connection.status == "connected":
        expiry = []
        if connection.refresh_expires_at:
            expiry.append(f"Refresh token valid until {slack_day(connection.refresh_expires_at)} (renewed automatically)")
        if connection.hard_expires_at:
            expiry.append(f"QuickBooks requires reconnecting by {slack_day(connection.hard_expires_at)}")
        if expiry:
            blocks.append(context(*expiry))
    blocks.append(mapping_fields(mapping, connection.realm_id))
    approvers = ", ".join(user_mention(u) for u in settings.approvers) or "workspace admins"
    cutover = settings.cutover_date.isoformat() if settings.cutover_date else "none"
    blocks.append(
        context(
            f"Approvers: {approvers} · Four-eyes: {'on' if settings.four_eyes else 'off'} · "
            f"Posting: {settings.posting_mode.replace('_', '-')} · Cut-over: {cutover}"
        )
    )
    return blocks


def mapping_fields(mapping: Mapping | None, realm_id: str | None) -> Block:
    if mapping is None:
        return section(":heavy_minus_sign: *Accounts not mapped yet.* An admin can run `/deferredrev mappings`.")
    warning = ""
    if realm_id is not None and mapping.realm_id != realm_id:
        warning = "\n:warning: These accounts belong to a different QuickBooks company: map them again."
    return section(
        f"*Deferred Revenue account:* {escape(mapping.deferred_revenue_name, NAME_LIMIT)}\n"
        f"*Revenue account:* {escape(mapping.revenue_name, NAME_LIMIT)}{warning}"
    )


def status_message(connection: ConnectionStatusView, mapping: Mapping | None, settings: WorkspaceSettings) -> Message:
    label = STATUS_LABELS.get(connection.status, connection.status).split(" ", 1)[-1]
    connected = connection.company_name and connection.status == "connected"
    company = f" to {escape(connection.company_name or '', NAME_LIMIT)}" if connected else ""
    return f"QuickBooks: {label}{company}", [header("DeferredRev status"), *status_blocks(connection, mapping, settings)]


def connect_prompt(url: str, *, reconnect: bool) -> Message:
    verb = "Reconnect" if reconnect else "Connect"
    intro = (
        "Reconnecting keeps your mappings, contracts and posting history."
        if reconnect
        else "You'll sign in at Intuit and pick the QuickBooks Online company. You need to be a company admin there."
    )
    blocks = [
        section(f"*{verb} QuickBooks Online*\n{intro}"),
        actions(button(f"{verb} to QuickBooks", ids.CONNECT_LINK, url=url, style="primary")),
        context("The link works once, for 10 minutes, and only for you."),
    ]
    return f"{verb} QuickBooks Online", blocks


def already_connected(company: str) -> Message:
    text = (
        f"This workspace is already connected to {escape(company, NAME_LIMIT)}. "
        "Use `/deferredrev reconnect` to connect again."
    )
    return text, [
        section(
            f":white_check_mark: Already connected to *{escape(company, NAME_LIMIT)}*. "
            "Use `/deferredrev reconnect` to sign in again or pick another company."
        )
    ]


def plan_required(plan: str) -> Message:
    text = "Connecting QuickBooks needs the Growth plan or above."
    return text, [
        section(
            f":lock: *QuickBooks needs the Growth plan or above.* This workspace is on *{escape(plan)}*. "
            "Ask the person who manages your DeferredRev subscription to upgrade, then run `/deferredrev connect` again."
        )
    ]


def admin_only(action: str) -> Message:
    text = f"Only DeferredRev admins can {action}."
    return text, [
        section(
            f":no_entry: Only Slack workspace admins or owners, or people named as DeferredRev admins, can {action}. "
            "Ask one of them to do it, or to add you."
        )
    ]


def refused(reason: str) -> Message:
    """Someone who may not take part at all (a guest, another organisation's user...): the reason, in their words."""
    return escape(reason), [section(f":no_entry: {plain_to_mrkdwn(reason)}")]


def not_connected(what: str) -> Message:
    text = f"Connect QuickBooks first to {what}."
    return text, [
        section(f":electric_plug: QuickBooks isn't connected, so I can't {what}. An admin can run `/deferredrev connect`.")
    ]


def connection_expired(what: str) -> Message:
    text = f"The QuickBooks connection expired; reconnect to {what}."
    return text, [
        section(
            f":red_circle: The QuickBooks connection has expired, so I can't {what}. "
            "An admin can run `/deferredrev reconnect`; mappings and history are kept."
        )
    ]


def disconnect_confirm(company: str) -> Message:
    text = f"Disconnect {escape(company, NAME_LIMIT)}?"
    dialog = confirm_dialog(
        "Disconnect QuickBooks?", f"DeferredRev will lose access to {escape(company, 100)}.", "Disconnect", danger=True
    )
    blocks = [
        section(
            f"*Disconnect {escape(company, NAME_LIMIT)}?*\nDeferredRev revokes its access at Intuit and forgets the tokens. "
            "Contracts, schedules, mappings and posting records stay; entries already in QuickBooks are untouched. "
            "You can reconnect any time."
        ),
        actions(
            button("Disconnect", ids.DISCONNECT_CONFIRM, style="danger", value="disconnect", confirm=dialog),
            button("Keep connected", ids.DISCONNECT_CANCEL, value="cancel"),
        ),
    ]
    return text, blocks


def disconnected_notice(company: str, user_id: str | None) -> Message:
    who = user_mention(user_id) if user_id else "Someone in QuickBooks"
    text = f"QuickBooks disconnected: {escape(company, NAME_LIMIT)}"
    return text, [
        section(f":electric_plug: {who} disconnected *{escape(company, NAME_LIMIT)}* from DeferredRev."),
        context("Contracts, mappings and history are kept. An admin can reconnect with `/deferredrev connect`."),
    ]


def connected_notice(company: str, *, reconnected: bool, previous_company: str | None) -> Message:
    verb = "Reconnected" if reconnected else "Connected"
    text = f"{verb} to {escape(company, NAME_LIMIT)}"
    blocks: list[Block] = [section(f":white_check_mark: *{verb} to {escape(company, NAME_LIMIT)}.*")]
    if previous_company:
        blocks.append(
            section(
                f":warning: This is a different company from before (*{escape(previous_company, NAME_LIMIT)}*). "
                "The saved account mappings belong to the old company: run `/deferredrev mappings` to choose accounts here."
            )
        )
    elif reconnected:
        blocks.append(context("Mappings, contracts and posting history are as you left them."))
    else:
        blocks.append(context("Next: choose the accounts with `/deferredrev mappings`."))
    return text, blocks


def connect_failed_notice(message: str) -> Message:
    return escape(message), [section(f":warning: {plain_to_mrkdwn(message)}")]


def expiry_alert(company: str, reason: str) -> Message:
    text = f"QuickBooks connection to {escape(company, NAME_LIMIT)} expired"
    return text, [
        section(
            f":red_circle: *The QuickBooks connection to {escape(company, NAME_LIMIT)} has expired.*\n"
            f"{plain_to_mrkdwn(reason, 500)}."
        ),
        section("Postings are paused until an admin reconnects. Mappings, contracts and history are kept."),
        actions(button("Reconnect", ids.RECONNECT_BUTTON, value="reconnect", style="primary")),
    ]


def hard_expiry_warning(company: str, days_left: int) -> Message:
    text = f"QuickBooks needs you to reconnect {escape(company, NAME_LIMIT)} within {days_left} day(s)"
    return text, [
        section(
            f":hourglass_flowing_sand: QuickBooks limits a connection to five years. *{escape(company, NAME_LIMIT)}* "
            f"must be reconnected within *{days_left} day{'s' if days_left != 1 else ''}*, or postings will stop."
        ),
        actions(button("Reconnect now", ids.RECONNECT_BUTTON, value="reconnect", style="primary")),
    ]


def settings_saved(*, unreachable_alert_channel: str | None, notes: Sequence[str] = ()) -> Message:
    """Settings saved; the alert channel when the bot can't post there; then other plain-text notes."""
    parts = ["Settings saved."]
    if unreachable_alert_channel:
        parts.append(
            f"I'm not a member of {channel_mention(unreachable_alert_channel)}, so connection alerts can't be posted "
            "there: invite me with `/invite @DeferredRev` in that channel (admins get the alerts by DM either way)."
        )
    text = " ".join([*parts, *(plain_to_mrkdwn(note) for note in notes)])
    return text, [section(f":white_check_mark: {text}")]


def alert_channel_chosen(user_id: str) -> Message:
    text = f"{user_mention(user_id)} chose this channel for DeferredRev's QuickBooks connection alerts."
    return text, [section(f":white_check_mark: {text}")]


def confirmation(text: str) -> Message:
    """A plain-text sentence (a service's, or one with names in it) confirmed to the person."""
    return escape(text), [section(f":white_check_mark: {plain_to_mrkdwn(text)}")]


def error_message(text: str) -> Message:
    """A plain-text sentence (a service's, or one with names in it) saying what went wrong."""
    return escape(text), [section(f":warning: {plain_to_mrkdwn(text)}")]

"""The preview message: a period's journal entries, their state, and the buttons to decide. Pure: it renders the
dict ``PreviewService.state()`` returns (or a fresh preview's content), always within Slack's limits."""

from __future__ import annotations

from datetime import date
from typing import Any

from deferredrev import style
from deferredrev.bot import ids
from deferredrev.bot.blocks.common import (
    Block,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    divider,
    escape,
    header,
    link,
    plain_to_mrkdwn,
    section,
    user_mention,
)
from deferredrev.bot.blocks.completeness import completeness_blocks
from deferredrev.bot.blocks.evidence import evidence_blocks
from deferredrev.bot.blocks.tieout import tie_out_blocks
from deferredrev.services.preview_content import qbo_entry_url

Message = tuple[str, list[Block]]
SECTION_BUDGET = 2900
NAME_LIMIT = 200  # a company or account name in a sentence or in bold
MAX_LINE_SECTIONS = 8
LINES_SHOWN = 15  # lines shown in the message (the detail CSV has them all)


def preview_message(state: dict[str, Any], *, environment: str = "sandbox") -> Message:
    """Summary first, as a reviewer signs it: what the entry posts and when, how it compares with last month, which
    contracts are in it and why; then the lines, anything to act on, and the decision with who may take it."""
    content: dict[str, Any] = state["content"]
    title = f"Revenue recognition · {content['period_label']}"
    if state.get("kind") == "reversal":
        title = f"Reversal of {style.period(content.get('reverses') or content['period'])} · dated {content['period_label']}"
    blocks: list[Block] = [header(title), section(_summary(content, state))]
    blocks += _contents(content)
    blocks += _line_sections(content)
    blocks += _warnings(content)
    blocks += _tie_out(content, state)
    blocks += completeness_blocks(state)
    blocks += _state_blocks(state, environment)
    blocks.append(_footer(state))
    return _fallback_text(state, content), blocks[:50]


def _summary(content: dict[str, Any], state: dict[str, Any]) -> str:
    """Dated, where, how many; net Dr / Cr per account; revenue against the previous month. A reversal undoes the
    original's revenue: its sides are the other way round."""
    entry_date = content.get("entry_date") or content["period"] + "-01"
    count = content.get("entry_count", 0)
    mode = "one per contract" if content.get("mode") == "per_contract" else "one summary entry per currency"
    company = escape(content.get("company") or "QuickBooks (not connected)", NAME_LIMIT)
    rows = [f"*Dated {style.day(date.fromisoformat(entry_date))}* in {company} · {style.count(count, 'entry')} ({mode})"]
    totals: dict[str, Any] = content.get("totals") or {}
    previous: dict[str, int] = content.get("previous_revenue") or {}
    deferred = escape(content.get("deferred_account") or "Deferred Revenue", NAME_LIMIT)
    revenue = escape(content.get("revenue_account") or "Revenue", NAME_LIMIT)
    last = style.period(content.get("previous_period") or content["period"])
    for code, total in sorted(totals.items()):
        net = -int(total["net_revenue"]) if state.get("kind") == "reversal" else int(total["net_revenue"])
        debit, credit = (deferred, revenue) if net >= 0 else (revenue, deferred)
        rows.append(f"Dr *{debit}* · Cr *{credit}*: *{escape(style.money(abs(net), code))}*")
        if state.get("kind") != "reversal":
            before = previous.get(code)
            against = (
                f"{last}: {style.money(before, code)}, {style.change(net, before, code)}"
                if before is not None
                else (f"nothing recognised for {last}")
            )
            rows.append(f"Revenue recognised: {style.money(net, code)} · {against}")
    if not totals:
        rows.append("Nothing to post.")
    return "\n".join(rows)


def _contents(content: dict[str, Any]) -> list[Block]:
    """Which contracts are in the entry and why, and those with nothing this month (normal: no warning)."""
    inside: dict[str, Any] = content.get("contracts_in_entry") or {}
    parts = []
    for key, words in (("new", "new"), ("ending", "ending this month"), ("credits", "credit")):
        parts.append(_group(inside.get(key), words))
    catch_ups = [
        _group(inside.get("backdated"), "backdated"),
        _group(inside.get("changed"), "changed after posting"),
        _group(inside.get("earlier"), "earlier months included"),
    ]
    named = [part for part in parts if part]
    caught = [part for part in catch_ups if part]
    blocks: list[Block] = []
    if inside.get("contracts"):
        text = f"*In this entry:* {style.count(int(inside['contracts']), 'contract')}"
        if named:
            text += " — " + "; ".join(named)
        if caught:
            text += "\n*Catch-ups:* " + "; ".join(caught)
        blocks.append(section(text))
    idle: dict[str, Any] = content.get("nothing_this_month") or {}
    quiet = [
        _group(idle.get("ended"), "ended before this month"),
        _group(idle.get("cancelled"), "cancelled"),
        _group(idle.get("starts_later"), "start later"),
        _group(idle.get("posted"), "already posted"),
    ]
    quiet = [part for part in quiet if part]
    if quiet:
        total = sum(int((idle.get(key) or {}).get("count", 0)) for key in idle)
        blocks.append(context(f"Nothing this month for {style.count(total, 'contract')}: " + "; ".join(quiet)))
    return blocks


def _group(group: dict[str, Any] | None, words: str) -> str:
    """ "3 new (C-1036, C-1037, C-1038)", naming at most a few."""
    if not group or not group.get("count"):
        return ""
    count, ids_named = int(group["count"]), [escape(str(i), 40) for i in group.get("ids") or []]
    more = f" and {count - len(ids_named)} more" if count > len(ids_named) else ""
    return f"{count:,} {words} ({', '.join(ids_named)}{more})"


def _line_sections(content: dict[str, Any]) -> list[Block]:
    """Each line readable on a phone: contract and customer, what it is, the signed amount (a credit is negative).
    The account pair is said once, above; the rest are in the detail CSV in the thread."""
    lines: list[dict[str, Any]] = (content.get("lines") or [])[:LINES_SHOWN]
    if not lines:
        return []
    sections = rows_in_sections([_row(line) for line in lines])[:MAX_LINE_SECTIONS]
    hidden = int(content.get("line_pairs", 0)) - len(lines)
    more = f"…and {style.count(hidden, 'more line')}: " if hidden > 0 else ""
    sections.append(context(f"{more}every line is in the detail CSV in this message's thread."))
    return sections


def rows_in_sections(rows: list[str]) -> list[Block]:
    """Rows of mrkdwn, one per line, in as few sections as Slack's text limit allows."""
    sections: list[Block] = []
    chunk: list[str] = []
    for row in rows:
        if sum(len(r) + 1 for r in chunk) + len(row) > SECTION_BUDGET:
            sections.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(row)
    if chunk:
        sections.append(section("\n".join(chunk)))
    return sections


def _row(line: dict[str, Any]) -> str:
    amount = line.get("signed_text") or f"{line['amount_text']} {line['currency']}"
    head = f"*{escape(str(line['contract']), 40)}* {escape(str(line.get('customer') or ''), 60)} · *{escape(amount)}*"
    what = [escape(str(line.get("description") or ""), 120)]
    if line.get("note"):
        what.append(escape(str(line["note"]), 80))
    detail = " · ".join(part for part in what if part)
    return head + (f"\n      _{detail}_" if detail else "")


def _warnings(content: dict[str, Any]) -> list[Block]:
    notes = [f":no_entry: {plain_to_mrkdwn(text)}" for text in content.get("blocking") or []]
    notes += [f":warning: {plain_to_mrkdwn(text)}" for text in content.get("warnings") or []]
    return [section("\n".join(notes))] if notes else []


def _tie_out(content: dict[str, Any], state: dict[str, Any]) -> list[Block]:
    """QuickBooks' balance beside the roll-forward's at the month's end (and what posting this preview would move)."""
    tie_out = content.get("tie_out")
    if not tie_out or tie_out.get("error"):
        return tie_out_blocks(tie_out)
    pending = state.get("status") == "open" and content.get("can_post")
    net = (content.get("totals") or {}).get(tie_out.get("currency"), {}).get("net_revenue", 0)
    return tie_out_blocks(tie_out, after_posting=int(net) if pending else None)


def _state_blocks(state: dict[str, Any], environment: str) -> list[Block]:
    status = state["status"]
    content = state["content"]
    preview_id = str(state["preview_id"])
    if status == "open":
        if not content.get("can_post"):
            return [actions(button("Reject", ids.PREVIEW_REJECT, value=preview_id), block_id=f"decide-{preview_id}")]
        confirm = confirm_dialog("Post to QuickBooks?", _confirmation(state), "Post")
        return [
            divider(),
            actions(
                button("Post to QuickBooks", ids.PREVIEW_APPROVE, value=preview_id, style="primary", confirm=confirm),
                button("Reject", ids.PREVIEW_REJECT, value=preview_id, style="danger"),
                block_id=f"decide-{preview_id}",
            ),
        ]
    if status == "rejected":
        reason = f": {escape(state.get('reject_reason') or '', 1000)}" if state.get("reject_reason") else ""
        who = user_mention(str(state.get("decided_by")))
        return [section(f":no_entry_sign: Rejected by {who}{reason}. Nothing was posted.")]
    if status == "stale":
        return [
            section(":hourglass: This preview is out of date: contracts, mappings or postings changed since it was made."),
            actions(
                button("Refresh preview", ids.PREVIEW_REFRESH, value=preview_id, style="primary"),
                block_id=f"stale-{preview_id}",
            ),
        ]
    return _posting_blocks(state, environment)


def _confirmation(state: dict[str, Any]) -> str:
    """What the approver signs, in the dialog: how many entries, dated when, into which company and accounts, and
    the revenue (plain text: Slack shows it as typed)."""
    content: dict[str, Any] = state["content"]
    noun = "reversing journal entry" if state.get("kind") == "reversal" else "journal entry"
    entries = style.count(int(content.get("entry_count", 0)), noun, noun[:-1] + "ies")
    dated = style.day(date.fromisoformat(content.get("entry_date") or content["period"] + "-01"))
    company = clip(content.get("company") or "QuickBooks", 60)
    deferred = clip(content.get("deferred_account") or "Deferred Revenue", 40)
    revenue_account = clip(content.get("revenue_account") or "Revenue", 40)
    revenue = ", ".join(
        style.money(int(total["net_revenue"]), code) for code, total in sorted((content.get("totals") or {}).items())
    )
    return clip(
        f"Post {entries} dated {dated} to {company}: Dr {deferred} / Cr {revenue_account}, {revenue or 'no'} of revenue.",
        290,
    )


def _posting_blocks(state: dict[str, Any], environment: str) -> list[Block]:
    counts: dict[str, int] = state.get("counts") or {}
    total = sum(counts.values())
    posted = counts.get("posted", 0) + counts.get("reversed", 0)
    failed = counts.get("failed", 0)
    waiting = total - posted - failed
    who = user_mention(str(state["decided_by"])) if state.get("decided_by") else "an approver"
    if state.get("decided_at"):
        who += f" on {style.when(state['decided_at'], state.get('time_zone'))}"
    blocks: list[Block] = []
    if waiting:
        blocks.append(section(f":arrows_counterclockwise: Approved by {who}. Posting {posted:,}/{total:,}…"))
    elif failed:
        blocks.append(section(f":warning: Approved by {who}. Posted {posted:,} of {total:,}; {failed:,} failed."))
    else:
        blocks.append(section(f":white_check_mark: Approved by {who}. Posted {posted:,} entries to QuickBooks."))
    posted_links = [p for p in state.get("posted") or [] if p.get("qbo_id")]
    links = [link(qbo_entry_url(environment, str(p["qbo_id"])), str(p["doc"])) for p in posted_links]
    if links:
        more = f" …and {posted - len(links):,} more (see `/deferredrev history`)" if posted > len(links) else ""
        blocks.append(context("In QuickBooks: " + ", ".join(links) + more))
    if failed and not waiting:
        reasons = "\n".join(f"• {f['count']:,} × {plain_to_mrkdwn(f['message'], 500)}" for f in state.get("failures") or [])
        blocks.append(section(f"*Why they failed*\n{reasons}"))
        blocks.append(
            actions(
                button("Retry failed entries", ids.PREVIEW_RETRY, value=str(state["preview_id"])),
                block_id=f"retry-{state['preview_id']}",
            )
        )
    return blocks + evidence_blocks(state)


def _footer(state: dict[str, Any]) -> Block:
    """Who asked and when; who may decide while it is open."""
    content: dict[str, Any] = state["content"]
    zone = state.get("time_zone")
    asked = f"requested by {user_mention(str(state['requested_by']))}"
    if state.get("created_at"):
        asked += f" on {style.when(state['created_at'], zone)}"
    parts = [f"Preview #{state['preview_id']}", asked]
    if state["status"] == "open" and content.get("can_post"):
        parts.append(_who_may_approve(content, str(state["requested_by"])))
    return context(" · ".join(parts))


def _who_may_approve(content: dict[str, Any], requested_by: str) -> str:
    approvers = [a for a in content.get("approvers") or [] if not (content.get("four_eyes") and a == requested_by)]
    who = " or ".join(user_mention(a) for a in approvers[:10]) if approvers else "a workspace admin"
    rule = f" (someone other than {user_mention(requested_by)}, who asked for it)" if content.get("four_eyes") else ""
    return f"waiting for {who} to approve{rule}"


def _fallback_text(state: dict[str, Any], content: dict[str, Any]) -> str:
    status = state["status"]
    label = content["period_label"]
    if state.get("kind") == "reversal":
        what = f"Reversal of {content.get('reverses', '')} dated {label}"
    else:
        what = f"Revenue recognition for {label}"
    if status == "open":
        return f"{what}: {content.get('entry_count', 0)} entries to approve"
    return f"{what}: {status}"


def history_message(
    items: list[dict[str, Any]],
    *,
    can_reverse: bool,
    entries: dict[int, list[Any]] | None = None,
    environment: str = "sandbox",
    time_zone: str | None = None,
) -> Message:
    """Recent previews as an approval trail: period and state, who asked and who decided and when, the entries'
    total, and links to the first entries in QuickBooks (`/deferredrev history N` lists all of preview N's)."""
    if not items:
        return "No previews yet.", [section("No previews or postings yet. Run `/deferredrev preview` in a channel.")]
    blocks: list[Block] = [header("Recent previews and postings")]
    for item in items[:15]:
        blocks.append(section(_history_text(item, (entries or {}).get(item["preview_id"], []), environment, time_zone),
                              accessory=_reverse_button(item) if can_reverse else None))  # fmt: skip
    blocks.append(context("`/deferredrev history N` lists every entry of preview number N with its link; "
                          "`/deferredrev history export` posts the audit log as CSV."))  # fmt: skip
    return "Recent previews and postings", blocks[:50]


STATES = {
    "open": "waiting for approval",
    "approved": "approved, posting to QuickBooks",
    "posted": "posted to QuickBooks",
    "failed": "some entries failed",
    "rejected": "rejected",
    "stale": "out of date",
}


def _history_text(item: dict[str, Any], linked: list[Any], environment: str, time_zone: str | None) -> str:
    kind = "Reversal" if item["kind"] == "reversal" else "Preview"
    state = STATES.get(str(item["status"]), str(item["status"]))
    people = f"requested by {user_mention(str(item['requested_by']))}"
    if item.get("created_at"):
        people += f" on {style.when(item['created_at'], time_zone)}"
    if item.get("decided_by"):
        verb = "rejected" if item["status"] == "rejected" else "approved"
        people += f"; {verb} by {user_mention(str(item['decided_by']))}"
        if item.get("decided_at"):
            people += f" on {style.when(item['decided_at'], time_zone)}"
    totals = "; ".join(
        f"{style.money(int(total['net_revenue']), code)} of revenue"
        for code, total in sorted((item.get("totals") or {}).items())
    )
    figures = [style.count(int(item.get("entry_count") or 0), "entry", "entries")]
    if totals:
        figures.append(escape(totals))
    if item.get("posted"):
        figures.append(f"{item['posted']:,} posted")
    if item.get("failed"):
        figures.append(f"{item['failed']:,} failed")
    if item.get("reversed"):
        figures.append(f"{item['reversed']:,} reversed")
    text = f"*{kind} #{item['preview_id']} · {style.period(str(item['period']))}* — {state}\n{people}\n" + " · ".join(
        figures
    )
    links = [link(qbo_entry_url(environment, str(entry.qbo_id)), entry.doc) for entry in linked if entry.qbo_id]
    if links:
        more = int(item.get("posted") or 0) + int(item.get("reversed") or 0) - len(links)
        text += "\nIn QuickBooks: " + ", ".join(links) + (f" and {more:,} more" if more > 0 else "")
    return text


def _reverse_button(item: dict[str, Any]) -> Block | None:
    if item["kind"] != "recognition" or item["posted"] <= 0:
        return None
    return button(
        "Reverse",
        ids.HISTORY_REVERSE,
        value=str(item["preview_id"]),
        style="danger",
        confirm=confirm_dialog(
            "Ask for a reversal?",
            f"Shows the {item['posted']:,} reversing entries as a preview in the channel. Nothing reaches "
            "QuickBooks until an approver approves it; the original entries stay as they are.",
            "Ask for reversal",
            danger=True,
        ),
    )


def entries_message(page: Any, *, environment: str = "sandbox") -> Message:
    """One page of a preview's entries, each linked to QuickBooks."""
    kind = "Reversal" if page.kind == "reversal" else "Preview"
    title = f"{kind} #{page.preview_id} · {style.period(page.period)}: {style.count(page.total, 'entry', 'entries')}"
    rows = []
    for entry in page.entries:
        name = link(qbo_entry_url(environment, str(entry.qbo_id)), entry.doc) if entry.qbo_id else escape(entry.doc)
        rows.append(f"{name} · {escape(style.money(entry.total_minor, entry.currency))} · {escape(entry.status)}")
    blocks: list[Block] = [header(clip(title, 150)), *rows_in_sections(rows)]
    if page.pages > 1:
        next_hint = f" Next: `/deferredrev history {page.preview_id} {page.page + 1}`." if page.page < page.pages else ""
        blocks.append(context(f"Page {page.page} of {page.pages}.{next_hint}"))
    return title, blocks[:50]


def reject_modal(preview_id: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.REJECT_VIEW,
        "title": {"type": "plain_text", "text": "Reject preview"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": str(preview_id),
        "blocks": [
            {
                "type": "input",
                "block_id": ids.REJECT_REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why are you rejecting it?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.REJECT_REASON_INPUT,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 500,
                },
            }
        ],
    }

"""The preview message: a period's journal entries, their state, and the buttons to decide. Pure: it renders the
dict ``PreviewService.state()`` returns (or a fresh preview's content), always within Slack's limits."""

from __future__ import annotations

from typing import Any

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
    fields,
    header,
    link,
    plain_to_mrkdwn,
    section,
    user_mention,
)
from deferredrev.bot.blocks.evidence import evidence_blocks
from deferredrev.bot.blocks.tieout import tie_out_blocks
from deferredrev.revrec.money import format_amount, get_currency
from deferredrev.services.preview_content import qbo_entry_url

Message = tuple[str, list[Block]]
SECTION_BUDGET = 2900
NAME_LIMIT = 200  # a company or account name in a sentence or in bold
MAX_LINE_SECTIONS = 8


def preview_message(state: dict[str, Any], *, environment: str = "sandbox") -> Message:
    content: dict[str, Any] = state["content"]
    title = f"Revenue recognition · {content['period_label']}"
    if state.get("kind") == "reversal":
        title = f"Reversal of {content.get('reverses', '')} · dated {content['period_label']}"
    blocks: list[Block] = [header(title), _facts(content, state)]
    if content.get("deferred_account"):
        blocks.append(
            context(
                f"Each line: debit *{escape(content['deferred_account'], NAME_LIMIT)}* (Deferred Revenue), credit "
                f"*{escape(content['revenue_account'], NAME_LIMIT)}* (Revenue). Credits (negative amounts) swap the sides."
            )
        )
    blocks += _line_sections(content)
    blocks += _totals(content)
    blocks += _warnings(content)
    blocks += _tie_out(content, state)
    blocks += _state_blocks(state, environment)
    blocks.append(_footer(state, content))
    return _fallback_text(state, content), blocks[:50]


def _facts(content: dict[str, Any], state: dict[str, Any]) -> Block:
    mode = "one entry per contract" if content.get("mode") == "per_contract" else "one summary entry"
    return fields(
        ("Company", escape(content.get("company") or "not connected", NAME_LIMIT)),
        ("Period", content["period_label"]),
        ("Entries", f"{content.get('entry_count', 0):,} ({mode})"),
        ("Line pairs", f"{content.get('line_pairs', 0):,}"),
    )


def _line_sections(content: dict[str, Any]) -> list[Block]:
    lines: list[dict[str, Any]] = content.get("lines") or []
    if not lines:
        return []
    rows = [_row(line) for line in lines]
    sections: list[Block] = []
    chunk: list[str] = []
    for row in rows:
        if sum(len(r) + 1 for r in chunk) + len(row) > SECTION_BUDGET - 8:
            sections.append(section("```" + "\n".join(chunk) + "```"))
            chunk = []
        chunk.append(row)
    if chunk:
        sections.append(section("```" + "\n".join(chunk) + "```"))
    sections = sections[:MAX_LINE_SECTIONS]
    hidden = int(content.get("line_pairs", 0)) - len(lines)
    if hidden > 0:
        sections.append(
            context(f"…and {hidden:,} more line pairs. The full detail is attached as a CSV file in the thread.")
        )
    return sections


def _row(line: dict[str, Any]) -> str:
    contract = clip(str(line["contract"]), 16)
    customer = clip(str(line.get("customer") or ""), 22)
    note = f"  ({line['note']})" if line.get("note") else ""
    row = (
        f"{contract:<16} {customer:<22} Dr {clip(line['debit'], 24):<24} Cr {clip(line['credit'], 24):<24} "
        f"{line['amount_text']:>14} {line['currency']}{note}"
    )
    return escape(row)  # inside a code block: escaping leaves no backtick that could close it


def _totals(content: dict[str, Any]) -> list[Block]:
    parts = []
    for code, total in sorted((content.get("totals") or {}).items()):
        currency = get_currency(code)
        balanced = ":white_check_mark: balanced" if total["debits"] == total["credits"] else ":x: does not balance"
        parts.append(
            f"*{escape(code)}* debits {format_amount(total['debits'], currency)} = "
            f"credits {format_amount(total['credits'], currency)} "
            f"{balanced} · revenue recognised {format_amount(total['net_revenue'], currency)}"
        )
    return [section("\n".join(parts))] if parts else []


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
        what = "reversing journal entries dated" if state.get("kind") == "reversal" else "journal entries for"
        confirm = confirm_dialog(
            "Post to QuickBooks?",
            f"Post {content.get('entry_count', 0):,} {what} {content['period_label']} to "
            f"{escape(content.get('company') or 'QuickBooks', 100)}.",
            "Post",
        )
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


def _posting_blocks(state: dict[str, Any], environment: str) -> list[Block]:
    counts: dict[str, int] = state.get("counts") or {}
    total = sum(counts.values())
    posted = counts.get("posted", 0) + counts.get("reversed", 0)
    failed = counts.get("failed", 0)
    waiting = total - posted - failed
    who = user_mention(str(state["decided_by"])) if state.get("decided_by") else "an approver"
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


def _footer(state: dict[str, Any], content: dict[str, Any]) -> Block:
    parts = [f"Preview #{state['preview_id']}", f"requested by {user_mention(str(state['requested_by']))}"]
    if state["status"] == "open" and content.get("four_eyes"):
        parts.append("four-eyes: someone else must approve")
    return context(" · ".join(parts))


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


def history_message(items: list[dict[str, Any]], *, can_reverse: bool) -> Message:
    if not items:
        return "No previews yet.", [section("No previews or postings yet. Run `/deferredrev preview` in a channel.")]
    blocks: list[Block] = [header("Recent previews and postings")]
    for item in items[:15]:
        totals = ", ".join(
            f"{format_amount(t['net_revenue'], get_currency(code))} {escape(code)}"
            for code, t in sorted((item.get("totals") or {}).items())
        )
        kind = "Reversal" if item["kind"] == "reversal" else "Preview"
        text = (
            f"*{kind} #{item['preview_id']} · {item['period']}* — {item['status']}"
            f"{' by ' + user_mention(item['decided_by']) if item.get('decided_by') else ''}\n"
            f"{item['entry_count']:,} entries{' · ' + totals if totals else ''} · posted {item['posted']:,}"
            f"{' · failed ' + str(item['failed']) if item['failed'] else ''}"
            f"{' · reversed ' + str(item['reversed']) if item['reversed'] else ''}"
        )
        accessory = None
        if can_reverse and item["kind"] == "recognition" and item["posted"] > 0:
            accessory = button(
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
        blocks.append(section(text, accessory=accessory))
    return "Recent previews and postings", blocks[:50]


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

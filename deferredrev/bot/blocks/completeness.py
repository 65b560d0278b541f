"""What a preview says about the books being complete: earlier months holding revenue never posted that the entry
leaves out (with their amounts), what it catches up, and the one-click choices: include them as catch-up, preview a
month on its own, or (before the first posting) count them as recognised elsewhere with a cut-over date. Pure."""

from __future__ import annotations

from typing import Any

from deferredrev.bot import ids
from deferredrev.bot.blocks.common import Block, actions, button, confirm_dialog, context, section
from deferredrev.revrec.money import format_amount, get_currency
from deferredrev.revrec.periods import Period, describe_periods

MONTHS_LISTED = 12  # runs of months shown; the rest are counted


def completeness_blocks(state: dict[str, Any]) -> list[Block]:
    content: dict[str, Any] = state["content"]
    blocks: list[Block] = []
    included = content.get("included") or []
    if included:
        months = describe_periods([Period.parse(month) for month in included])
        blocks.append(
            context(f":inbox_tray: Includes catch-up for {months}: {amounts_text(content.get('included_amounts'))}.")
        )
    unposted: list[dict[str, Any]] = content.get("unposted") or []
    if not unposted:
        return blocks
    blocks.append(section(_listing(unposted, first_posting=bool(content.get("first_posting")))))
    if state.get("status") == "open" and state.get("kind", "recognition") == "recognition":
        blocks += _choices(str(state["preview_id"]), unposted, content.get("cutover_offer"))
    return blocks


def _listing(unposted: list[dict[str, Any]], *, first_posting: bool) -> str:
    total = _sum_amounts(unposted)
    lead = (
        f":mag: *Earlier months hold revenue never posted: {amounts_text(total)}.* This entry doesn't include it, so "
        "it stays in Deferred Revenue until you choose:"
    )
    if first_posting:
        lead = (
            ":mag: *This would be the first entry DeferredRev posts.* Contracts began before it, and their revenue for "
            f"the months before ({amounts_text(total)}) isn't in this entry. If your books already recognise it (a "
            "spreadsheet or another tool until now), count it as recognised elsewhere with a cut-over date. If they "
            "don't, include it as catch-up in this entry, or preview those months on their own."
        )
    runs = _runs(unposted)
    rows = [_run_row(run) for run in runs[:MONTHS_LISTED]]
    if len(runs) > MONTHS_LISTED:
        rows.append(f"…and {len(runs) - MONTHS_LISTED} more runs of months")
    return lead + "\n" + "\n".join(f"• {row}" for row in rows)


def _choices(preview_id: str, unposted: list[dict[str, Any]], cutover_offer: str | None) -> list[Block]:
    months = describe_periods([Period.parse(month["period"]) for month in unposted])
    buttons = [
        button(
            "Include them as catch-up",
            ids.PREVIEW_INCLUDE_EARLIER,
            value=preview_id,
            confirm=confirm_dialog(
                "Include the earlier months?",
                f"This preview is replaced by one that also catches up {months} ({amounts_text(_sum_amounts(unposted))}) "
                "in the same entry, dated in this period. Nothing is posted until it is approved.",
                "Include them",
            ),
        )
    ]
    open_months = [month for month in unposted if not month["closed"]]
    if open_months:
        earliest = Period.parse(open_months[0]["period"])
        buttons.append(button(f"Preview {earliest.label} on its own", ids.PREVIEW_EARLIER_MONTH, value=preview_id))
    if cutover_offer:
        buttons.append(
            button(
                "Count as recognised elsewhere",
                ids.PREVIEW_SET_CUTOVER,
                value=preview_id,
                confirm=confirm_dialog(
                    f"Set the cut-over date to {cutover_offer}?",
                    f"Revenue before {cutover_offer} then counts as recognised in your books before DeferredRev, and "
                    "this preview is computed again without it. Admins can change the date in /deferredrev settings.",
                    "Set cut-over",
                ),
            )
        )
    blocks: list[Block] = [actions(*buttons, block_id=f"complete-{preview_id}")]
    if len(open_months) < len(unposted):
        blocks.append(context("QuickBooks has closed some of these months: including them as catch-up is the only way "
                              "left to recognise their revenue."))  # fmt: skip
    return blocks


def _runs(unposted: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive months of the same kind and closed-ness, together."""
    runs: list[list[dict[str, Any]]] = []
    for month in unposted:
        if runs and _continues(runs[-1], month):
            runs[-1].append(month)
        else:
            runs.append([month])
    return runs


def _continues(run: list[dict[str, Any]], month: dict[str, Any]) -> bool:
    last = run[-1]
    same = (last["kind"], last["closed"]) == (month["kind"], month["closed"])
    return same and Period.parse(last["period"]).next() == Period.parse(month["period"])


def _run_row(run: list[dict[str, Any]]) -> str:
    months = describe_periods([Period.parse(month["period"]) for month in run])
    why = "before the first posting" if run[0]["kind"] == "before_first_posting" else "never posted"
    closed = " · closed in QuickBooks" if run[0]["closed"] else ""
    return f"{months}: {amounts_text(_sum_amounts(run))} ({why}{closed})"


def _sum_amounts(months: list[dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for month in months:
        for code, amount in (month.get("amounts") or {}).items():
            totals[code] = totals.get(code, 0) + int(amount)
    return totals


def amounts_text(amounts: dict[str, int] | None) -> str:
    """ "498.36 USD, 12,000 JPY" (or "amounts netting to zero")."""
    shown = [
        f"{format_amount(amount, get_currency(code))} {code}" for code, amount in sorted((amounts or {}).items()) if amount
    ]
    return ", ".join(shown) or "amounts netting to zero"

"""The tie-out block, shared by the report and the preview: QuickBooks' balance of the mapped Deferred Revenue account
beside the roll-forward's closing balance, the difference, and its likely causes (services' plain text, escaped).
Pure: it renders the ``tie_out`` dict of :mod:`deferredrev.services.tie_out`."""

from __future__ import annotations

from datetime import date
from typing import Any

from deferredrev import style
from deferredrev.bot.blocks.common import Block, escape, section

CAUSES_SHOWN = 6
CAUSE_LIMIT = 400


def tie_out_blocks(tie_out: dict[str, Any] | None, *, after_posting: int | None = None) -> list[Block]:
    """``after_posting``: revenue the preview would post in the account's currency (the difference it would move)."""
    if not tie_out:
        return []
    account = escape(str(tie_out.get("account") or "the Deferred Revenue account"), 100)
    if tie_out.get("error"):
        return [
            section(
                f":grey_question: *Tie-out:* QuickBooks' balance of {account} couldn't be read "
                f"({escape(str(tie_out['error']), 300)}). It doesn't stop anything; try again later."
            )
        ]
    currency = str(tie_out["currency"])
    difference = int(tie_out["difference"])
    figures = (
        f"QuickBooks *{style.money(int(tie_out['quickbooks']), currency)}* · roll-forward "
        f"*{style.money(int(tie_out['schedule']), currency)}*"
    )
    if not difference:
        verdict = ":white_check_mark: ties to the cent"
    else:
        verdict = f":warning: difference *{style.money(difference, currency)}*"
    as_of = style.day(date.fromisoformat(str(tie_out["as_of"])))
    lines = [f":scales: *Tie-out* on {as_of}, {account}: {figures} · {verdict}"]
    causes = list(tie_out.get("causes") or ())
    lines += [f"• {escape(str(cause['text']), CAUSE_LIMIT)}" for cause in causes[:CAUSES_SHOWN]]
    if len(causes) > CAUSES_SHOWN:
        lines.append(f"• …and {len(causes) - CAUSES_SHOWN} more")
    if after_posting and difference:
        lines.append(f"Posting this preview moves the difference to {style.money(difference - after_posting, currency)}.")
    others = tie_out.get("other_currencies") or []
    if others:
        lines.append(f"Not compared: {escape(', '.join(map(str, others)), 100)} (the account is in {currency}).")
    if difference:
        lines.append("A difference never blocks posting: it is shown here and recorded with the approval.")
    return [section("\n".join(lines))]

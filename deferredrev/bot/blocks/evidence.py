"""The evidence line of a preview's message: whether each posted entry has its evidence attached in QuickBooks.
Pure: it renders the ``evidence`` part of ``PreviewService.state()``."""

from __future__ import annotations

from typing import Any

from deferredrev.bot.blocks.common import Block, context, escape, section


def evidence_blocks(state: dict[str, Any]) -> list[Block]:
    evidence: dict[str, Any] = state.get("evidence") or {}
    attached, failed, waiting = (int(evidence.get(k, 0)) for k in ("attached", "failed", "waiting"))
    total = attached + failed + waiting
    if not total:
        return []
    if failed:
        reasons = "\n".join(f"• {f['count']:,} × {escape(str(f['message']), 500)}" for f in evidence.get("failures") or [])
        return [
            section(
                f":paperclip: Evidence attached in QuickBooks to {attached:,} of {total:,} entries; "
                f"{failed:,} couldn't be (their entries are posted all the same).\n{reasons}"
            )
        ]
    if waiting:
        return [context(f":paperclip: Attaching the evidence in QuickBooks: {attached:,}/{total:,}…")]
    entries = "the entry" if total == 1 else f"each of the {total:,} entries"
    return [
        context(
            f":paperclip: Evidence attached in QuickBooks to {entries}: who previewed and approved it, the tie-out, "
            "its lines and each contract's schedule."
        )
    ]

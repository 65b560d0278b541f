"""The preview message, history and reject modal validate with slack_sdk's models in every state, at any size."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.views import View

from deferredrev.bot.blocks.preview import history_message, preview_message, reject_modal
from tests.bot.blocks.test_builders_validate import validate_blocks


def content(lines: int, *, can_post: bool = True) -> dict[str, Any]:
    return {
        "period": "2026-10",
        "period_label": "Oct 2026",
        "company": "Acme & <Sons> " * 20,
        "mode": "per_contract",
        "deferred_account": "Deferred Revenue",
        "revenue_account": "Services:" + "Subscriptions " * 20,
        "entry_count": lines,
        "line_pairs": lines,
        "lines": [
            {
                "doc": f"DR2610-{n:012d}",
                "contract": f"C-{n:06d}-" + "x" * 60,
                "customer": "Customer `with` <markup> & a very long name " * 3,
                "kind": "catch_up" if n % 3 else "scheduled",
                "debit": "Deferred Revenue",
                "credit": "Services",
                "amount": 123456,
                "currency": "USD",
                "amount_text": "1,234.56",
                "note": "catch-up Jan–Sep 2026" if n % 3 else "",
            }
            for n in range(min(lines, 40))
        ],
        "totals": {
            "USD": {"debits": 10**12, "credits": 10**12, "net_revenue": 10**12, "entries": lines},
            "JPY": {"debits": 5, "credits": 5, "net_revenue": -5, "entries": 1},
        },
        "warnings": ["w" * 400] * 5,
        "blocking": [] if can_post else ["QuickBooks books are closed through 2026-10-31"],
        "can_post": can_post,
        "four_eyes": True,
    }


def state(status: str, lines: int = 5000, **extra: Any) -> dict[str, Any]:
    return {
        "preview_id": 7, "team_id": "T1", "kind": extra.pop("kind", "recognition"), "status": status,
        "requested_by": "U1", "decided_by": "U2", "reject_reason": "Wrong <amounts> & more " * 30,
        "content": content(lines, can_post=extra.pop("can_post", True)),
        "counts": extra.pop("counts", {}), "posted": [{"doc": f"DR2610-{n}", "qbo_id": str(n)} for n in range(10)],
        "failures": [{"message": "The books are closed " * 10, "count": 3}], "channel": "C1", "ts": "1.2",
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        state("open"),
        state("open", lines=1),
        state("open", can_post=False),
        state("rejected"),
        state("stale"),
        state("approved", counts={"pending": 4000, "posted": 1000}),
        state("posted", counts={"posted": 5000}),
        state("failed", counts={"posted": 4997, "failed": 3}),
        state("approved", kind="reversal", counts={"posted": 5}),
    ],
)
def test_preview_message_validates_in_every_state(case: dict[str, Any]) -> None:
    text, blocks = preview_message(case)
    assert text
    validate_blocks(blocks)


def test_large_previews_say_the_rest_is_attached() -> None:
    _, blocks = preview_message(state("open", lines=5000))
    assert "4,960 more line pairs" in str(blocks)
    assert "<markup>" not in str(blocks)  # user text is escaped


def test_history_and_reject_modal_validate() -> None:
    items = [
        {"preview_id": n, "period": "2026-10", "kind": "recognition" if n % 2 else "reversal", "status": "posted",
         "requested_by": "U1", "decided_by": "U2", "created_at": datetime(2026, 11, 2, tzinfo=UTC), "entry_count": 5000,
         "totals": {"USD": {"net_revenue": 123456}}, "posted": 5000, "reversed": 0, "failed": n % 3}
        for n in range(30)
    ]  # fmt: skip
    for is_admin in (True, False):
        text, blocks = history_message(items, can_reverse=is_admin)
        validate_blocks(blocks)
        assert ("Reverse" in str(blocks)) is is_admin
    validate_blocks(history_message([], can_reverse=True)[1])
    View(**reject_modal(7)).validate_json()

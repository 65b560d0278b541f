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
    assert "…and 4,985 more lines: every line is in the detail CSV" in str(blocks)
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


def packet(**changes: Any) -> dict[str, Any]:
    """A realistic preview: October's entry for three contracts, one a credit, against September."""
    content = {
        "period": "2026-10", "period_label": "Oct 2026", "company": "Sandbox Company_US_1", "mode": "per_contract",
        "deferred_account": "Deferred Revenue", "revenue_account": "Services", "entry_count": 3, "line_pairs": 3,
        "entry_date": "2026-10-31", "previous_period": "2026-09", "previous_revenue": {"USD": 100000},
        "lines": [
            {"contract": "C-1001", "customer": "Acme Corp", "description": "Annual platform licence",
             "signed": 101918, "signed_text": "1,019.18 USD", "note": "", "amount_text": "1,019.18", "currency": "USD"},
            {"contract": "C-1004", "customer": "Delta Inc", "description": "Credit note",
             "signed": -10220, "signed_text": "-102.20 USD", "note": "", "amount_text": "102.20", "currency": "USD"},
            {"contract": "C-1006", "customer": "Zeta Co", "description": "Two-year deal", "signed": 10000,
             "signed_text": "100.00 USD", "note": "catch-up Aug–Sep 2026", "amount_text": "100.00", "currency": "USD"},
        ],
        "totals": {"USD": {"debits": 121918, "credits": 121918, "net_revenue": 101698, "entries": 3}},
        "contracts_in_entry": {"contracts": 3, "new": {"count": 1, "ids": ["C-1001"]},
                               "ending": {"count": 0, "ids": []}, "credits": {"count": 1, "ids": ["C-1004"]},
                               "backdated": {"count": 0, "ids": []}, "changed": {"count": 1, "ids": ["C-1006"]},
                               "earlier": {"count": 0, "ids": []}},
        "nothing_this_month": {"ended": {"count": 7, "ids": ["C-1002", "C-1007", "C-1008", "C-1009", "C-1010"]},
                               "cancelled": {"count": 0, "ids": []},
                               "starts_later": {"count": 2, "ids": ["C-1011", "C-1012"]},
                               "posted": {"count": 0, "ids": []}},
        "warnings": [], "blocking": [], "can_post": True, "four_eyes": True, "approvers": ["U1", "U2", "U3"],
    }  # fmt: skip
    return {
        "preview_id": 7, "team_id": "T1", "kind": "recognition", "status": "open", "requested_by": "U1",
        "decided_by": None, "content": content | changes, "counts": {}, "posted": [], "failures": [],
        "channel": "C1", "ts": "1.2", "created_at": datetime(2026, 11, 3, 20, 0, tzinfo=UTC), "decided_at": None,
        "time_zone": "America/New_York",
    }  # fmt: skip


def test_the_preview_leads_with_what_a_reviewer_signs() -> None:
    _, blocks = preview_message(packet())
    validate_blocks(blocks)
    shown = str(blocks)
    assert "*Dated 31 Oct 2026* in Sandbox Company_US_1 · 3 entries (one per contract)" in shown
    assert "Dr *Deferred Revenue* · Cr *Services*: *1,016.98 USD*" in shown  # the net, once, with the mapped names
    assert "Revenue recognised: 1,016.98 USD · Sep 2026: 1,000.00 USD, +16.98 USD (+1.7%)" in shown
    assert "*In this entry:* 3 contracts — 1 new (C-1001); 1 credit (C-1004)" in shown
    assert "*Catch-ups:* 1 changed after posting (C-1006)" in shown
    # the normal is counted with its reason, without a warning
    assert (
        "Nothing this month for 9 contracts: 7 ended before this month (C-1002, C-1007, C-1008, C-1009, C-1010 and 2 more)"
        in shown
    )
    assert ":warning:" not in shown and "balanced" not in shown and "Dr Deferred Revenue Cr Services" not in shown
    # each line: contract, customer, signed amount, what it is
    assert "*C-1004* Delta Inc · *-102.20 USD*\\n      _Credit note_" in shown
    assert "_Two-year deal · catch-up Aug–Sep 2026_" in shown
    assert "requested by <@U1> on 3 Nov 2026, 15:00 EST" in shown
    assert "waiting for <@U2> or <@U3> to approve (someone other than <@U1>, who asked for it)" in shown


def test_the_confirm_dialog_says_what_is_signed() -> None:
    _, blocks = preview_message(packet())
    [dialog] = [e["confirm"] for b in blocks if b["type"] == "actions" for e in b["elements"] if "confirm" in e]
    assert dialog["text"]["text"] == (
        "Post 3 journal entries dated 31 Oct 2026 to Sandbox Company_US_1: Dr Deferred Revenue / Cr Services, "
        "1,016.98 USD of revenue."
    )


def test_a_decision_keeps_who_and_when() -> None:
    decided = packet() | {"status": "posted", "decided_by": "U2", "counts": {"posted": 3},
                          "decided_at": datetime(2026, 11, 3, 21, 5, tzinfo=UTC)}  # fmt: skip
    shown = str(preview_message(decided)[1])
    assert "Approved by <@U2> on 3 Nov 2026, 16:05 EST. Posted 3 entries to QuickBooks." in shown
    assert "requested by <@U1> on 3 Nov 2026, 15:00 EST" in shown and "waiting for" not in shown


def test_with_no_previous_month_and_four_eyes_off() -> None:
    shown = str(preview_message(packet(previous_revenue={}, four_eyes=False, approvers=[]))[1])
    assert "Revenue recognised: 1,016.98 USD · nothing recognised for Sep 2026" in shown
    assert "waiting for a workspace admin to approve" in shown and "someone other than" not in shown

"""The report message and the tie-out block: valid Block Kit within Slack's limits for a 36-month range in three
currencies; every tie-out state (ties, a difference with causes, unreadable, none); outside text (account names,
causes naming QuickBooks' entries, error texts) inert; the evidence line of a preview's message."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from deferredrev.bot.blocks.evidence import evidence_blocks
from deferredrev.bot.blocks.report import report_message
from deferredrev.bot.blocks.tieout import tie_out_blocks
from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.periods import Period
from deferredrev.revrec.rollforward import roll_forward_range
from deferredrev.services.reports import summary
from tests.bot.blocks.test_builders_validate import validate_blocks
from tests.hostile import HOSTILE, PLAIN, assert_inert, mrkdwn_texts

TIES = {"as_of": "2026-10-31", "account": "Deferred Revenue", "currency": "USD", "quickbooks": 4_120_000,
        "schedule": 4_120_000, "difference": 0, "causes": [], "other_currencies": [], "error": None}  # fmt: skip


def differs(
    account: str = "Deferred Revenue", cause: str = "Manual entries: ADJ-1 on 2026-09-15: -250.00 USD"
) -> dict[str, Any]:
    causes = [{"kind": "manual", "amount": -25000, "text": cause}] * 8
    return {**TIES, "account": account, "quickbooks": 4_095_000, "difference": -25000, "causes": causes,
            "other_currencies": ["EUR"]}  # fmt: skip


def content(tie_out: dict[str, Any] | None, months: int = 36) -> dict[str, Any]:
    first = Period(2024, 1)
    last = Period.from_index(first.index + months - 1)
    contracts = [
        Contract(f"C-{n}", "Acme", 1_000_000_00 + n, code, date(2024, 1, 1), date(2026, 12, 31))
        for n, code in enumerate(("USD", "EUR", "JPY"))
    ]
    return summary(roll_forward_range(contracts, first, last), tie_out, company="Acme & <Sons>")


@pytest.mark.parametrize("tie_out", [TIES, differs(), {"as_of": "2026-10-31", "account": "DR", "error": "HTTP 503"}, None])
def test_report_message_validates_within_limits(tie_out: dict[str, Any] | None) -> None:
    text, blocks = report_message(content(tie_out))
    assert text.startswith("Deferred revenue roll-forward for Jan 2024–Dec 2026")
    validate_blocks(blocks)
    assert all(len(t) <= 3000 for t in mrkdwn_texts(blocks))


def test_the_tie_out_says_whether_it_ties_and_why_not() -> None:
    assert "ties to the cent" in str(tie_out_blocks(TIES))
    shown = str(tie_out_blocks(differs(), after_posting=-25000))
    assert "difference *-250.00 USD*" in shown and "…and 2 more" in shown and "Not compared: EUR" in shown
    assert "Posting this preview moves the difference to 0.00 USD" in shown and "never blocks posting" in shown
    assert "couldn't be read (HTTP 503)" in str(tie_out_blocks({"account": "DR", "error": "HTTP 503"}))
    assert tie_out_blocks(None) == []


@pytest.mark.parametrize("value", HOSTILE)
def test_outside_text_in_the_tie_out_is_inert(value: str) -> None:
    hostile = list(mrkdwn_texts(tie_out_blocks(differs(account=value, cause=f"Manual entry {value} of 1.00 USD"))))
    plain = list(mrkdwn_texts(tie_out_blocks(differs(account=PLAIN, cause=f"Manual entry {PLAIN} of 1.00 USD"))))
    assert_inert(hostile, plain, value)


def test_the_evidence_line_follows_the_attachments() -> None:
    assert evidence_blocks({}) == []
    waiting = evidence_blocks({"evidence": {"attached": 2, "failed": 0, "waiting": 3, "failures": []}})
    assert "Attaching the evidence in QuickBooks: 2/5" in str(waiting)
    done = evidence_blocks({"evidence": {"attached": 5, "failed": 0, "waiting": 0, "failures": []}})
    assert "to each of the 5 entries" in str(done)
    failed = {"attached": 4, "failed": 1, "waiting": 0, "failures": [{"message": "<!channel> refused", "count": 1}]}
    shown = str(evidence_blocks({"evidence": failed}))
    assert "4 of 5 entries" in shown and "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    validate_blocks(evidence_blocks({"evidence": failed}))

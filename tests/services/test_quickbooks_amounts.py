"""The preview and the posting worker apply one rule for QuickBooks' largest line amount: what the preview lets
through, the worker can build; what the preview blocks, the worker would refuse."""

from __future__ import annotations

from datetime import date

import pytest

from deferredrev.qbo.models import JournalEntryLine, PostingType
from deferredrev.revrec.entries import JournalEntryDraft
from deferredrev.revrec.journal import JournalLine, LineKind
from deferredrev.revrec.journal import PostingType as DraftPostingType
from deferredrev.revrec.money import to_decimal
from deferredrev.revrec.periods import Period
from deferredrev.services.preview_content import amounts_quickbooks_refuses

OCTOBER = Period(2026, 10)


def draft(amount: int, currency: str) -> JournalEntryDraft:
    lines = (
        JournalLine("C-1", LineKind.SCHEDULED, DraftPostingType.DEBIT, "35", "Deferred Revenue", amount, "d"),
        JournalLine("C-1", LineKind.SCHEDULED, DraftPostingType.CREDIT, "79", "Revenue", amount, "c"),
    )
    return JournalEntryDraft(
        posting_key="T1|2026-10|C-1|r0", doc_number="DR2610-C-1", period=OCTOBER, txn_date=date(2026, 10, 31),
        currency=currency, revision=0, lines=lines, total_debits=amount, total_credits=amount,
        deferred_revenue_id="35", service_period=OCTOBER,
    )  # fmt: skip


def worker_builds(amount: int, currency: str) -> bool:
    """Whether the posting worker can build the line (it converts minor units exactly like this)."""
    try:
        JournalEntryLine(PostingType.DEBIT, "35", None, to_decimal(amount, currency))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (999_999_999_950, "USD"),  # USD 9,999,999,999.50: accepted by the preview, once crash-looped the worker
        (999_999_999_999, "USD"),
        (1_000_000_000_000, "USD"),
        (9_999_999_999, "JPY"),
        (10_000_000_000, "JPY"),
        (9_999_999_999_500, "KWD"),
        (10_000_000_000_000, "KWD"),
    ],
)
def test_preview_and_worker_agree_at_the_ceiling(amount: int, currency: str) -> None:
    accepted_by_preview = amounts_quickbooks_refuses([draft(amount, currency)]) == []
    assert accepted_by_preview is worker_builds(amount, currency)
    assert accepted_by_preview is (amount < 10 ** (10 + {"USD": 2, "JPY": 0, "KWD": 3}[currency]))

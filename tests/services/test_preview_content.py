from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import pytest

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.entries import PeriodEntries, PostingMode
from deferredrev.revrec.journal import JournalEntryDraft, JournalLine, LineKind, PostingType
from deferredrev.revrec.periods import Period
from deferredrev.services.preview_content import amounts_quickbooks_refuses, detail_csv

OCTOBER = Period(2026, 10)


def draft(amount: int, currency: str, contract: str = "C-1") -> JournalEntryDraft:
    lines = (
        JournalLine(contract, LineKind.SCHEDULED, PostingType.DEBIT, "35", "Deferred Revenue", amount, "d"),
        JournalLine(contract, LineKind.SCHEDULED, PostingType.CREDIT, "79", "Revenue", amount, "c"),
    )
    return JournalEntryDraft(
        posting_key=f"T1|2026-10|{contract}|r0", doc_number=f"DR2610-{contract}", period=OCTOBER,
        txn_date=date(2026, 10, 31), currency=currency, revision=0, lines=lines, total_debits=amount,
        total_credits=amount, deferred_revenue_id="35", service_period=OCTOBER,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("largest_accepted", "currency"),
    [(999_999_999_999, "USD"), (9_999_999_999, "JPY"), (9_999_999_999_999, "KWD")],
)
def test_quickbooks_takes_ten_integer_digits_and_no_more(largest_accepted: int, currency: str) -> None:
    assert amounts_quickbooks_refuses([draft(largest_accepted, currency)]) == []
    refused = amounts_quickbooks_refuses([draft(largest_accepted + 1, currency, "C-BIG")])
    assert len(refused) == 1 and "C-BIG" in refused[0] and f"10,000,000,000 {currency}" in refused[0]


def test_at_most_a_few_problems_are_listed() -> None:
    drafts = [draft(10**15, "USD", f"C-{n}") for n in range(10)]
    assert len(amounts_quickbooks_refuses(drafts)) == 3


def test_the_detail_csv_shows_formula_like_names_as_text() -> None:
    contract = Contract(
        "=1+1", "@SUM(A1)", 1200, "USD", date(2026, 1, 1), date(2026, 12, 31), description="+cmd|' /C calc'!A0"
    )
    entries = PeriodEntries(OCTOBER, PostingMode.PER_CONTRACT, (draft(100, "USD", contract="=1+1"),), (), ())
    rows = list(csv.DictReader(io.StringIO(detail_csv(entries, [contract]))))
    assert [(row["contract_id"], row["customer"], row["amount"]) for row in rows] == [("'=1+1", "'@SUM(A1)", "1.00")]


@pytest.mark.parametrize("risky", [" =1+1", "\n@SUM(A1)", "＝1+1", "＋1", "－1", "＠x", "|calc", "\t=1", "\rx", "-1"])
def test_the_detail_csv_neutralises_every_formula_start(risky: str) -> None:
    """Contract ids, customers, descriptions and account names are text; the amount is a number and stays one."""
    contract = Contract(f"{risky}C", f"{risky}Co", 1200, "USD", date(2026, 1, 1), date(2026, 12, 31), description=risky)
    entry = draft(100, "USD", contract=contract.contract_id)
    named = tuple(line._replace(account_name=risky, description=risky) for line in entry.lines)
    entries = PeriodEntries(OCTOBER, PostingMode.PER_CONTRACT, (replace(entry, lines=named),), (), ())
    row = next(csv.DictReader(io.StringIO(detail_csv(entries, [contract]))))
    for column in ("contract_id", "customer", "debit_account", "credit_account", "description"):
        assert row[column].startswith("'") and row[column][1:].startswith(risky[:1]), column
    assert row["amount"] == "1.00"

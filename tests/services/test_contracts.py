"""Contracts use cases against a real database: what a re-import may change, the new workspace's plan, reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from deferredrev.clock import ManualClock
from deferredrev.revrec.errors import PeriodError
from deferredrev.services.contracts import (
    ContractImportError,
    export_report_csv,
    import_contracts_csv,
    load_contracts,
)
from deferredrev.settings import Plan
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import EntryStatus

TEAM = "T1"
HEADER = "contract_id,customer,amount,currency,start_date,end_date\n"
C1_USD = "C-1,Acme,1200.00,USD,2026-01-01,2026-12-31\n"
C1_JPY = "C-1,Acme,120000,JPY,2026-01-01,2026-12-31\n"
C2_USD = "C-2,Beta,600.00,USD,2026-01-01,2026-06-30\n"
CLOCK = ManualClock(datetime(2026, 3, 15, tzinfo=UTC))


def load(sessions: SessionFactory, text: str, *, plan: Plan = Plan.GROWTH) -> None:
    import_contracts_csv(sessions, CLOCK, team_id=TEAM, text=HEADER + text, actor="U1", default_plan=plan)


def record_entry(
    sessions: SessionFactory, *, status: EntryStatus, amount: int, key: str, reverses: int | None = None
) -> int:
    """A journal entry for C-1's January as posting leaves it, with its recognition."""
    with sessions.begin() as session:
        entry = models.JournalEntry(
            team_id=TEAM, realm_id="R1", period="2026-01", posting_key=key, request_id=key, doc_number=key,
            txn_date=date(2026, 1, 31), currency="USD", total_minor=abs(amount), status=status.value,
            reverses_entry_id=reverses,
        )  # fmt: skip
        entry.recognitions = [models.EntryRecognition(contract_id="C-1", period="2026-01", amount_minor=amount)]
        session.add(entry)
        session.flush()
        return entry.id


def c1_currency(sessions: SessionFactory) -> str:
    with sessions() as session:
        return next(c.currency for c in load_contracts(session, TEAM) if c.contract_id == "C-1")


@pytest.mark.parametrize("status", [EntryStatus.POSTED, EntryStatus.PENDING, EntryStatus.POSTING, EntryStatus.UNKNOWN])
def test_a_contract_with_postings_keeps_its_currency_and_the_file_changes_nothing(
    sessions: SessionFactory, status: EntryStatus
) -> None:
    load(sessions, C1_USD + C2_USD)
    record_entry(sessions, status=status, amount=10192, key="k1")
    with pytest.raises(ContractImportError) as refused:
        load(sessions, "C-2,Beta,700.00,USD,2026-01-01,2026-06-30\n" + C1_JPY + "C-3,New,1.00,USD,2026-01-01,2026-01-31\n")
    assert [str(error) for error in refused.value.errors] == [
        "line 3, currency: C-1 already has entries posted in USD; its currency can't change to JPY. "
        "Import it under a new contract id, or reverse its postings first."
    ]
    with sessions() as session:
        contracts = {c.contract_id: c for c in load_contracts(session, TEAM)}
    assert set(contracts) == {"C-1", "C-2"} and contracts["C-1"].currency == "USD" and contracts["C-2"].amount == 60000


def test_other_changes_to_a_posted_contract_are_still_accepted(sessions: SessionFactory) -> None:
    load(sessions, C1_USD)
    record_entry(sessions, status=EntryStatus.POSTED, amount=10192, key="k1")
    load(sessions, "C-1,Acme,2400.00,USD,2026-01-01,2026-12-31\n")
    with sessions() as session:
        assert load_contracts(session, TEAM)[0].amount == 240000


def test_the_currency_may_change_once_the_postings_are_reversed_or_when_they_failed(sessions: SessionFactory) -> None:
    load(sessions, C1_USD)
    record_entry(sessions, status=EntryStatus.FAILED, amount=10192, key="failed")
    original = record_entry(sessions, status=EntryStatus.POSTED, amount=10192, key="k1")
    reversal = record_entry(sessions, status=EntryStatus.PENDING, amount=-10192, key="rv1", reverses=original)
    with pytest.raises(ContractImportError):  # the reversal is only queued: QuickBooks still has the entry
        load(sessions, C1_JPY)
    with sessions.begin() as session:  # as the posting worker leaves them once the reversal is in QuickBooks
        session.get_one(models.JournalEntry, original).status = EntryStatus.REVERSED.value
        session.get_one(models.JournalEntry, reversal).status = EntryStatus.POSTED.value
    load(sessions, C1_JPY)
    assert c1_currency(sessions) == "JPY"


def test_a_contract_never_posted_may_change_currency(sessions: SessionFactory) -> None:
    load(sessions, C1_USD)
    load(sessions, C1_JPY)
    assert c1_currency(sessions) == "JPY"


def test_the_import_makes_a_new_workspace_on_the_default_plan_it_is_given(sessions: SessionFactory) -> None:
    load(sessions, C1_USD, plan=Plan.SCALE)
    with sessions() as session:
        assert session.get_one(models.Workspace, TEAM).plan == "scale"


def test_a_refused_file_makes_no_workspace(sessions: SessionFactory) -> None:
    with pytest.raises(ContractImportError):
        load(sessions, "C-1,Acme,1.00,USD,0001-01-01,0001-12-31\n")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(models.Workspace)) == 0


@pytest.mark.parametrize(
    ("report", "periods", "message"),
    [
        ("rollforward", "2026-01..2026-03", "rollforward covers one month"),
        ("rollforward", "2026-01..", "rollforward covers one month"),
        ("waterfall", "2026-03..2026-01", "the range 2026-03..2026-01 ends before it starts"),
        ("waterfall", "2026-03..", "period must look like YYYY-MM"),
    ],
)
def test_report_periods_that_would_mislead_are_refused(
    sessions: SessionFactory, report: str, periods: str, message: str
) -> None:
    load(sessions, C1_USD)
    with pytest.raises(PeriodError, match=message):
        export_report_csv(sessions, team_id=TEAM, report=report, periods=periods)


def test_a_one_month_waterfall_is_still_fine(sessions: SessionFactory) -> None:
    load(sessions, C1_USD)
    text = export_report_csv(sessions, team_id=TEAM, report="waterfall", periods="2026-02")
    assert "2026-02" in text.splitlines()[0] and "C-1" in text

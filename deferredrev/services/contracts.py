"""Contracts use cases: all-or-nothing CSV import (re-import updates), listing and CSV export.

A re-import may change anything about a contract but its currency once it has entries in QuickBooks (or on their
way there): posted history is kept per contract, in the currency it was posted in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deferredrev.clock import Clock
from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.csv_contracts import (
    ContractsFile,
    LineError,
    contracts_to_csv,
    parse_contracts_csv,
    schedule_csv,
)
from deferredrev.revrec.cutover import recognised_elsewhere
from deferredrev.revrec.errors import PeriodError
from deferredrev.revrec.money import format_amount, get_currency
from deferredrev.revrec.periods import Period
from deferredrev.revrec.reports import RollForward, roll_forward, waterfall, waterfall_csv
from deferredrev.settings import Plan
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import EntryStatus
from deferredrev.storage.repositories import audit, get_or_create_workspace

REPORTS = ("rollforward", "waterfall")
# Entries that reached QuickBooks (a reversed one and its reversal cancel out) and entries on their way there.
_SETTLED = (EntryStatus.POSTED.value, EntryStatus.REVERSED.value)
_ON_THE_WAY = (EntryStatus.PENDING.value, EntryStatus.POSTING.value, EntryStatus.UNKNOWN.value)
_CHUNK = 500  # contract ids per IN (...) query


class ContractImportError(Exception):
    """The file was rejected as a whole; ``errors`` lists every problem by line."""

    def __init__(self, errors: Sequence[LineError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the contracts file")
        self.errors = list(errors)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def import_contracts_csv(
    sessions: SessionFactory, clock: Clock, *, team_id: str, text: str, actor: str, default_plan: Plan = Plan.GROWTH
) -> ImportResult:
    parsed = parse_contracts_csv(text)
    if not parsed.ok:
        raise ContractImportError(parsed.errors)
    now = clock.now()
    created = updated = unchanged = 0
    with sessions.begin() as session:
        workspace = get_or_create_workspace(session, team_id, default_plan=default_plan, now=now)
        existing = {
            row.contract_id: row
            for row in session.scalars(select(models.Contract).where(models.Contract.team_id == team_id))
        }
        refused = _currency_changes_refused(session, team_id, parsed, existing)
        if refused:
            raise ContractImportError(refused)  # the transaction rolls back: nothing changes
        for contract in parsed.contracts:
            row = existing.get(contract.contract_id)
            if row is None:
                session.add(_new_row(team_id, contract, now, workspace.cutover_date))
                created += 1
            elif _apply(row, contract):
                row.revision += 1
                row.updated_at = now
                updated += 1
            else:
                unchanged += 1
        audit(
            session,
            action="contracts.import",
            now=now,
            team_id=team_id,
            actor=actor,
            created=created,
            updated=updated,
            unchanged=unchanged,
        )
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def load_contracts(session: Session, team_id: str) -> list[Contract]:
    rows = session.scalars(
        select(models.Contract).where(models.Contract.team_id == team_id).order_by(models.Contract.contract_id)
    )
    return [to_contract(row) for row in rows]


def export_contracts_csv(sessions: SessionFactory, *, team_id: str, period: str | None = None) -> str:
    with sessions() as session:
        contracts = load_contracts(session, team_id)
    if period is None:
        return contracts_to_csv(contracts)
    chosen = Period.parse(period)
    return schedule_csv(contracts, chosen, chosen)


def export_report_csv(sessions: SessionFactory, *, team_id: str, report: str, periods: str) -> str:
    """``rollforward`` for one period (YYYY-MM) or ``waterfall`` over a range (YYYY-MM..YYYY-MM, or one YYYY-MM).

    :class:`PeriodError` for a period that is not a month, a range given to ``rollforward``, or a range that ends
    before it starts.
    """
    if report not in REPORTS:
        raise ValueError(f"unknown report {report!r}; expected one of {', '.join(REPORTS)}")
    first_text, is_range, last_text = periods.partition("..")
    if is_range and report == "rollforward":
        raise PeriodError(f"rollforward covers one month (YYYY-MM), not a range; got {periods!r}")
    first = Period.parse(first_text)
    last = Period.parse(last_text) if is_range else first
    if last < first:
        raise PeriodError(f"the range {first}..{last} ends before it starts; put the earlier month first")
    with sessions() as session:
        contracts = load_contracts(session, team_id)
    if report == "waterfall":
        return waterfall_csv(waterfall(contracts, first, last), first, last)
    return roll_forward_csv(roll_forward(contracts, first))


def roll_forward_csv(report: RollForward) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["period", "currency", "opening", "additions", "recognised", "released", "closing"])
    for row in report.rows:
        currency = get_currency(row.currency)
        amounts = (row.opening, row.additions, row.recognised, row.released, row.closing)
        writer.writerow([str(report.period), row.currency, *(format_amount(a, currency, thousands=False) for a in amounts)])
    return buffer.getvalue()


def to_contract(row: models.Contract) -> Contract:
    return Contract(
        contract_id=row.contract_id,
        customer=row.customer,
        amount=row.amount_minor,
        currency=row.currency,
        start_date=row.start_date,
        end_date=row.end_date,
        method=Method(row.method),
        description=row.description,
        cancel_date=row.cancel_date,
        billed_date=row.billed_date,
    )


def _currency_changes_refused(
    session: Session, team_id: str, parsed: ContractsFile, existing: dict[str, models.Contract]
) -> list[LineError]:
    """A line error for each contract whose currency the file changes although it has entries posted or queued."""
    changes = {
        contract.contract_id: (row.currency, contract.currency)
        for contract in parsed.contracts
        if (row := existing.get(contract.contract_id)) is not None and row.currency != contract.currency
    }
    if not changes:
        return []
    posted = _with_postings(session, team_id, changes)
    lines = parsed.line_numbers()
    return [
        LineError(
            lines[contract_id],
            "currency",
            f"{contract_id} already has entries posted in {old}; its currency can't change to {new}. "
            "Import it under a new contract id, or reverse its postings first.",
        )
        for contract_id, (old, new) in changes.items()
        if contract_id in posted
    ]


def _with_postings(session: Session, team_id: str, contract_ids: Iterable[str]) -> set[str]:
    """Those of ``contract_ids`` with an entry on its way to QuickBooks, or posted there and not fully reversed."""
    recognition, entry = models.EntryRecognition, models.JournalEntry
    found: set[str] = set()
    ids = sorted(contract_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        joined = (
            select(recognition.contract_id)
            .join(entry, entry.id == recognition.entry_id)
            .where(entry.team_id == team_id, recognition.contract_id.in_(chunk))
        )
        found.update(session.scalars(joined.where(entry.status.in_(_ON_THE_WAY)).distinct()))
        found.update(
            session.scalars(
                joined.where(entry.status.in_(_SETTLED))
                .group_by(recognition.contract_id, recognition.period)
                .having(func.sum(recognition.amount_minor) != 0)
            )
        )
    return found


def _new_row(team_id: str, contract: Contract, now: object, cutover: date | None) -> models.Contract:
    """A new contract's row; with a cut-over in place, its recognised-elsewhere fact is fixed now, on its terms as
    imported (an amendment later keeps it: see services/cutover_facts.py)."""
    row = models.Contract(team_id=team_id, contract_id=contract.contract_id, revision=1, created_at=now, updated_at=now)
    _apply(row, contract)
    if cutover is not None:
        row.recognised_elsewhere_minor = recognised_elsewhere(contract, cutover)
        row.elsewhere_cutover = cutover
    return row


def _apply(row: models.Contract, contract: Contract) -> bool:
    """Copy ``contract`` onto ``row``; report whether anything changed."""
    values = {
        "customer": contract.customer,
        "amount_minor": contract.amount,
        "currency": contract.currency,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "method": contract.method.value,
        "description": contract.description,
        "cancel_date": contract.cancel_date,
        "billed_date": contract.billed_date,
    }
    changed = False
    for name, value in values.items():
        if getattr(row, name, None) != value:
            setattr(row, name, value)
            changed = True
    return changed

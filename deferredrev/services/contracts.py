"""Contracts use cases: all-or-nothing CSV import (re-import updates), listing and CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from deferredrev.clock import Clock
from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.csv_contracts import LineError, contracts_to_csv, parse_contracts_csv, schedule_csv
from deferredrev.revrec.money import format_amount, get_currency
from deferredrev.revrec.periods import Period
from deferredrev.revrec.reports import RollForward, roll_forward, waterfall, waterfall_csv
from deferredrev.settings import Plan
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.repositories import audit, get_or_create_workspace


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
        get_or_create_workspace(session, team_id, default_plan=default_plan, now=now)
        existing = {
            row.contract_id: row
            for row in session.scalars(select(models.Contract).where(models.Contract.team_id == team_id))
        }
        for contract in parsed.contracts:
            row = existing.get(contract.contract_id)
            if row is None:
                session.add(_new_row(team_id, contract, now))
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
    """``rollforward`` for one period (YYYY-MM) or ``waterfall`` over a range (YYYY-MM..YYYY-MM)."""
    with sessions() as session:
        contracts = load_contracts(session, team_id)
    first_text, _, last_text = periods.partition("..")
    first = Period.parse(first_text)
    last = Period.parse(last_text) if last_text else first
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
    )


def _new_row(team_id: str, contract: Contract, now: object) -> models.Contract:
    row = models.Contract(team_id=team_id, contract_id=contract.contract_id, revision=1, created_at=now, updated_at=now)
    _apply(row, contract)
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
    }
    changed = False
    for name, value in values.items():
        if getattr(row, name, None) != value:
            setattr(row, name, value)
            changed = True
    return changed

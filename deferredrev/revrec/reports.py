"""Reports from schedules: the deferred-revenue roll-forward and the recognition waterfall.

Both are computed from the contracts' schedules (what should be recognised), not from what was posted.

Roll-forward, per currency, for one period:

    closing = opening + additions - recognised - released

- A contract is *added* (booked) in one period: the period of its ``booked_on`` date when given, otherwise of
  its billed date (:attr:`Contract.billed_on`: the start date unless the contract says when it was billed). It adds
  its full amount there and does not appear in any earlier period.
- *Recognised* is its scheduled amount for the period; in the booking period it also includes everything
  scheduled before it (the catch-up of a backdated contract).
- *Released* is, for a cancelled contract, the unearned part (amount - recognised total) that leaves deferred
  revenue by credit note or refund rather than as revenue. It is released in the period of the cancellation date
  (the booking period if that is later), so the balance of a cancelled contract comes back to zero.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.csv_contracts import spreadsheet_safe
from deferredrev.revrec.money import format_amount
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import cumulative_at_period_end, recognised_total, scheduled_amount


@dataclass(frozen=True, slots=True)
class RollForwardRow:
    currency: str
    opening: int
    additions: int
    recognised: int
    released: int
    closing: int


@dataclass(frozen=True, slots=True)
class RollForward:
    period: Period
    rows: tuple[RollForwardRow, ...]  # one per currency, sorted by code


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    contract_id: str
    customer: str
    currency: str
    amounts: Mapping[Period, int]  # every period of the requested range, zeros included


def roll_forward(
    contracts: Iterable[Contract], period: Period, *, booked_on: Mapping[str, date] | None = None
) -> RollForward:
    """Opening deferred balance, additions, recognised, released and closing balance for ``period``."""
    totals: dict[str, list[int]] = {}
    for contract in contracts:
        booked = booked_on.get(contract.contract_id, contract.billed_on) if booked_on else contract.billed_on
        movement = contract_movement(contract, period, Period.of(booked))
        if movement is not None:
            running = totals.setdefault(contract.currency, [0, 0, 0, 0, 0])
            for position, value in enumerate(movement):
                running[position] += value
    rows = tuple(RollForwardRow(currency, *totals[currency]) for currency in sorted(totals))
    return RollForward(period, rows)


def contract_movement(contract: Contract, period: Period, booking: Period) -> tuple[int, int, int, int, int] | None:
    """(opening, additions, recognised, released, closing) of one contract booked in ``booking``, for ``period``;
    None before it is booked."""
    if period < booking:
        return None
    previous = period.previous()
    booked_before = period > booking
    recognised_before = cumulative_at_period_end(contract, previous) if booked_before else 0
    released_before = _released_through(contract, previous, booking) if booked_before else 0
    opening = contract.amount - recognised_before - released_before if booked_before else 0
    additions = 0 if booked_before else contract.amount
    recognised = cumulative_at_period_end(contract, period) - recognised_before
    released = _released_through(contract, period, booking) - released_before
    closing = opening + additions - recognised - released
    return opening, additions, recognised, released, closing


def _released_through(contract: Contract, period: Period, booking: Period) -> int:
    """The unearned part of a cancelled contract, once its release period has been reached."""
    if contract.cancel_date is None or period < max(Period.of(contract.cancel_date), booking):
        return 0
    return contract.amount - recognised_total(contract)


def waterfall(contracts: Iterable[Contract], first: Period, last: Period) -> list[WaterfallRow]:
    """Each contract's scheduled amount in every period from ``first`` to ``last``, sorted by contract id."""
    periods = Period.range(first, last)
    return [
        WaterfallRow(
            contract.contract_id,
            contract.customer,
            contract.currency,
            {period: scheduled_amount(contract, period) for period in periods},
        )
        for contract in sorted(contracts, key=lambda contract: contract.contract_id)
    ]


def waterfall_csv(rows: Iterable[WaterfallRow], first: Period, last: Period) -> str:
    """contract_id, customer, currency, then one column per period, amounts in the currency's decimals."""
    periods = Period.range(first, last)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["contract_id", "customer", "currency", *map(str, periods)])
    for row in rows:
        amounts = [format_amount(row.amounts.get(period, 0), row.currency, thousands=False) for period in periods]
        writer.writerow([spreadsheet_safe(row.contract_id), spreadsheet_safe(row.customer), row.currency, *amounts])
    return buffer.getvalue()

"""The deferred-revenue roll-forward over a range of months, per currency and per contract. Pure: no I/O, no clock.

For every month of the range and every currency::

    closing = opening + billed - recognised - released,   recognised = posted + not yet posted

- *Billed*: a contract enters Deferred Revenue with its full amount in the month of its billed date
  (:attr:`Contract.billed_on`; the start date when the contract doesn't say). It shows nowhere before.
- *Recognised*: its scheduled amount for the month; in the billing month also everything scheduled before it (the
  catch-up of a contract billed after its service began). It is split by what DeferredRev has posted to QuickBooks
  for those service months (``posted``, by contract and service month) and what it hasn't (yet): a month not posted,
  or a contract changed since (then "not yet posted" can be negative: the next preview's catch-up lines correct it).
- *Released*: the unearned part of a cancelled contract, leaving Deferred Revenue by credit note or refund, in the
  month of the cancellation (the billing month if later). A cancelled contract's balance comes back to zero.
- *Opening* is the previous month's closing, so months chain, and the range's totals tie:
  ``closing(last) = opening(first) + Σ billed - Σ recognised - Σ released``.

The arithmetic per contract is :func:`deferredrev.revrec.reports.contract_movement`, so the one-month roll-forward of
``contracts export --report rollforward`` and this range agree to the cent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.csv_contracts import spreadsheet_safe
from deferredrev.revrec.errors import PeriodError
from deferredrev.revrec.money import format_amount
from deferredrev.revrec.periods import Period
from deferredrev.revrec.reports import contract_movement

MAX_MONTHS = 36
CSV_COLUMNS = (
    "month", "currency", "contract_id", "customer", "opening", "billed", "recognised_posted",
    "recognised_not_yet_posted", "released", "closing",
)  # fmt: skip
TOTAL = "TOTAL"


@dataclass(frozen=True, slots=True)
class Movement:
    opening: int = 0
    billed: int = 0
    posted: int = 0  # recognised and posted to QuickBooks by DeferredRev
    not_posted: int = 0  # recognised by the schedule, not (yet) posted
    released: int = 0
    closing: int = 0

    @property
    def recognised(self) -> int:
        return self.posted + self.not_posted

    def __add__(self, other: Movement) -> Movement:
        return Movement(
            self.opening + other.opening,
            self.billed + other.billed,
            self.posted + other.posted,
            self.not_posted + other.not_posted,
            self.released + other.released,
            self.closing + other.closing,
        )

    @property
    def is_zero(self) -> bool:
        return not any((self.opening, self.billed, self.posted, self.not_posted, self.released, self.closing))


@dataclass(frozen=True, slots=True)
class ContractMonth:
    contract_id: str
    customer: str
    currency: str
    period: Period
    movement: Movement


@dataclass(frozen=True)
class RollForwardReport:
    first: Period
    last: Period
    totals: Mapping[str, Mapping[Period, Movement]]  # currency -> every month of the range
    contracts: tuple[ContractMonth, ...]  # months with something to show, by month, currency, contract id

    @property
    def months(self) -> list[Period]:
        return Period.range(self.first, self.last)

    @property
    def currencies(self) -> list[str]:
        return sorted(self.totals)

    def over_range(self, currency: str) -> Movement:
        """The range as one movement: the first month's opening, the sums, the last month's closing."""
        months = self.totals.get(currency) or {}
        if not months:
            return Movement()
        summed = sum(months.values(), Movement())
        return Movement(
            opening=months[self.first].opening,
            billed=summed.billed,
            posted=summed.posted,
            not_posted=summed.not_posted,
            released=summed.released,
            closing=months[self.last].closing,
        )

    def unposted_months(self, currency: str) -> list[Period]:
        return [period for period, movement in (self.totals.get(currency) or {}).items() if movement.not_posted]


def parse_range(text: str) -> tuple[Period, Period]:
    """``YYYY-MM`` or ``YYYY-MM..YYYY-MM`` (at most :data:`MAX_MONTHS` months, the earlier first); PeriodError if not."""
    first_text, is_range, last_text = text.strip().partition("..")
    first = Period.parse(first_text)
    last = Period.parse(last_text) if is_range else first
    if last < first:
        raise PeriodError(f"the range {first}..{last} ends before it starts; put the earlier month first")
    if last.index - first.index + 1 > MAX_MONTHS:
        raise PeriodError(f"a report covers at most {MAX_MONTHS} months; {first}..{last} is longer")
    return first, last


def roll_forward_range(
    contracts: Iterable[Contract], first: Period, last: Period, *, posted: Mapping[str, Mapping[Period, int]] | None = None
) -> RollForwardReport:
    """Every month from ``first`` to ``last``; ``posted`` is what DeferredRev posted, by contract and service month."""
    if last < first:
        raise PeriodError(f"the range {first}..{last} ends before it starts")
    months = Period.range(first, last)
    posted = posted or {}
    totals: dict[str, dict[Period, Movement]] = {}
    rows: list[ContractMonth] = []
    for contract in sorted(contracts, key=lambda c: c.contract_id):
        booking = Period.of(contract.billed_on)
        by_month = posted.get(contract.contract_id) or {}
        running = totals.setdefault(contract.currency, {period: Movement() for period in months})
        for period in months:
            moved = contract_movement(contract, period, booking)
            if moved is None:
                continue
            opening, billed, recognised, released, closing = moved
            posted_here = sum(
                amount
                for service, amount in by_month.items()
                if service == period or (period == booking and service < period)
            )
            movement = Movement(opening, billed, posted_here, recognised - posted_here, released, closing)
            if movement.is_zero:
                continue
            running[period] = running[period] + movement
            rows.append(ContractMonth(contract.contract_id, contract.customer, contract.currency, period, movement))
    rows.sort(key=lambda row: (row.period, row.currency, row.contract_id))
    return RollForwardReport(first, last, totals, tuple(rows))


def roll_forward_csv(report: RollForwardReport) -> str:
    """One row per contract and month with something to show, then each month's total per currency; amounts in the
    currency's decimals without thousands separators, text made spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    by_month: dict[Period, list[ContractMonth]] = {}
    for row in report.contracts:
        by_month.setdefault(row.period, []).append(row)
    for period in report.months:
        for row in by_month.get(period, []):
            writer.writerow([str(period), row.currency, spreadsheet_safe(row.contract_id), spreadsheet_safe(row.customer),
                             *_amounts(row.movement, row.currency)])  # fmt: skip
        for currency in report.currencies:
            writer.writerow([str(period), currency, TOTAL, "", *_amounts(report.totals[currency][period], currency)])
    return buffer.getvalue()


def _amounts(movement: Movement, currency: str) -> list[str]:
    values = (movement.opening, movement.billed, movement.posted, movement.not_posted, movement.released, movement.closing)
    return [format_amount(value, currency, thousands=False) for value in values]

"""Are the books complete? Months before an entry's period that hold revenue earned and never posted.

A controller's first question. An entry catches up the months the workspace has posted (see ``deltas``); any other
earlier month where some contract is owed revenue (``owed(p) - posted(p) != 0``, owed net of the cut-over) holds
revenue that would otherwise stay in Deferred Revenue without anyone saying so. ``unposted_months`` names them,
with the amount per currency and the contracts involved, telling apart

- ``BEFORE_FIRST_POSTING``: months before the first month the workspace posted (or, before any posting, before the
  entry's period): service that started before DeferredRev took over. Setting the cut-over date counts them as
  recognised elsewhere;
- ``SKIPPED``: gaps between posted months.

Either can be included in an entry as catch-up (``build_period_entries(..., include=...)``: the only way for a month
QuickBooks has closed) or previewed and posted as its own entry. Months before the cut-over owe nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.cutover import CutOver
from deferredrev.revrec.deltas import DeltaCalculator
from deferredrev.revrec.journal import PostedHistory
from deferredrev.revrec.money import format_amount
from deferredrev.revrec.periods import Period, describe_periods


class UnpostedKind(StrEnum):
    BEFORE_FIRST_POSTING = "before_first_posting"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class UnpostedMonth:
    """A month before the entry's period holding revenue owed and never posted."""

    period: Period
    kind: UnpostedKind
    amounts: Mapping[str, int]  # by currency code, sorted; a currency's contracts may net to 0 there
    contract_ids: tuple[str, ...]  # the contracts owed revenue in the month, sorted


def unposted_months(
    contracts: Iterable[Contract],
    period: Period,
    history: PostedHistory,
    cutover: CutOver | date | None = None,
    include: Iterable[Period] = (),
) -> tuple[UnpostedMonth, ...]:
    """The months before ``period`` (not before the cut-over) that are not posted, not in ``include``, and where
    some contract is owed revenue; oldest first. The same as ``build_period_entries(...).unposted``, without the
    drafts. Cheap when nothing is unposted: one comparison per contract."""
    calculator = DeltaCalculator(period, history, cutover, include)
    for contract in sorted(contracts, key=lambda contract: contract.contract_id):
        calculator.note_unposted(contract)
    return collect_unposted(calculator)


def collect_unposted(calculator: DeltaCalculator) -> tuple[UnpostedMonth, ...]:
    """The unposted months a calculator noted, oldest first."""
    first_posted = calculator.first_posted
    months = []
    for index, (amounts, contract_ids) in sorted(calculator.unposted.items()):
        before_first = first_posted is None or index < first_posted
        months.append(
            UnpostedMonth(
                Period.from_index(index),
                UnpostedKind.BEFORE_FIRST_POSTING if before_first else UnpostedKind.SKIPPED,
                dict(sorted(amounts.items())),
                tuple(sorted(contract_ids)),
            )
        )
    return tuple(months)


def unposted_totals(months: Iterable[UnpostedMonth]) -> dict[str, int]:
    """The unposted amounts of ``months`` added up by currency (sorted by code)."""
    totals: dict[str, int] = {}
    for month in months:
        for currency, amount in month.amounts.items():
            totals[currency] = totals.get(currency, 0) + amount
    return dict(sorted(totals.items()))


def describe_unposted(months: Iterable[UnpostedMonth]) -> tuple[str, ...]:
    """Plain-text warnings naming the unposted months, their amounts and the choices: one for the months before the
    first posting, one for the skipped ones. ``PeriodEntries.warnings`` carries them; a richer surface can build its
    own wording from the ``UnpostedMonth`` data instead."""
    listed = list(months)
    before = [month for month in listed if month.kind is UnpostedKind.BEFORE_FIRST_POSTING]
    skipped = [month for month in listed if month.kind is UnpostedKind.SKIPPED]
    warnings = []
    if before:
        names = describe_periods([month.period for month in before])
        one = len(before) == 1
        cutover = max(month.period for month in before).next().start
        warnings.append(
            f"{names}, before the first month DeferredRev posted, {'holds' if one else 'hold'} "
            f"{_amounts(before, 'revenue netting to zero')} never posted: it stays in Deferred Revenue, and this entry "
            f"doesn't include it. Include {'it' if one else 'them'} as catch-up in this entry, preview "
            f"{'it' if one else 'them'} as {'its own entry' if one else 'their own entries'}, or set the cut-over date "
            f"to {cutover:%Y-%m-%d} so {'it counts' if one else 'they count'} as recognised elsewhere."
        )
    if skipped:
        names = describe_periods([month.period for month in skipped])
        one = len(skipped) == 1
        amounts = _amounts(skipped, "")
        what = f"the {amounts} scheduled there stays" if amounts else "what is owed there (netting to zero) stays"
        warnings.append(
            f"{names} {'was' if one else 'were'} never posted: {what} in Deferred Revenue, and this entry doesn't "
            f"include it. Include {'it' if one else 'them'} as catch-up in this entry (the only way once QuickBooks "
            f"has closed {'it' if one else 'them'}), or preview and post {names} on {'its' if one else 'their'} own."
        )
    return tuple(warnings)


def _amounts(months: list[UnpostedMonth], if_none: str) -> str:
    totals = unposted_totals(months)
    text = ", ".join(f"{format_amount(amount, code)} {code}" for code, amount in totals.items() if amount)
    return text or if_none

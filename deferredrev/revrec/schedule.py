"""Recognition schedules by cumulative rounding.

Everything derives from one pure function of a date:

    recognised_to_date(contract, D) = round_half_up(amount × fraction_delivered(min(D, last service day)))

with ties rounded away from zero, so ``schedule(-A) == -schedule(A)``. A period's scheduled amount is the
difference of recognised-to-date at its end and at the previous period's end. Hence every schedule sums exactly
to the contract amount, each period is within one minor unit of its exact share, and earlier periods never move
when later ones are computed.

``fraction_delivered`` at the end of day D, for a service period ``start..end`` (inclusive), is 0 before
``start``, 1 from ``end`` on, and in between:

``daily``
    days served / total days, i.e. ``(D - start + 1) / (end - start + 1)``.

``monthly_even``
    Stripe's "by month evenly, cut off the last month" (reference/revrec.md §1): the amount is split into N equal
    shares, one per monthly period of service. N is the number of monthly anniversaries of the start date that
    fall within the service period: ``start + k months`` (clamped to the month's last day, so a 31 January start
    has anniversaries 29 February, 31 March, ...), for k = 0, 1, ..., that are on or before ``end``. Share k
    belongs to the calendar month of anniversary k (the start's month + k). Hence 2026-06-15..2026-10-13 has N = 4
    (30/30/30/30 of 120 USD, nothing in October, as in Stripe's documented example), 2024-01-31..2025-01-30 and
    2026-01-01..2026-12-31 have N = 12, a one-day contract has N = 1. The start month gets a full share however
    late in it the service starts; the end month gets nothing when no anniversary falls in it (at most one such
    month, the last one). Within the month of share k the share accrues linearly over that month's service days
    (the start's day through the month end for k = 0, the month's first day through ``end`` for the month of
    ``end``), so at the end of the month of share k the fraction is exactly (k + 1)/N.

``monthly_prorated``
    Each month touched gets a weight: service days in that month / days in that month (1 for a full month, e.g.
    16/31 for a 16 January start). The fraction is the weight accrued so far over the total weight W, and within
    a month the weight accrues by calendar day (1/days-in-month per day). Dividing by W normalises the total to
    exactly 1: when the stubs add up to one month (16/31 + 15/31) every full month gets exactly amount/12, which
    reproduces the "monthly-even + prorated stubs" column of reference/revrec.md Ex 1 (516.13, 1,000.00 …,
    483.87); otherwise the stubs are scaled so nothing drifts (Ex 4's naive 1,003.226 KWD cannot happen).

Cancellation: service stops at ``cancel_date`` (the last day served). Recognition is capped at the original
schedule's recognised-to-date on that day: revenue for the days served; the unearned rest is not revenue and
is left to a credit note outside these schedules.

Zero amounts: ``schedule`` lists every month with service, so a month can show 0 when the amount is too small to
give it a minor unit (1 cent over a year), when the contract is cancelled, or for the last month of a
``monthly_even`` contract that no anniversary falls in; these zeros are unavoidable.

All arithmetic is on integers and date ordinals; no floats, no per-day loops.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.periods import Period, days_in_month

Ratio = tuple[int, int]


def round_ratio(amount: int, numerator: int, denominator: int) -> int:
    """``amount × numerator / denominator`` rounded half away from zero (numerator ≥ 0, denominator > 0)."""
    if amount >= 0:
        return (2 * amount * numerator + denominator) // (2 * denominator)
    return -((-2 * amount * numerator + denominator) // (2 * denominator))


def fraction_delivered(contract: Contract, day: date) -> Ratio:
    """The share of the contract delivered by the end of ``day``, as (numerator, denominator), capped at
    cancellation. Not reduced."""
    return _fraction_at(contract, min(day.toordinal(), contract.last_service_day.toordinal()))


def recognised_to_date(contract: Contract, day: date) -> int:
    """Minor units recognised by the end of ``day``."""
    return cumulative_at(contract, day.toordinal())


def cumulative_at(contract: Contract, day_ordinal: int) -> int:
    """``recognised_to_date`` for a date given as its ordinal (the fast path for entries and benchmarks)."""
    cancel = contract.cancel_date
    if cancel is not None:
        day_ordinal = min(day_ordinal, cancel.toordinal())
    start = contract.start_date.toordinal()
    if day_ordinal < start:
        return 0
    end = contract.end_date.toordinal()
    if day_ordinal >= end:
        return contract.amount
    if contract.method is Method.DAILY:
        return round_ratio(contract.amount, day_ordinal - start + 1, end - start + 1)
    numerator, denominator = _fraction_at(contract, day_ordinal)
    return round_ratio(contract.amount, numerator, denominator)


def cumulative_at_days(contract: Contract, day_ordinals: Iterable[int]) -> list[int]:
    """``cumulative_at`` for many days at once (say, a run of month ends): the contract is read once."""
    amount, start, end = contract.amount, contract.start_date.toordinal(), contract.end_date.toordinal()
    last = end if contract.cancel_date is None else contract.cancel_date.toordinal()
    daily = contract.method is Method.DAILY
    total = end - start + 1
    values = []
    for day in day_ordinals:
        if day > last:
            day = last
        if day < start:
            values.append(0)
        elif day >= end:
            values.append(amount)
        elif daily:
            values.append(round_ratio(amount, day - start + 1, total))
        else:
            values.append(round_ratio(amount, *_fraction_at(contract, day)))
    return values


def cumulative_at_period_end(contract: Contract, period: Period) -> int:
    return cumulative_at(contract, period.end.toordinal())


def scheduled_amount(contract: Contract, period: Period) -> int:
    """What the schedule recognises in ``period``; 0 outside the service period."""
    end = period.end.toordinal()
    return cumulative_at(contract, end) - cumulative_at(contract, end - period.days)


def service_periods(contract: Contract) -> list[Period]:
    """The months with at least one day of service (none for a contract cancelled before it started)."""
    if not contract.has_service:
        return []
    return Period.range(Period.of(contract.start_date), Period.of(contract.last_service_day))


def schedule(contract: Contract) -> list[tuple[Period, int]]:
    """(period, amount) for every month with service, in order. Sums to the amount (to the recognised total
    when cancelled)."""
    rows: list[tuple[Period, int]] = []
    periods = service_periods(contract)
    if not periods:
        return rows
    before = cumulative_at(contract, periods[0].start.toordinal() - 1)
    for period in periods:
        after = cumulative_at(contract, period.end.toordinal())
        rows.append((period, after - before))
        before = after
    return rows


def recognised_total(contract: Contract) -> int:
    """Everything the contract will ever recognise: the amount, or less when cancelled."""
    return cumulative_at(contract, contract.last_service_day.toordinal())


def monthly_even_shares(start: date, end: date) -> int:
    """N for ``monthly_even``: the anniversaries ``start + k months`` (clamped to month end), k ≥ 0, on or before
    ``end``. Anniversaries before ``end``'s month always are; the one in ``end``'s month is when its day is."""
    months_between = _month_number(end) - _month_number(start)
    anniversary_day = min(start.day, _days_in_month(end))
    return months_between + 1 if anniversary_day <= end.day else months_between


def _fraction_at(contract: Contract, day: int) -> Ratio:
    start = contract.start_date.toordinal()
    end = contract.end_date.toordinal()
    if day < start:
        return 0, 1
    if day >= end:
        return 1, 1
    if contract.method is Method.DAILY:
        return day - start + 1, end - start + 1
    if contract.method is Method.MONTHLY_EVEN:
        return _monthly_even(contract.start_date, contract.end_date, date.fromordinal(day))
    return _monthly_prorated(contract.start_date, contract.end_date, date.fromordinal(day))


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _days_in_month(day: date) -> int:
    return days_in_month(day.year, day.month)


def _monthly_even(start: date, end: date, day: date) -> Ratio:
    shares = monthly_even_shares(start, end)
    completed = _month_number(day) - _month_number(start)  # shares whose months are over
    if completed >= shares:
        return 1, 1  # the month after the last anniversary's: every share is earned
    month_first = start if completed == 0 else day.replace(day=1)
    month_last = end if _month_number(day) == _month_number(end) else day.replace(day=_days_in_month(day))
    service_days = (month_last - month_first).days + 1
    served = (day - month_first).days + 1
    return completed * service_days + served, shares * service_days


def _monthly_prorated(start: date, end: date, day: date) -> Ratio:
    months = _month_number(end) - _month_number(start) + 1
    if months == 1:
        return (day - start).days + 1, (end - start).days + 1
    first_days, last_days = _days_in_month(start), _days_in_month(end)
    first_weight = first_days - start.day + 1  # over first_days
    total_numerator = first_weight * last_days + (months - 2) * first_days * last_days + end.day * first_days
    total_denominator = first_days * last_days
    completed = _month_number(day) - _month_number(start)
    if completed == 0:
        accrued = (day - start).days + 1, first_days
    else:
        month_days = _days_in_month(day)
        full_months = completed - 1
        accrued = (
            first_weight * month_days + full_months * first_days * month_days + day.day * first_days,
            first_days * month_days,
        )
    return accrued[0] * total_denominator, accrued[1] * total_numerator

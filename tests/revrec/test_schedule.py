"""Schedules: the worked examples of reference/revrec.md §6 to the minor unit, and the §6.3 invariants."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.money import parse_amount
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import (
    cumulative_at,
    cumulative_at_days,
    cumulative_at_period_end,
    fraction_delivered,
    monthly_even_shares,
    recognised_to_date,
    recognised_total,
    round_ratio,
    schedule,
    scheduled_amount,
    service_periods,
)
from tests.revrec.strategies import contracts

PROPERTIES = settings(max_examples=300, deadline=None)


def contract(amount: str, currency: str, start: str, end: str, **changes: object) -> Contract:
    return Contract(
        contract_id="C-1",
        customer="Acme",
        amount=parse_amount(amount, currency),
        currency=currency,
        start_date=date.fromisoformat(start),
        end_date=date.fromisoformat(end),
        **changes,  # type: ignore[arg-type]
    )


def amounts(rows: list[tuple[Period, int]]) -> list[int]:
    return [amount for _, amount in rows]


def minor(*texts: str, currency: str = "USD") -> list[int]:
    return [parse_amount(text, currency) for text in texts]


def test_ex1_usd_mid_month_annual_daily() -> None:
    rows = schedule(contract("12000", "USD", "2021-01-16", "2022-01-15"))
    assert [str(period) for period, _ in rows] == [str(Period(2021, m)) for m in range(1, 13)] + ["2022-01"]
    assert amounts(rows) == minor(
        "526.03", "920.55", "1019.17", "986.30", "1019.18", "986.30", "1019.18",
        "1019.18", "986.30", "1019.18", "986.30", "1019.18", "493.15",
    )  # fmt: skip


def test_ex1_monthly_prorated_matches_the_reference_column() -> None:
    rows = schedule(contract("12000", "USD", "2021-01-16", "2022-01-15", method=Method.MONTHLY_PRORATED))
    assert amounts(rows) == minor("516.13", *["1000.00"] * 11, "483.87")


def test_ex1_monthly_even_gives_each_monthly_period_an_equal_share() -> None:
    # Stripe's month-evenly column of reference/revrec.md Ex 1: twelve shares, nothing in the last stub month.
    rows = schedule(contract("12000", "USD", "2021-01-16", "2022-01-15", method=Method.MONTHLY_EVEN))
    assert amounts(rows) == [100000] * 12 + [0]


def test_monthly_even_stripe_example_30_30_30_30_and_nothing_in_october() -> None:
    rows = schedule(contract("120", "USD", "2026-06-15", "2026-10-13", method=Method.MONTHLY_EVEN))
    assert [(str(period), amount) for period, amount in rows] == [
        ("2026-06", 3000), ("2026-07", 3000), ("2026-08", 3000), ("2026-09", 3000), ("2026-10", 0),
    ]  # fmt: skip
    assert monthly_even_shares(date(2026, 6, 15), date(2026, 10, 13)) == 4


def test_monthly_even_anniversary_dated_annual_contract_has_twelve_shares() -> None:
    # Anniversaries of a 31 January start: 29 Feb, 31 Mar, ..., 31 Dec; 31 Jan 2025 is after the end.
    rows = schedule(contract("1200", "USD", "2024-01-31", "2025-01-30", method=Method.MONTHLY_EVEN))
    assert monthly_even_shares(date(2024, 1, 31), date(2025, 1, 30)) == 12
    assert amounts(rows) == [10000] * 12 + [0]
    assert [str(period) for period, _ in rows][-2:] == ["2024-12", "2025-01"]


def test_monthly_even_share_counts() -> None:
    assert monthly_even_shares(date(2026, 1, 1), date(2026, 12, 31)) == 12
    assert monthly_even_shares(date(2024, 3, 5), date(2024, 3, 5)) == 1  # one day
    assert monthly_even_shares(date(2024, 1, 15), date(2024, 2, 14)) == 1  # one month: nothing in February
    assert monthly_even_shares(date(2024, 1, 15), date(2024, 2, 15)) == 2  # a month and a day
    assert monthly_even_shares(date(2023, 1, 31), date(2023, 2, 28)) == 2  # 28 Feb is the clamped anniversary
    assert monthly_even_shares(date(2024, 1, 31), date(2024, 2, 28)) == 1  # 29 Feb is, in a leap year


def test_monthly_even_one_day_contract_recognises_everything_that_day() -> None:
    c = contract("99.99", "USD", "2024-03-05", "2024-03-05", method=Method.MONTHLY_EVEN)
    assert schedule(c) == [(Period(2024, 3), 9999)]


def test_monthly_even_accrues_a_share_over_its_month_and_stops_at_cancellation() -> None:
    c = contract("120", "USD", "2026-06-15", "2026-10-13", method=Method.MONTHLY_EVEN)
    # June's share accrues over its 16 service days; July's over July's 31.
    assert recognised_to_date(c, date(2026, 6, 22)) == round_ratio(3000, 8, 16)
    assert recognised_to_date(c, date(2026, 7, 10)) == 3000 + round_ratio(3000, 10, 31)
    assert recognised_to_date(c, date(2026, 10, 1)) == 12000  # the cut-off stub earns nothing more
    cancelled = contract("120", "USD", "2026-06-15", "2026-10-13", method=Method.MONTHLY_EVEN, cancel_date=date(2026, 7, 10))
    assert recognised_total(cancelled) == 3000 + round_ratio(3000, 10, 31)


def test_monthly_even_over_whole_months() -> None:
    rows = schedule(contract("1200", "USD", "2025-01-01", "2025-12-31", method=Method.MONTHLY_EVEN))
    assert amounts(rows) == [10000] * 12


def test_ex2_cumulative_row() -> None:
    rows = schedule(contract("1200", "USD", "2025-07-20", "2026-07-19"))
    assert amounts(rows) == minor(
        "39.45", "101.92", "98.63", "101.92", "98.63", "101.92", "101.91",
        "92.06", "101.92", "98.63", "101.91", "98.63", "62.47",
    )  # fmt: skip


def test_ex3_jpy_zero_decimals() -> None:
    rows = schedule(contract("100000", "JPY", "2024-02-10", "2024-05-09"))
    assert amounts(rows) == [22222, 34445, 33333, 10000]


def test_ex4_kwd_three_decimals_daily() -> None:
    kwd = contract("1000", "KWD", "2024-03-10", "2024-06-09")
    assert amounts(schedule(kwd)) == minor("239.130", "326.087", "336.957", "97.826", currency="KWD")
    assert [cumulative_at_period_end(kwd, Period(2024, m)) for m in (3, 4, 5, 6)] == [239130, 565217, 902174, 1000000]


def test_ex4_monthly_prorated_is_normalised_instead_of_overshooting() -> None:
    # The naive split (1000/3) × (22/31 + 1 + 1 + 9/30) = 1,003.226 KWD; ours is scaled to sum exactly.
    rows = schedule(contract("1000", "KWD", "2024-03-10", "2024-06-09", method=Method.MONTHLY_PRORATED))
    assert sum(amounts(rows)) == 1000000
    assert amounts(rows)[1] == amounts(rows)[2]  # the two full months weigh the same


def test_ex5_lifecycle_targets() -> None:
    c5 = contract("1200", "USD", "2024-01-01", "2024-12-31")
    assert [cumulative_at_period_end(c5, Period(2024, m)) for m in range(1, 6)] == minor(
        "101.64", "196.72", "298.36", "396.72", "498.36"
    )


def test_ex5b_cancellation_stops_recognition() -> None:
    c5 = contract("1200", "USD", "2024-01-01", "2024-12-31", cancel_date=date(2024, 6, 15))
    assert recognised_total(c5) == 54754
    assert scheduled_amount(c5, Period(2024, 6)) == 4918
    assert [scheduled_amount(c5, Period(2024, m)) for m in range(7, 13)] == [0] * 6
    assert [str(p) for p, _ in schedule(c5)][-1] == "2024-06"
    assert c5.amount - recognised_total(c5) == 65246  # the credit note, not revenue


def test_cancelled_before_service_recognises_nothing() -> None:
    c = contract("1200", "USD", "2024-01-01", "2024-12-31", cancel_date=date(2023, 12, 31))
    assert schedule(c) == []
    assert service_periods(c) == []
    assert recognised_total(c) == 0


def test_stripe_examples() -> None:
    assert amounts(schedule(contract("31", "USD", "2019-01-15", "2019-02-14"))) == [1700, 1400]
    year = amounts(schedule(contract("365", "USD", "2019-01-01", "2019-12-31")))
    assert year[:3] == [3100, 2800, 3100]
    assert sum(year) == 36500
    assert amounts(schedule(contract("120", "USD", "2026-06-15", "2026-10-12"))) == [1600, 3100, 3100, 3000, 1200]


def test_erpnext_days_example_under_cumulative_rounding() -> None:
    assert amounts(schedule(contract("100", "USD", "2019-01-10", "2019-03-15"))) == [3385, 4307, 2308]


def test_round_ratio_ties_go_away_from_zero() -> None:
    assert round_ratio(1, 1, 2) == 1
    assert round_ratio(-1, 1, 2) == -1
    assert round_ratio(5, 1, 2) == 3
    assert round_ratio(-5, 1, 2) == -3
    assert round_ratio(1, 1, 3) == 0


def test_fraction_and_recognised_to_date_are_date_functions() -> None:
    c = contract("366", "USD", "2024-01-01", "2024-12-31")
    assert fraction_delivered(c, date(2023, 12, 31))[0] == 0
    assert recognised_to_date(c, date(2024, 1, 10)) == 1000
    assert recognised_to_date(c, date(2030, 1, 1)) == 36600


def test_a_one_cent_contract_has_unavoidable_zero_months() -> None:
    rows = schedule(contract("0.01", "USD", "2024-01-01", "2024-12-31"))
    assert len(rows) == 12
    assert sum(amounts(rows)) == 1
    assert amounts(rows).count(0) == 11


# Invariants (reference/revrec.md §6.3) -------------------------------------------------------------------


@PROPERTIES
@given(contracts())
def test_schedule_sums_exactly_and_covers_only_service_months(c: Contract) -> None:
    rows = schedule(c)
    assert sum(amounts(rows)) == recognised_total(c)
    if c.cancel_date is None:
        assert recognised_total(c) == c.amount
    periods = [period for period, _ in rows]
    assert periods == service_periods(c)
    assert all(p.end >= c.start_date and p.start <= c.last_service_day for p in periods)


@PROPERTIES
@given(contracts(cancellable=False, method=st.just(Method.DAILY)))
def test_daily_periods_are_within_one_minor_unit_of_their_exact_share(c: Contract) -> None:
    for period, amount in schedule(c):
        first, last = max(period.start, c.start_date), min(period.end, c.end_date)
        days = (last - first).days + 1
        exact = Fraction(c.amount * days, c.total_days)
        assert abs(amount - exact) < 1


@PROPERTIES
@given(contracts())
def test_negating_the_amount_negates_every_period(c: Contract) -> None:
    negated = Contract(**{**_fields(c), "amount": -c.amount})  # type: ignore[arg-type]
    assert schedule(negated) == [(period, -amount) for period, amount in schedule(c)]


@PROPERTIES
@given(
    contracts(amount=st.integers(min_value=0, max_value=10**15)), st.lists(st.integers(-40, 4000), min_size=2, max_size=6)
)
def test_recognised_to_date_never_decreases_for_a_positive_contract(c: Contract, offsets: list[int]) -> None:
    days = sorted(c.start_date + timedelta(days=offset) for offset in offsets)
    values = [recognised_to_date(c, day) for day in days]
    assert values == sorted(values)
    assert all(0 <= value <= c.amount for value in values)
    assert all(amount >= 0 for _, amount in schedule(c))


@PROPERTIES
@given(contracts(), st.integers(min_value=0, max_value=130))
def test_prefix_stability(c: Contract, months: int) -> None:
    """Periods up to month m are the same whether or not later periods are computed."""
    full = schedule(c)
    first = Period.of(c.start_date)
    prefix = [(p, scheduled_amount(c, p)) for p in Period.range(first, Period.from_index(first.index + months))]
    assert [row for row in prefix if row in full] == full[: len([row for row in prefix if row in full])]
    assert all(amount == 0 for period, amount in prefix if period > Period.of(c.last_service_day))


@PROPERTIES
@given(contracts(method=st.just(Method.DAILY), cancellable=False), st.integers(1, 400))
def test_cumulative_at_a_date_depends_only_on_that_date(c: Contract, days: int) -> None:
    """Daily: recognised-to-date is round(amount × served/total); it is a pure function of the day."""
    day = c.start_date + timedelta(days=min(days, c.total_days) - 1)
    served = (day - c.start_date).days + 1
    assert recognised_to_date(c, day) == _round_half_up(Fraction(c.amount * served, c.total_days))


@PROPERTIES
@given(contracts(cancellable=False, method=st.sampled_from([Method.MONTHLY_EVEN, Method.MONTHLY_PRORATED])))
def test_monthly_methods_reach_exact_fractions_at_month_ends(c: Contract) -> None:
    periods = service_periods(c)
    shares = monthly_even_shares(c.start_date, c.end_date)
    assert shares in (len(periods), len(periods) - 1)
    for k, period in enumerate(periods[:-1], start=1):
        numerator, denominator = fraction_delivered(c, period.end)
        if c.method is Method.MONTHLY_EVEN:
            assert Fraction(numerator, denominator) == Fraction(min(k, shares), shares)
        else:
            assert 0 < Fraction(numerator, denominator) < 1


@PROPERTIES
@given(contracts(cancellable=False, method=st.just(Method.MONTHLY_EVEN)))
def test_monthly_even_shares_are_equal_within_one_minor_unit(c: Contract) -> None:
    shares = monthly_even_shares(c.start_date, c.end_date)
    rows = amounts(schedule(c))
    assert all(abs(amount - Fraction(c.amount, shares)) < 1 for amount in rows[:shares])
    assert rows[shares:] in ([], [0])


@PROPERTIES
@given(contracts(), st.lists(st.integers(-40, 4000), max_size=8))
def test_cumulative_at_days_is_cumulative_at_for_each_day(c: Contract, offsets: list[int]) -> None:
    days = [c.start_date.toordinal() + offset for offset in offsets]
    assert cumulative_at_days(c, days) == [cumulative_at(c, day) for day in days]


def _round_half_up(value: Fraction) -> int:
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def _fields(c: Contract) -> dict[str, object]:
    return {name: getattr(c, name) for name in Contract.__dataclass_fields__}

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferredrev.revrec.errors import PeriodError
from deferredrev.revrec.periods import Period, describe_periods


def test_parse_and_str() -> None:
    assert Period.parse("2026-10") == Period(2026, 10)
    assert str(Period(2026, 1)) == "2026-01"
    assert str(Period(999, 3)) == "0999-03"


@pytest.mark.parametrize(
    "text", ["2026-1", "2026/10", "26-10", "2026-13", "2026-00", "", "2026-10-01", "October", "２０２６-10"]
)
def test_parse_is_strict(text: str) -> None:
    with pytest.raises(PeriodError, match="YYYY-MM|month"):
        Period.parse(text)


def test_invalid_month_is_refused() -> None:
    with pytest.raises(PeriodError):
        Period(2026, 13)


def test_start_end_and_leap_years() -> None:
    assert Period(2024, 2).start == date(2024, 2, 1)
    assert Period(2024, 2).end == date(2024, 2, 29)
    assert Period(2023, 2).end == date(2023, 2, 28)
    assert Period(1900, 2).days == 28
    assert Period(2000, 2).days == 29
    assert Period(2026, 12).end == date(2026, 12, 31)


def test_navigation_and_order() -> None:
    assert Period(2026, 12).next() == Period(2027, 1)
    assert Period(2027, 1).previous() == Period(2026, 12)
    assert Period(2026, 2) < Period(2026, 10) < Period(2027, 1)
    assert sorted([Period(2027, 1), Period(2026, 5)]) == [Period(2026, 5), Period(2027, 1)]
    assert Period.of(date(2026, 10, 17)) == Period(2026, 10)
    assert Period(2026, 10).label == "Oct 2026"


def test_range_is_inclusive() -> None:
    assert Period.range(Period(2025, 11), Period(2026, 2)) == [
        Period(2025, 11),
        Period(2025, 12),
        Period(2026, 1),
        Period(2026, 2),
    ]
    assert Period.range(Period(2026, 2), Period(2026, 1)) == []


def test_describe_periods_names_runs() -> None:
    assert describe_periods([Period(2024, 2), Period(2024, 1)]) == "Jan–Feb 2024"
    assert (
        describe_periods([Period(2023, 11), Period(2023, 12), Period(2024, 1), Period(2024, 6)])
        == "Nov 2023–Jan 2024, Jun 2024"
    )
    assert describe_periods([Period(2024, 3)]) == "Mar 2024"


@given(st.dates(min_value=date(1, 2, 1), max_value=date(9999, 11, 30)))
def test_period_of_a_day_contains_it(day: date) -> None:
    period = Period.of(day)
    assert period.start <= day <= period.end
    assert period.next().start.toordinal() == period.end.toordinal() + 1
    assert Period.parse(str(period)) == period

"""The roll-forward over a range of months: billed in the billing month, recognised split by what was posted, released
on cancellation; months chain, the range ties, each month agrees with the one-month roll-forward, contracts add up to
the totals; the CSV and the range syntax."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.errors import PeriodError
from deferredrev.revrec.periods import Period
from deferredrev.revrec.reports import roll_forward
from deferredrev.revrec.rollforward import TOTAL, Movement, parse_range, roll_forward_csv, roll_forward_range
from deferredrev.revrec.schedule import cumulative_at_period_end, scheduled_amount
from tests.revrec.strategies import contracts

C5 = Contract("C-5", "Acme", 120000, "USD", date(2024, 1, 1), date(2024, 12, 31))
JAN, FEB, MAR, APR, DEC = Period(2024, 1), Period(2024, 2), Period(2024, 3), Period(2024, 4), Period(2024, 12)


def test_billed_at_the_start_by_default_and_nothing_before() -> None:
    report = roll_forward_range([C5], Period(2023, 11), FEB)
    usd = report.totals["USD"]
    assert usd[Period(2023, 12)] == Movement()
    assert usd[JAN] == Movement(0, 120000, 0, 10164, 0, 109836)
    assert usd[FEB].opening == 109836 and usd[FEB].billed == 0


def test_billed_in_advance_opens_the_months_before_the_service() -> None:
    report = roll_forward_range([replace(C5, billed_date=date(2023, 12, 15))], Period(2023, 12), JAN)
    assert report.totals["USD"][Period(2023, 12)] == Movement(0, 120000, 0, 0, 0, 120000)
    assert report.totals["USD"][JAN].opening == 120000


def test_billed_late_recognises_the_catch_up_in_the_billing_month_and_counts_what_was_posted_before() -> None:
    late = replace(C5, billed_date=date(2024, 3, 5))
    posted = {"C-5": {JAN: 10164, FEB: 9508}}
    march = roll_forward_range([late], JAN, MAR, posted=posted).totals["USD"]
    assert march[JAN] == march[FEB] == Movement()
    recognised = cumulative_at_period_end(C5, MAR)
    assert march[MAR] == Movement(0, 120000, 10164 + 9508, recognised - 10164 - 9508, 0, 120000 - recognised)


def test_recognised_splits_into_posted_and_not_yet_posted() -> None:
    posted = {"C-5": {JAN: 10164, MAR: 20000}}  # January posted, February not, March over-posted (contract cut since)
    usd = roll_forward_range([C5], JAN, MAR, posted=posted).totals["USD"]
    assert (usd[JAN].posted, usd[JAN].not_posted) == (10164, 0)
    assert (usd[FEB].posted, usd[FEB].not_posted) == (0, scheduled_amount(C5, FEB))
    assert usd[MAR].posted == 20000 and usd[MAR].not_posted == scheduled_amount(C5, MAR) - 20000 < 0
    report = roll_forward_range([C5], JAN, MAR, posted=posted)
    assert report.unposted_months("USD") == [FEB, MAR]


def test_a_cancellation_releases_the_unearned_part() -> None:
    cancelled = replace(C5, cancel_date=date(2024, 6, 15))
    usd = roll_forward_range([cancelled], Period(2024, 6), Period(2024, 7)).totals["USD"]
    assert usd[Period(2024, 6)].released == 120000 - cumulative_at_period_end(cancelled, Period(2024, 6))
    assert usd[Period(2024, 6)].closing == 0 and usd[Period(2024, 7)] == Movement()


def test_per_currency_and_per_contract_rows() -> None:
    other = replace(C5, contract_id="C-6", currency="EUR", customer="=cmd")
    report = roll_forward_range([C5, other, replace(C5, contract_id="C-7")], JAN, FEB)
    assert report.currencies == ["EUR", "USD"]
    assert [(r.period, r.contract_id) for r in report.contracts] == [
        (JAN, "C-6"), (JAN, "C-5"), (JAN, "C-7"), (FEB, "C-6"), (FEB, "C-5"), (FEB, "C-7"),
    ]  # fmt: skip
    assert report.totals["USD"][JAN].billed == 240000
    rows = list(csv.reader(io.StringIO(roll_forward_csv(report))))
    assert rows[0] == ["month", "currency", "contract_id", "customer", "opening", "billed", "recognised_posted",
                       "recognised_not_yet_posted", "released", "closing"]  # fmt: skip
    assert rows[1] == ["2024-01", "EUR", "C-6", "'=cmd", "0.00", "1200.00", "0.00", "101.64", "0.00", "1098.36"]
    assert ["2024-01", "USD", TOTAL, "", "0.00", "2400.00", "0.00", "203.28", "0.00", "2196.72"] in rows


def test_range_totals() -> None:
    report = roll_forward_range([C5], JAN, DEC, posted={"C-5": {JAN: 10164}})
    over = report.over_range("USD")
    assert over == Movement(0, 120000, 10164, 120000 - 10164, 0, 0)
    assert report.over_range("EUR") == Movement()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-01", (Period(2026, 1), Period(2026, 1))), (" 2025-11..2026-02 ", (Period(2025, 11), Period(2026, 2)))],
)
def test_parse_range(text: str, expected: tuple[Period, Period]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "2026-03..2026-01", "2020-01..2026-01", "2026-01..", "Jan 2026"])
def test_parse_range_refuses(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_range(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(contracts(max_days=900, first_day=date(2015, 1, 1), last_day=date(2030, 1, 1)), max_size=4),
    st.lists(st.integers(-400, 400), min_size=4, max_size=4),
    st.integers(0, 60),
    st.integers(0, 14),
)
def test_months_chain_tie_and_agree_with_the_one_month_roll_forward(
    contract_list: list[Contract], billing_shift: list[int], offset: int, length: int
) -> None:
    billed = [
        replace(c, contract_id=f"C-{n}", billed_date=c.start_date + timedelta(days=shift))
        for n, (c, shift) in enumerate(zip(contract_list, billing_shift, strict=False))
    ]
    first = Period.from_index(Period(2015, 1).index + offset)
    last = Period.from_index(first.index + length)
    report = roll_forward_range(billed, first, last)
    for currency, months in report.totals.items():
        previous = None
        for period, movement in months.items():
            assert movement.closing == movement.opening + movement.billed - movement.recognised - movement.released
            assert previous is None or movement.opening == previous.closing
            one_month = {row.currency: row for row in roll_forward(billed, period).rows}
            row = one_month.get(currency)
            expected = (row.opening, row.additions, row.recognised, row.released, row.closing) if row else (0,) * 5
            assert (movement.opening, movement.billed, movement.recognised, movement.released, movement.closing) == expected
            previous = movement
        over = report.over_range(currency)
        assert over.closing == over.opening + over.billed - over.recognised - over.released
        for period in months:
            rows = [r.movement for r in report.contracts if r.currency == currency and r.period == period]
            assert sum(rows, Movement()) == months[period]

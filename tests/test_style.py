"""The house style: periods, money, people, times, counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferredrev import style
from deferredrev.revrec.periods import Period


def test_periods_money_and_people() -> None:
    assert style.period(Period(2026, 10)) == style.period("2026-10") == "Oct 2026"
    assert style.money(4681252, "USD") == "46,812.52 USD"
    assert style.money(-12917, "USD") == "-129.17 USD"
    assert style.money(3100000, "JPY") == "3,100,000 JPY"
    assert style.money(1000, "KWD") == "1.000 KWD"
    assert style.money_list({"USD": 100, "EUR": 250}) == "2.50 EUR, 1.00 USD"
    assert style.person("U0APPROVE", "Bo Approver") == "Bo Approver (U0APPROVE)"
    assert style.person("U0APPROVE") == "U0APPROVE" and style.person(None) == "someone"


def test_changes_against_the_previous_period() -> None:
    assert style.change(110000, 100000, "USD") == "+100.00 USD (+10.0%)"
    assert style.change(90000, 100000, "USD") == "-100.00 USD (-10.0%)"
    assert style.change(100000, 0, "USD") == "+1,000.00 USD"  # no percentage of nothing
    assert style.change(5, 5, "USD") == "0.00 USD (0.0%)"


def test_times_in_the_workspace_time_zone() -> None:
    moment = datetime(2026, 11, 3, 20, 0, tzinfo=UTC)
    assert style.when(moment, "America/New_York") == "3 Nov 2026, 15:00 EST"
    assert style.when(moment) == "3 Nov 2026, 20:00 UTC"
    assert style.when(moment, "Not/AZone") == "3 Nov 2026, 20:00 UTC"  # an unknown zone falls back, never fails
    assert style.day(date(2026, 11, 30)) == "30 Nov 2026"


@pytest.mark.parametrize(
    ("number", "noun", "text"),
    [(1, "contract", "1 contract"), (2, "contract", "2 contracts"), (0, "entry", "0 entries"),
     (1, "entry", "1 entry"), (3, "day", "3 days"), (2, "batch", "2 batches"), (1200, "line pair", "1,200 line pairs")],
)  # fmt: skip
def test_counts_agree_with_their_nouns(number: int, noun: str, text: str) -> None:
    assert style.count(number, noun) == text


@pytest.mark.parametrize(
    ("word", "text"),
    [("Income", "an Income"), ("Expense", "an Expense"), ("Other Current Liability", "an Other Current Liability"),
     ("Liability", "a Liability"), ("Bank", "a Bank"), ("user", "a user"), ("hour", "an hour"), ("unit", "a unit")],
)  # fmt: skip
def test_a_or_an(word: str, text: str) -> None:
    assert style.article(word) == text


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
def test_money_always_ends_with_its_code_and_keeps_its_sign(amount: int, currency: str) -> None:
    text = style.money(amount, currency)
    assert text.endswith(" " + currency) and text.startswith("-") is (amount < 0)

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferredrev.revrec.errors import (
    ExcessPrecisionError,
    InvalidAmountError,
    MoneyError,
    RevrecError,
    UnknownCurrencyError,
)
from deferredrev.revrec.money import (
    CURRENCIES,
    NO_MINOR_UNIT_CODES,
    Currency,
    format_amount,
    get_currency,
    parse_amount,
    to_decimal,
)


@pytest.mark.parametrize(("code", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("UYW", 4)])
def test_exponents_come_from_the_pinned_iso_table(code: str, exponent: int) -> None:
    assert get_currency(code) == Currency(code, exponent)


def test_the_table_is_a_full_list_of_active_codes() -> None:
    assert len(CURRENCIES) > 150
    assert {"MGA", "HUF", "TWD", "ISK", "UGX", "VED", "ZWG", "XCD"} <= set(CURRENCIES)
    assert get_currency("MGA").exponent == 2  # Stripe's zero-decimal list is not ISO 4217
    assert get_currency("ISK").exponent == 0


@pytest.mark.parametrize("code", ["ABC", "usd", "", "HRK", "US", "USDD"])
def test_unknown_codes_are_refused(code: str) -> None:
    with pytest.raises(UnknownCurrencyError):
        get_currency(code)


@pytest.mark.parametrize("code", sorted(NO_MINOR_UNIT_CODES))
def test_units_without_minor_unit_are_refused(code: str) -> None:
    with pytest.raises(UnknownCurrencyError, match="no minor unit"):
        get_currency(code)


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("1200", "USD", 120000),
        ("1200.5", "USD", 120050),
        ("-12.34", "USD", -1234),
        ("1,200.00", "USD", 120000),
        ("1,234,567.89", "USD", 123456789),
        ("+0.01", "USD", 1),
        (" 7 ", "USD", 700),
        ("100000", "JPY", 100000),
        ("1,000", "JPY", 1000),
        ("1000.000", "KWD", 1000000),
        ("0.001", "KWD", 1),
        ("1.2345", "CLF", 12345),
        ("0", "CLF", 0),
    ],
)
def test_parse_amount(text: str, code: str, minor: int) -> None:
    assert parse_amount(text, code) == minor


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("100.5", "JPY", "JPY has no decimals; got 100.5"),
        ("1.005", "USD", "USD allows at most 2 decimals; got 1.005"),
        ("1.0001", "KWD", "KWD allows at most 3 decimals"),
        ("1.00001", "CLF", "CLF allows at most 4 decimals"),
    ],
)
def test_excess_precision_is_refused(text: str, code: str, message: str) -> None:
    with pytest.raises(ExcessPrecisionError, match=message):
        parse_amount(text, code)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "amount is empty"),
        ("   ", "amount is empty"),
        ("NaN", "not a number"),
        ("-inf", "not a number"),
        ("1e3", "exponents are not allowed"),
        ("1.5E+2", "exponents are not allowed"),
        ("abc", "not an amount"),
        ("12,00", "not an amount"),
        ("1,2345.00", "not an amount"),
        ("$100", "not an amount"),
        ("1.", "not an amount"),
        (".5", "not an amount"),
        ("--1", "not an amount"),
        ("1 000", "not an amount"),
        ("0x10", "not an amount"),
        ("١٢", "not an amount"),
    ],
)
def test_non_amounts_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidAmountError, match=message):
        parse_amount(text, "USD")


def test_huge_amounts_are_refused() -> None:
    with pytest.raises(InvalidAmountError, match="too large"):
        parse_amount("1" + "0" * 30, "USD")


def test_every_error_is_a_revrec_error() -> None:
    assert issubclass(UnknownCurrencyError, MoneyError)
    assert issubclass(ExcessPrecisionError, MoneyError)
    assert issubclass(MoneyError, RevrecError)
    assert issubclass(RevrecError, ValueError)


def test_decimal_text_is_exact_without_floats() -> None:
    # 0.1 + 0.2 != 0.3 in floats; in minor units it is exact.
    assert parse_amount("0.1", "USD") + parse_amount("0.2", "USD") == parse_amount("0.3", "USD")
    assert parse_amount("9007199254740993.01", "USD") == 900719925474099301  # beyond float precision


@pytest.mark.parametrize(
    ("minor", "code", "kwargs", "text"),
    [
        (120050, "USD", {}, "1,200.50"),
        (-1234, "USD", {}, "-12.34"),
        (5, "USD", {}, "0.05"),
        (-5, "USD", {}, "-0.05"),
        (120050, "USD", {"thousands": False}, "1200.50"),
        (120050, "USD", {"with_code": True}, "USD 1,200.50"),
        (100000, "JPY", {}, "100,000"),
        (1000000, "KWD", {}, "1,000.000"),
        (12345, "CLF", {"thousands": False}, "1.2345"),
        (0, "KWD", {}, "0.000"),
    ],
)
def test_format_amount(minor: int, code: str, kwargs: dict[str, bool], text: str) -> None:
    assert format_amount(minor, code, **kwargs) == text


def test_to_decimal_keeps_the_currency_decimals() -> None:
    assert to_decimal(120050, "USD") == Decimal("1200.50")
    assert str(to_decimal(120050, "USD")) == "1200.50"
    assert str(to_decimal(-1, "KWD")) == "-0.001"
    assert str(to_decimal(100, "JPY")) == "100"
    assert str(to_decimal(12345, "CLF")) == "1.2345"


@given(minor=st.integers(min_value=-(10**17), max_value=10**17), code=st.sampled_from(["USD", "JPY", "KWD", "CLF"]))
def test_format_then_parse_round_trips(minor: int, code: str) -> None:
    assert parse_amount(format_amount(minor, code), code) == minor
    assert parse_amount(format_amount(minor, code, thousands=False), code) == minor
    assert to_decimal(minor, code) == Decimal(format_amount(minor, code, thousands=False))

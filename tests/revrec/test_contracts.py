from __future__ import annotations

from datetime import date

import pytest

from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.errors import ContractError, UnknownCurrencyError


def make(**changes: object) -> Contract:
    fields: dict[str, object] = {
        "contract_id": "C-1",
        "customer": "Acme",
        "amount": 120000,
        "currency": "USD",
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 12, 31),
    }
    fields.update(changes)
    return Contract(**fields)  # type: ignore[arg-type]


def test_defaults() -> None:
    contract = make()
    assert contract.method is Method.DAILY
    assert contract.description == ""
    assert contract.cancel_date is None
    assert contract.total_days == 366
    assert contract.last_service_day == date(2024, 12, 31)
    assert contract.formatted_amount() == "USD 1,200.00"


def test_a_one_day_contract_is_valid() -> None:
    assert make(end_date=date(2024, 1, 1)).total_days == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end_date": date(2023, 12, 31)}, "end_date 2023-12-31 is before start_date 2024-01-01"),
        ({"cancel_date": date(2023, 12, 30)}, "cancel_date .* between 2023-12-31 and 2024-12-31"),
        ({"cancel_date": date(2025, 1, 1)}, "cancel_date"),
        ({"contract_id": " "}, "contract_id is empty"),
        ({"contract_id": "x" * 65}, "longer than 64"),
        ({"customer": ""}, "customer is empty"),
        ({"amount": 1.5}, "integer count of minor units"),
        ({"amount": True}, "integer count of minor units"),
        ({"amount": 10**19}, "too large"),
        ({"method": "daily"}, "method must be one of"),
    ],
)
def test_invalid_contracts_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        make(**changes)


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrencyError):
        make(currency="XAU")


def test_cancellation_bounds() -> None:
    assert not make(cancel_date=date(2023, 12, 31)).has_service
    assert make(cancel_date=date(2024, 1, 1)).has_service
    assert make(cancel_date=date(2024, 12, 31)).last_service_day == date(2024, 12, 31)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_date": date(1, 1, 1), "cancel_date": date(1, 1, 1)}, "start_date 0001-01-01 is out of range"),
        ({"end_date": date(9999, 12, 31)}, "end_date 9999-12-31 is out of range"),
        ({"start_date": date(1899, 12, 31)}, "start_date 1899-12-31 is out of range"),
    ],
)
def test_dates_near_the_ends_of_the_calendar_are_refused_not_overflowed(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        make(**changes)


def test_the_outermost_allowed_dates() -> None:
    contract = make(start_date=date(1900, 1, 1), end_date=date(9998, 12, 31), cancel_date=date(1900, 1, 1))
    assert contract.has_service and contract.total_days == (date(9998, 12, 31) - date(1900, 1, 1)).days + 1

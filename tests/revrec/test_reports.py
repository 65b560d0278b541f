from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.periods import Period
from deferredrev.revrec.reports import RollForwardRow, roll_forward, waterfall, waterfall_csv
from deferredrev.revrec.schedule import scheduled_amount
from tests.revrec.strategies import contracts


def c5(**changes: object) -> Contract:
    fields: dict[str, object] = {
        "contract_id": "C-5",
        "customer": "Acme",
        "amount": 120000,
        "currency": "USD",
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 12, 31),
    }
    fields.update(changes)
    return Contract(**fields)  # type: ignore[arg-type]


def test_roll_forward_of_a_plain_contract() -> None:
    (january,) = roll_forward([c5()], Period(2024, 1)).rows
    assert january == RollForwardRow("USD", opening=0, additions=120000, recognised=10164, released=0, closing=109836)
    (may,) = roll_forward([c5()], Period(2024, 5)).rows
    assert may == RollForwardRow("USD", opening=120000 - 39672, additions=0, recognised=10164, released=0, closing=70164)
    assert roll_forward([c5()], Period(2023, 12)).rows == ()


def test_ex5b_cancellation_releases_the_unearned_part() -> None:
    cancelled = c5(cancel_date=date(2024, 6, 15))
    (june,) = roll_forward([cancelled], Period(2024, 6)).rows
    assert june == RollForwardRow("USD", opening=70164, additions=0, recognised=4918, released=65246, closing=0)
    (july,) = roll_forward([cancelled], Period(2024, 7)).rows
    assert july == RollForwardRow("USD", opening=0, additions=0, recognised=0, released=0, closing=0)


def test_a_backdated_booking_recognises_the_catch_up_when_booked() -> None:
    (march,) = roll_forward([c5()], Period(2024, 3), booked_on={"C-5": date(2024, 3, 5)}).rows
    assert march == RollForwardRow("USD", opening=0, additions=120000, recognised=29836, released=0, closing=90164)
    assert roll_forward([c5()], Period(2024, 2), booked_on={"C-5": date(2024, 3, 5)}).rows == ()


def test_rows_are_per_currency() -> None:
    rows = roll_forward([c5(), c5(contract_id="C-6", currency="EUR")], Period(2024, 1)).rows
    assert [row.currency for row in rows] == ["EUR", "USD"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(contracts(max_days=900, first_day=date(2015, 1, 1), last_day=date(2030, 1, 1)), max_size=4), st.integers(0, 60)
)
def test_roll_forward_ties_out_and_chains(contract_list: list[Contract], offset: int) -> None:
    period = Period.from_index(Period(2015, 1).index + offset)
    this, following = roll_forward(contract_list, period), roll_forward(contract_list, period.next())
    closing = {row.currency: row.closing for row in this.rows}
    for row in this.rows:
        assert row.closing == row.opening + row.additions - row.recognised - row.released
    for row in following.rows:
        assert row.opening == closing.get(row.currency, 0)


def test_waterfall_and_csv() -> None:
    rows = waterfall(
        [c5(contract_id="=C-5"), c5(contract_id="C-1", currency="JPY", amount=1200)], Period(2023, 12), Period(2024, 2)
    )
    assert [row.contract_id for row in rows] == ["=C-5", "C-1"]  # sorted by contract id
    by_id = {row.contract_id: row for row in rows}
    assert by_id["=C-5"].amounts == {
        Period(2023, 12): 0,
        Period(2024, 1): 10164,
        Period(2024, 2): scheduled_amount(c5(), Period(2024, 2)),
    }
    text = waterfall_csv(rows, Period(2023, 12), Period(2024, 2))
    assert text.splitlines()[0] == "contract_id,customer,currency,2023-12,2024-01,2024-02"
    assert "'=C-5,Acme,USD,0.00,101.64,95.08" in text
    assert "C-1,Acme,JPY,0,102,95" in text

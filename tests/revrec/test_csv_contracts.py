from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.csv_contracts import (
    MAX_ROWS,
    LineError,
    contracts_to_csv,
    parse_contracts_csv,
    schedule_csv,
)
from deferredrev.revrec.periods import Period
from tests.revrec.strategies import contracts

HEADER = "contract_id,customer,amount,currency,start_date,end_date"
GOOD = 'C-1,Acme,"1,200.00",USD,2024-01-01,2024-12-31'


def errors(text: str) -> list[tuple[int, str | None, str]]:
    parsed = parse_contracts_csv(text)
    assert not parsed.ok and parsed.contracts == ()
    return [(error.line, error.column, error.message) for error in parsed.errors]


def test_a_good_file() -> None:
    text = (
        "\ufeff Contract_ID , customer,AMOUNT,currency,start_date,end_date,method,description,cancel_date\n"
        f"{GOOD},,,\n"
        "C-2,Beta,100000,jpy,2024-02-10,2024-05-09,monthly_even,Annual plan,2024-03-31\n"
        "\n"
    )
    parsed = parse_contracts_csv(text)
    assert parsed.ok and parsed.errors == ()
    first, second = parsed.contracts
    assert first == Contract("C-1", "Acme", 120000, "USD", date(2024, 1, 1), date(2024, 12, 31))
    assert second.currency == "JPY" and second.method is Method.MONTHLY_EVEN and second.cancel_date == date(2024, 3, 31)
    assert second.description == "Annual plan"


def test_columns_in_any_order() -> None:
    parsed = parse_contracts_csv(
        "end_date,start_date,currency,amount,customer,contract_id\n2024-12-31,2024-01-01,USD,5,A,C-1\n"
    )
    assert parsed.contracts[0].amount == 500


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("C-2,Acme,100,USD,2024-13-01,2024-12-31", "start_date", "not a real calendar date"),
        ("C-2,Acme,100,USD,01/02/2024,2024-12-31", "start_date", "must be a date like 2026-01-31"),
        ("C-2,Acme,100,USD,2024-02-01,2024-01-01", "end_date", "end_date 2024-01-01 is before start_date 2024-02-01"),
        ("C-2,Acme,100,ABC,2024-01-01,2024-12-31", "currency", "unknown currency 'ABC'"),
        ("C-2,Acme,100,XAU,2024-01-01,2024-12-31", "currency", "no minor unit"),
        ("C-2,Acme,100.5,JPY,2024-01-01,2024-12-31", "amount", "JPY has no decimals; got 100.5"),
        ("C-2,Acme,1.005,USD,2024-01-01,2024-12-31", "amount", "USD allows at most 2 decimals"),
        ("C-2,Acme,1e3,USD,2024-01-01,2024-12-31", "amount", "exponents are not allowed"),
        ("C-2,,100,USD,2024-01-01,2024-12-31", "customer", "customer is empty"),
        (",Acme,100,USD,2024-01-01,2024-12-31", "contract_id", "contract_id is empty"),
        ("C-2,Acme,100,USD,,2024-12-31", "start_date", "start_date is empty"),
    ],
)
def test_bad_rows_are_reported_with_line_and_column(row: str, column: str, message: str) -> None:
    (error,) = errors(f"{HEADER}\n{GOOD}\n{row}\n")
    assert error[:2] == (3, column)
    assert message in error[2]


def test_optional_columns_are_checked() -> None:
    text = f"{HEADER},method,cancel_date\n{GOOD},weekly,\nC-2,Acme,1,USD,2024-01-01,2024-12-31,daily,2025-01-01\n"
    assert errors(text) == [
        (2, "method", "method must be one of daily, monthly_even, monthly_prorated; got 'weekly'"),
        (3, "cancel_date", "cancel_date (last day of service) must be between 2023-12-31 and 2024-12-31; got 2025-01-01"),
    ]


def test_duplicates_name_the_first_line() -> None:
    assert errors(f"{HEADER}\n{GOOD}\nC-2,B,1,USD,2024-01-01,2024-01-31\n{GOOD}\n") == [
        (4, "contract_id", "duplicate contract_id 'C-1' (first on line 2)")
    ]


def test_wrong_number_of_fields() -> None:
    assert errors(f"{HEADER}\nC-1,Acme,1,USD,2024-01-01\n") == [(2, None, "expected 6 fields, found 5")]


def test_every_error_is_reported_all_or_nothing() -> None:
    text = f"{HEADER}\n{GOOD}\nC-2,,1.001,USD,2024-01-01,2023-01-01\nC-3,X,1,ABC,2024-01-01,2024-01-02\n"
    assert [(line, column) for line, column, _ in errors(text)] == [
        (3, "customer"),
        (3, "amount"),
        (3, "end_date"),
        (4, "currency"),
    ]


def test_line_numbers_are_physical_lines() -> None:
    text = f'{HEADER},description\n{GOOD},"two\nlines"\n\nC-2,Acme,1,USD,2024-01-01,bad,\n'
    assert errors(text) == [(5, "end_date", "end_date must be a date like 2026-01-31 (YYYY-MM-DD); got 'bad'")]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("contract_id,customer,amount,currency,start_date", "missing required column(s): end_date"),
        (f"{HEADER},colour", "unknown column(s) 'colour'; allowed: contract_id, customer, amount"),
        (f"{HEADER},amount", "column(s) named more than once: amount"),
    ],
)
def test_header_problems_are_reported_once_on_line_1(header: str, message: str) -> None:
    (error,) = errors(f"{header}\n{GOOD}\n")
    assert error[0] == 1 and message in error[2]


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
def test_empty_file(text: str) -> None:
    assert errors(text) == [
        (1, None, "the file is empty; expected a header row: contract_id, customer, amount, currency, start_date, end_date")
    ]


def test_header_only() -> None:
    assert errors(HEADER + "\n") == [(1, None, "the file has a header but no contracts")]


def test_malformed_csv() -> None:
    (error,) = errors(f'{HEADER}\n{GOOD}\nC-2,"unterminated,1,USD,2024-01-01,2024-01-31\n')
    assert error[0] == 3 and "malformed CSV" in error[2]


def test_too_many_rows() -> None:
    rows = "\n".join(f"C-{n},A,1,USD,2024-01-01,2024-01-31" for n in range(MAX_ROWS + 1))
    (error,) = errors(f"{HEADER}\n{rows}\n")
    assert error == (MAX_ROWS + 2, None, "the file has more than 50,000 contracts; split it into smaller files")


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("C-2,Acme,1,USD,0001-01-01,0001-12-31,0001-01-01", "start_date", "start_date 0001-01-01 is out of range"),
        ("C-2,Acme,1,USD,2024-01-01,9999-12-31,", "end_date", "end_date 9999-12-31 is out of range"),
        ("C-2,Acme,1,USD,2024-01-01,2024-12-31,0001-01-01", "cancel_date", "cancel_date 0001-01-01 is out of range"),
    ],
)
def test_dates_out_of_range_are_line_errors(row: str, column: str, message: str) -> None:
    found = errors(f"{HEADER},cancel_date\n{GOOD},\n{row}\n")
    assert (3, column) in [(line, where) for line, where, _ in found]
    assert any(message in text for _, _, text in found)


def test_nul_characters_are_refused_on_their_lines() -> None:
    text = f"{HEADER}\n{GOOD}\nC-2,Ac\x00me,1,USD,2024-01-01,2024-01-31\nC-3,A,1,USD,2024-01-01,2024-01-31\x00\n"
    assert errors(text) == [
        (3, None, "this line contains a NUL character; save the file as CSV UTF-8"),
        (4, None, "this line contains a NUL character; save the file as CSV UTF-8"),
    ]
    assert str(parse_contracts_csv("\x00" + HEADER).errors[0]).startswith("line 1: this line contains a NUL character")


def test_empty_trailing_columns_of_a_spreadsheet_export_are_ignored() -> None:
    parsed = parse_contracts_csv(f"{HEADER},,\n{GOOD},,\nC-2,B,1,USD,2024-01-01,2024-01-31\n")
    assert parsed.ok and [c.contract_id for c in parsed.contracts] == ["C-1", "C-2"]
    assert parsed.lines == (2, 3)


def test_a_value_under_an_unnamed_column_is_named_as_such() -> None:
    assert errors(f"{HEADER},,\n{GOOD},,\nC-2,B,1,USD,2024-01-01,2024-01-31,,oops\nC-3,B,1,USD,2024-01-01\n") == [
        (3, None, "column 8 has no name; name it in the header row or clear its values"),
        (4, None, "expected 6 to 8 fields, found 5"),
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("contract_id,,customer,amount,currency,start_date,end_date", ["column 2 has no name"]),
        (f" ,{HEADER}, ,", ["column 1 has no name"]),
        (f"{HEADER[:11]},, ,{HEADER[12:]}", ["column 2 has no name", "column 3 has no name"]),
    ],
)
def test_unnamed_columns_before_the_last_name_are_numbered(header: str, expected: list[str]) -> None:
    assert [message for _, _, message in errors(f"{header}\n{GOOD}\n")] == expected


def test_line_error_reads_well() -> None:
    assert str(LineError(3, "amount", "amount is empty")) == "line 3, amount: amount is empty"


def test_exports_neutralise_spreadsheet_formulas() -> None:
    risky = Contract("=HYPERLINK(1)", "+Acme", -100, "USD", date(2024, 1, 1), date(2024, 1, 31), description="@x")
    text = contracts_to_csv([risky])
    assert "'=HYPERLINK(1),'+Acme,-1.00" in text
    assert parse_contracts_csv(text).contracts == (risky,)


def test_schedule_csv() -> None:
    c = Contract("C-5", "Acme", 120000, "USD", date(2024, 1, 1), date(2024, 12, 31))
    j = Contract("C-1", "Beta", 100000, "JPY", date(2024, 2, 10), date(2024, 5, 9))
    text = schedule_csv([c, j], Period(2024, 2), Period(2024, 3))
    assert text.splitlines() == [
        "contract_id,customer,currency,period,amount",
        "C-1,Beta,JPY,2024-02,22222",
        "C-1,Beta,JPY,2024-03,34445",
        "C-5,Acme,USD,2024-02,95.08",
        "C-5,Acme,USD,2024-03,101.64",
    ]
    assert len(schedule_csv([c]).splitlines()) == 13


texts = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]), min_size=1, max_size=20)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(contracts(amount=st.integers(-(10**12), 10**12)), texts, texts), max_size=6))
def test_exported_csv_round_trips(rows: list[tuple[Contract, str, str]]) -> None:
    original = tuple(
        Contract(
            **{
                **{k: getattr(c, k) for k in Contract.__dataclass_fields__},
                "contract_id": f"{n}-{cid}",
                "customer": customer,
            }
        )
        for n, (c, cid, customer) in enumerate(rows)
    )
    text = contracts_to_csv(original)
    parsed = parse_contracts_csv(text)
    if not original:
        assert not parsed.ok
        return
    assert parsed.errors == ()
    assert parsed.contracts == original

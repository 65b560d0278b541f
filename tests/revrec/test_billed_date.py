"""The contracts CSV's optional ``billed_date``: the start date when absent, any real date when given (before, on or
after the start), refused by line like every other problem, kept by an export and a re-import."""

from __future__ import annotations

from datetime import date

from deferredrev.revrec.csv_contracts import contracts_to_csv, parse_contracts_csv

HEADER = "contract_id,customer,amount,currency,start_date,end_date,billed_date"


def test_billed_date_defaults_to_the_start_and_may_be_before_or_after_it() -> None:
    parsed = parse_contracts_csv(
        f"{HEADER}\nC-1,Acme,100,USD,2026-01-01,2026-12-31,\nC-2,Beta,100,USD,2026-01-01,2026-12-31,2025-12-15\n"
        "C-3,Gamma,100,USD,2026-01-01,2026-12-31,2026-03-05\n"
    )
    assert parsed.ok, parsed.errors
    assert [c.billed_on for c in parsed.contracts] == [date(2026, 1, 1), date(2025, 12, 15), date(2026, 3, 5)]
    assert parsed.contracts[0].billed_date is None
    without = parse_contracts_csv(
        "contract_id,customer,amount,currency,start_date,end_date\nC-1,A,1,USD,2026-01-01,2026-01-31\n"
    )
    assert without.contracts[0].billed_on == date(2026, 1, 1)


def test_bad_billed_dates_are_listed_by_line_and_nothing_is_imported() -> None:
    parsed = parse_contracts_csv(
        f"{HEADER}\nC-1,Acme,100,USD,2026-01-01,2026-12-31,2026-02-30\nC-2,Beta,100,USD,2026-01-01,2026-12-31,15/01/2026\n"
        "C-3,Gamma,100,USD,2026-01-01,2026-12-31,0001-01-01\nC-4,Delta,100,USD,2026-01-01,2026-12-31,2026-01-15\n"
    )
    assert parsed.contracts == ()
    assert [(e.line, e.column) for e in parsed.errors] == [(2, "billed_date"), (3, "billed_date"), (4, "billed_date")]
    assert "not a real calendar date" in parsed.errors[0].message and "YYYY-MM-DD" in parsed.errors[1].message


def test_export_and_reimport_keep_the_billed_date() -> None:
    parsed = parse_contracts_csv(
        f"{HEADER}\nC-1,Acme,100,USD,2026-01-01,2026-12-31,2025-12-15\nC-2,B,1,USD,2026-01-01,2026-01-31,\n"
    )
    text = contracts_to_csv(parsed.contracts)
    assert text.splitlines()[0].endswith(",cancel_date,billed_date")
    assert parse_contracts_csv(text).contracts == parsed.contracts

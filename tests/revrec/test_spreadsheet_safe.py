"""``spreadsheet_safe``, the one rule every CSV we write applies to its text cells: no cell a spreadsheet could run as
a formula, ordinary text untouched, amounts left as numbers, and exports that import back to the same contracts."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.csv_contracts import (
    FORMULA_CHARACTERS,
    contracts_to_csv,
    parse_contracts_csv,
    schedule_csv,
    spreadsheet_safe,
)
from deferredrev.revrec.periods import Period
from deferredrev.revrec.reports import waterfall, waterfall_csv

DANGEROUS = tuple(FORMULA_CHARACTERS)
# Formula characters, the whitespace and line breaks that may hide them, apostrophes; and any other character.
RISKY = [*FORMULA_CHARACTERS, " ", "\t", "\r", "\n", "\u3000", "\xa0", "\u2028", "'", "A", "1", "(", '"', ","]
cells = st.text(st.one_of(st.sampled_from(RISKY), st.characters(blacklist_categories=["Cs"])), max_size=12)
ordinary = st.from_regex(r"[A-Za-z0-9À-ÿ(\"#][\w .,&()/#:'\"*<>!?%=+@|-]{0,30}", fullmatch=True)


@given(cells)
def test_no_cell_we_write_starts_a_formula(value: str) -> None:
    cell = spreadsheet_safe(value)
    assert not cell.lstrip().startswith(DANGEROUS)
    assert not cell.startswith(("\t", "\r"))
    assert cell in (value, "'" + value)


@given(ordinary)
def test_ordinary_text_is_written_as_it_is(value: str) -> None:
    assert spreadsheet_safe(value) == value


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@SUM(A1)", "|calc", " =1+1", "\n=1+1", "\r\n@x", "\u3000=1", "＝1+1", "＋1", "－1", "＠x",
     " \t＝1", "\tplain", "\rplain", "'=1+1"],
)  # fmt: skip
def test_formula_starts_are_neutralised(value: str) -> None:
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme & Sons", "O'Brien Ltd", "C-1001", "2026-10", "Café Nord", "'quoted'", "a=b"])
def test_names_are_left_alone(value: str) -> None:
    assert spreadsheet_safe(value) == value


# The import trims cells, so names are trimmed here too; it refuses NUL characters. (A lone carriage return inside a
# cell is left out too: Python's csv writer, with "\n" line ends, doesn't quote it, so such a cell doesn't survive
# an export; nothing to do with formulas.)
risky_names = cells.map(str.strip).filter(lambda name: bool(name) and "\r" not in name and "\x00" not in name)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(risky_names, risky_names, risky_names | st.just("")), min_size=1, max_size=5))
def test_exports_import_back_to_the_same_contracts(rows: list[tuple[str, str, str]]) -> None:
    """The import takes one apostrophe off a neutralised cell: what we wrote comes back."""
    original = tuple(
        Contract(f"{contract_id}{n}", customer, -1200, "USD", date(2026, 1, 1), date(2026, 12, 31), description=text)
        for n, (contract_id, customer, text) in enumerate(rows)
    )
    parsed = parse_contracts_csv(contracts_to_csv(original))
    assert parsed.errors == () and parsed.contracts == original


def test_amounts_we_write_stay_numbers() -> None:
    """A credit's amounts are negative numbers: a spreadsheet reads "-12.00" as a number, never as a formula, so
    they are written as they are; text cells starting with "-" are still neutralised."""
    credit = Contract("-C1", "-Acme", -1200, "USD", date(2026, 1, 1), date(2026, 12, 31), description="- refund")
    exported = next(csv.DictReader(io.StringIO(contracts_to_csv([credit]))))
    assert (exported["contract_id"], exported["customer"], exported["description"]) == ("'-C1", "'-Acme", "'- refund")
    assert exported["amount"] == "-12.00"
    scheduled = list(csv.DictReader(io.StringIO(schedule_csv([credit]))))
    assert scheduled[0]["amount"] == "-1.02" and scheduled[0]["customer"] == "'-Acme"
    months = Period(2026, 1), Period(2026, 2)
    row = next(csv.DictReader(io.StringIO(waterfall_csv(waterfall([credit], *months), *months))))
    assert (row["contract_id"], row["2026-01"], row["2026-02"]) == ("'-C1", "-1.02", "-0.92")

"""The contracts overview and import answers validate with slack_sdk's models and stay within Slack's limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from deferredrev.bot import ids
from deferredrev.bot.blocks import contracts
from deferredrev.bot.blocks.messages import Message
from deferredrev.revrec.csv_contracts import LineError
from deferredrev.revrec.money import TWO_DECIMAL_CODES
from deferredrev.services.contract_stats import ContractState, ContractStats, CurrencyTotal
from deferredrev.services.contracts import ImportResult

DAY = date(2026, 10, 15)
EMPTY = ContractStats(DAY, dict.fromkeys(ContractState, 0), ())
SOME = ContractStats(
    DAY,
    {ContractState.ACTIVE: 30, ContractState.UPCOMING: 5, ContractState.ENDED: 4, ContractState.CANCELLED: 1},
    (CurrencyTotal("USD", 39, 1_234_567_89, 456_789_01), CurrencyTotal("JPY", 1, 1_000_000, 12_345)),
)
MANY_CURRENCIES = ContractStats(
    DAY,
    {ContractState.ACTIVE: 10**6},
    tuple(CurrencyTotal(code, 1, -(10**17), 10**17) for code in sorted(TWO_DECIMAL_CODES)),
)
FEW_ERRORS = [
    LineError(3, "amount", "USD allows at most 2 decimals; got 10.001"),
    LineError(4, "end_date", "end_date 2026-01-01 is before start_date 2026-02-01"),
    LineError(7, None, "expected 6 fields, found 5"),
]
MANY_ERRORS = [LineError(n, "customer", "<!channel> & " + "x" * 400) for n in range(2, 5002)]


def validate_blocks(blocks: list[dict[str, Any]], limit: int = 50) -> None:
    assert 0 < len(blocks) <= limit
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()


BUILDERS: dict[str, Callable[[], Message]] = {
    "empty admin": lambda: contracts.contracts_overview(EMPTY, can_import=True),
    "empty member": lambda: contracts.contracts_overview(EMPTY, can_import=False),
    "some admin": lambda: contracts.contracts_overview(SOME, can_import=True),
    "many currencies": lambda: contracts.contracts_overview(MANY_CURRENCIES, can_import=False),
    "few errors": lambda: contracts.import_errors_message(FEW_ERRORS, "contracts.csv"),
    "many errors": lambda: contracts.import_errors_message(MANY_ERRORS, "<!here>.csv" + "y" * 300),
    "done": lambda: contracts.import_done_message(ImportResult(38, 1, 1), "contracts.csv"),
    "done long name": lambda: contracts.import_done_message(ImportResult(0, 0, 0), "*" * 5000),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builders_validate(name: str) -> None:
    text, blocks = BUILDERS[name]()
    assert text.strip() and len(text) <= 3000
    validate_blocks(blocks)


def _buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_only_admins_get_the_import_button_and_others_learn_who_can_import() -> None:
    _, admin = contracts.contracts_overview(SOME, can_import=True)
    _, member = contracts.contracts_overview(SOME, can_import=False)
    assert _buttons(admin) == [ids.OPEN_IMPORT]
    assert _buttons(member) == []
    assert "workspace admins or owners, or people named as DeferredRev admins" in str(member)


def test_overview_shows_counts_and_totals_per_currency_with_their_codes() -> None:
    text, blocks = contracts.contracts_overview(SOME, can_import=True)
    assert text == "40 contracts: 30 active, 5 starting later, 4 ended, 1 cancelled"
    shown = str(blocks)
    assert "USD 1,234,567.89" in shown and "recognised to date USD 456,789.01" in shown
    assert "JPY 1,000,000" in shown and "JPY 12,345" in shown
    assert "2026-10-15" in shown


def test_empty_overview_says_how_to_start() -> None:
    text, blocks = contracts.contracts_overview(EMPTY, can_import=True)
    assert text == "No contracts yet."
    assert "contract_id,customer,amount,currency,start_date,end_date" in str(blocks)


def test_many_currencies_are_cut_with_a_count() -> None:
    lines = contracts.currency_lines(MANY_CURRENCIES.currencies)
    assert len(lines) <= 3000
    assert f"…and {len(TWO_DECIMAL_CODES) - contracts.MAX_CURRENCY_LINES} more currencies" in lines


def test_field_error_lists_the_first_problems_by_line() -> None:
    assert contracts.import_field_error(FEW_ERRORS) == [
        "Nothing was imported: 3 problems. The full list is in a message to you.",
        "Line 3, amount: USD allows at most 2 decimals; got 10.001",
        "Line 4, end_date: end_date 2026-01-01 is before start_date 2026-02-01",
        "Line 7: expected 6 fields, found 5",
    ]


def test_field_error_stays_within_2000_characters_and_counts_the_rest() -> None:
    short = [LineError(n, "amount", "amount is empty") for n in range(2, 40)]
    lines = contracts.import_field_error(short)
    assert len(lines) == 1 + contracts.FIELD_ERROR_LINES + 1
    assert lines[-1] == "…and 28 more"
    long = contracts.import_field_error(MANY_ERRORS)
    assert len("\n".join(long)) <= contracts.FIELD_ERROR_LIMIT
    assert long[0].startswith("Nothing was imported: 5,000 problems.")
    shown = len(long) - 2
    assert 0 < shown < contracts.FIELD_ERROR_LINES and long[-1] == f"…and {5000 - shown:,} more"


def test_error_message_lists_every_problem_when_they_fit() -> None:
    _, blocks = contracts.import_errors_message(FEW_ERRORS, "contracts.csv")
    shown = str(blocks)
    assert all(f"Line {error.line}" in shown for error in FEW_ERRORS)
    assert contracts.errors_left_out(FEW_ERRORS) == 0
    assert "full list is in the file" not in shown


def test_error_message_escapes_user_text_and_says_how_many_are_in_the_file() -> None:
    _, blocks = contracts.import_errors_message(MANY_ERRORS, "<!here>.csv")
    shown = str(blocks)
    assert "<!channel>" not in shown and "<!here>" not in shown
    assert "&lt;!channel&gt; &amp;" in shown
    left_out = contracts.errors_left_out(MANY_ERRORS)
    assert 0 < left_out < len(MANY_ERRORS)
    assert f"…and {left_out:,} more" in shown
    sections = [b for b in blocks if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)


def test_errors_as_text_holds_every_problem() -> None:
    text = contracts.errors_as_text(MANY_ERRORS, "big.csv")
    assert text.count("\nLine ") == len(MANY_ERRORS)
    assert "Line 5001, customer: <!channel> & " in text


def test_done_message_counts_new_updated_and_unchanged() -> None:
    text, _ = contracts.import_done_message(ImportResult(38, 2, 1), "c.csv")
    assert text == "Imported 38 new and updated 2 contracts (1 unchanged)"

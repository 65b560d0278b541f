"""Reading QuickBooks reports (reference §10.2): an account's balance on a day, and its transactions over a range.

Pure parsers over the report JSON, which has no wrapper key: ``Header``, ``Columns.Column[]`` and ``Rows.Row[]``,
where a row is a ``Section`` (``Header``, nested ``Rows``, ``Summary``) or a data row (one ``ColData`` per column,
values as strings, blanks ``""``). Columns are found by their ``ColKey`` (``MetaData``) when the report has them,
else by ``ColType`` (older responses put the key there).

- :func:`account_balance`: a BalanceSheet's figure for an account: its own balance (the data row with its id), or
  with its sub-accounts (a parent with sub-accounts is a Section headed by its id; its ``Summary`` is the total). An
  account without a balance is absent: zero.
- :func:`ledger_lines`: a GeneralLedger's transactions for one account (the "Beginning Balance" row and totals are
  left out), each with its date, type, id, number and amount as it moves the account's balance.

Amounts come back as :class:`~decimal.Decimal`; nothing here passes through a float.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "GL_COLUMNS",
    "LedgerLine",
    "ReportError",
    "account_balance",
    "balance_sheet_params",
    "general_ledger_params",
    "ledger_lines",
]

GL_COLUMNS = ("tx_date", "txn_type", "doc_num", "name", "memo", "subt_nat_amount", "rbal_nat_amount")


class ReportError(ValueError):
    """The report is not shaped as expected; the message says what was missing."""


@dataclass(frozen=True)
class LedgerLine:
    txn_date: date
    txn_type: str  # as QuickBooks labels it: "Journal Entry", "Invoice", "Credit Memo", ...
    txn_id: str | None
    doc_number: str
    name: str
    memo: str
    amount: Decimal  # how it moves the account's balance, in the report's sign


def balance_sheet_params(as_of: date) -> dict[str, str]:
    return {
        "start_date": as_of.replace(month=1, day=1).isoformat(),
        "end_date": as_of.isoformat(),
        "accounting_method": "Accrual",
        "summarize_column_by": "Total",
    }


def general_ledger_params(account_id: str, start: date, end: date) -> dict[str, str]:
    return {
        "account": account_id,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "accounting_method": "Accrual",
        "columns": ",".join(GL_COLUMNS),
    }


def account_balance(report: Mapping[str, Any], account_id: str, *, sub_accounts: bool = False) -> Decimal:
    """The balance-sheet figure of ``account_id``: its own balance, or with its sub-accounts; 0 when not shown."""
    money = _money_column(report)
    for row in _walk(_rows(report)):
        if row.get("type") == "Section" or "Header" in row:
            header = _cells(row.get("Header"))
            if sub_accounts and header and _id(header[0]) == account_id:
                summary = _cells(row.get("Summary"))
                return _amount(summary, money) if summary else Decimal("0")
        else:
            cells = _cells(row)
            if cells and _id(cells[0]) == account_id:
                return _amount(cells, money)
    return Decimal("0")


def ledger_lines(report: Mapping[str, Any], account_id: str) -> list[LedgerLine]:
    """The transactions of ``account_id`` in a GeneralLedger report (its own Section), oldest first."""
    columns = _column_keys(report)
    needed = ("tx_date", "subt_nat_amount")
    missing = [key for key in needed if key not in columns]
    if missing:
        raise ReportError(f"the GeneralLedger report has no {', '.join(missing)} column")
    for row in _walk(_rows(report)):
        header = _cells(row.get("Header")) if isinstance(row, Mapping) else []
        if header and _id(header[0]) == account_id:
            return list(_lines(row, columns))
    return []


def _lines(section: Mapping[str, Any], columns: dict[str, int]) -> Iterator[LedgerLine]:
    for row in _rows(section):
        if not isinstance(row, Mapping) or row.get("type") == "Section" or "Header" in row:
            continue
        cells = _cells(row)
        when = _value(cells, columns["tx_date"])
        try:
            txn_date = date.fromisoformat(when)
        except ValueError:
            continue  # "Beginning Balance" and other rows that are not a transaction
        kind_cell = _cell(cells, columns.get("txn_type"))
        yield LedgerLine(
            txn_date=txn_date,
            txn_type=_text(kind_cell.get("value")),
            txn_id=_id(kind_cell),
            doc_number=_value(cells, columns.get("doc_num")),
            name=_value(cells, columns.get("name")),
            memo=_value(cells, columns.get("memo")),
            amount=_decimal(_value(cells, columns["subt_nat_amount"])),
        )


def _rows(node: Mapping[str, Any]) -> list[Any]:
    rows = node.get("Rows")
    found = rows.get("Row") if isinstance(rows, Mapping) else None
    return list(found) if isinstance(found, list) else []


def _walk(rows: Sequence[Any]) -> Iterator[Mapping[str, Any]]:
    """Every row, depth first; a Section before its rows."""
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        yield row
        yield from _walk(_rows(row))


def _cells(node: Any) -> list[Mapping[str, Any]]:
    cells = node.get("ColData") if isinstance(node, Mapping) else None
    return [c if isinstance(c, Mapping) else {} for c in cells] if isinstance(cells, list) else []


def _cell(cells: Sequence[Mapping[str, Any]], index: int | None) -> Mapping[str, Any]:
    return cells[index] if index is not None and 0 <= index < len(cells) else {}


def _value(cells: Sequence[Mapping[str, Any]], index: int | None) -> str:
    return _text(_cell(cells, index).get("value"))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _id(cell: Mapping[str, Any]) -> str | None:
    value = cell.get("id")
    return None if value in (None, "") else str(value)


def _columns(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    columns = report.get("Columns")
    found = columns.get("Column") if isinstance(columns, Mapping) else None
    return [c for c in found if isinstance(c, Mapping)] if isinstance(found, list) else []


def _key(column: Mapping[str, Any]) -> str:
    for item in column.get("MetaData") or ():
        if isinstance(item, Mapping) and item.get("Name") == "ColKey":
            return _text(item.get("Value"))
    return _text(column.get("ColType"))


def _column_keys(report: Mapping[str, Any]) -> dict[str, int]:
    return {_key(column): index for index, column in enumerate(_columns(report))}


def _money_column(report: Mapping[str, Any]) -> int:
    """The balance-sheet amount column: the one keyed ``total``, else the first Money column, else the second."""
    columns = _columns(report)
    keys = [_key(column) for column in columns]
    if "total" in keys:
        return keys.index("total")
    for index, column in enumerate(columns):
        if column.get("ColType") == "Money":
            return index
    return 1


def _amount(cells: Sequence[Mapping[str, Any]], index: int) -> Decimal:
    return _decimal(_value(cells, index))


def _decimal(text: str) -> Decimal:
    cleaned = text.replace(",", "").strip()
    if not cleaned:
        return Decimal("0")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ReportError(f"not an amount in the report: {text!r}") from None
    if not value.is_finite():
        raise ReportError(f"not an amount in the report: {text!r}")
    return value

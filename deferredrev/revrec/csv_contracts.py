"""Contracts CSV: all-or-nothing import with every problem reported by line, and exports.

Import format: a header row naming the columns ``contract_id, customer, amount, currency, start_date, end_date``
and optionally ``method, description, cancel_date, billed_date``, in any order (names are case-insensitive and trimmed; a
UTF-8 byte-order mark is ignored). Amounts are in major units with the currency's decimals at most ("1,200.50");
dates are YYYY-MM-DD between 1900-01-01 and 9998-12-31; ``method`` defaults to daily; ``cancel_date`` is the last day
of service; ``billed_date`` is the day the amount entered Deferred Revenue (an invoice), the start date when empty.
Blank lines are skipped, and so are unnamed columns at the end of the header when every value in them is
empty (what a spreadsheet exports). Line numbers are physical lines of the file (the header is line 1), so a quoted
field spanning two lines counts as two. A file must be UTF-8 text without NUL characters.

Text cells that a spreadsheet could run as a formula are written with a leading apostrophe (:func:`spreadsheet_safe`,
used by every CSV we write), which the import removes again, so exports are safe to open and round-trip.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from deferredrev.revrec.contracts import (
    MAX_CONTRACT_ID_LENGTH,
    MAX_CUSTOMER_LENGTH,
    Contract,
    Method,
    date_out_of_range,
)
from deferredrev.revrec.errors import RevrecError
from deferredrev.revrec.money import format_amount, get_currency, parse_amount
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import schedule

REQUIRED_COLUMNS = ("contract_id", "customer", "amount", "currency", "start_date", "end_date")
OPTIONAL_COLUMNS = ("method", "description", "cancel_date", "billed_date")
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_ROWS = 50_000

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# What a spreadsheet may take for the start of a formula (or of DDE, "|"): these characters and their full-width
# forms, even after leading spaces or line breaks; and a cell that starts with a tab or a carriage return.
FORMULA_CHARACTERS = "=+-@|＝＋－＠"
_FORMULA_START = re.compile(rf"'*(?:[\t\r]|\s*[{re.escape(FORMULA_CHARACTERS)}])")
SAVE_AS_CSV_UTF8 = "Save it as “CSV UTF-8 (Comma delimited)” (Excel) or download it as CSV (Google Sheets)"


class NotUtf8Error(ValueError):
    """The file's bytes are not UTF-8 text; the message names the file and says how to save it so they are."""


def decode_contracts_csv(content: bytes, *, name: str, then: str = "upload it again") -> str:
    """The text of a contracts file's bytes (UTF-8, a byte-order mark is fine); :class:`NotUtf8Error` otherwise.

    ``then`` ends the advice: what the person does once the file is saved again (upload it, import it).
    """
    advice = f"{name} isn't UTF-8 text. {SAVE_AS_CSV_UTF8}, then {then}."
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotUtf8Error(f"{advice} (It is UTF-16.)")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotUtf8Error(f"{advice} (Byte {error.start + 1} is not UTF-8.)") from None


@dataclass(frozen=True, slots=True)
class LineError:
    line: int  # physical line in the file, the header being line 1
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ContractsFile:
    contracts: tuple[Contract, ...]
    errors: tuple[LineError, ...]
    lines: tuple[int, ...] = ()  # the line each contract was read from, in the same order

    def line_numbers(self) -> dict[str, int]:
        """contract_id -> the line it was read from."""
        return {contract.contract_id: line for contract, line in zip(self.contracts, self.lines, strict=True)}

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_contracts_csv(text: str) -> ContractsFile:
    """Every contract in the file, or (all-or-nothing) no contracts and every error found."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        return _failed(*_nul_errors(text))
    records = _records(text)
    header = next(records, None)
    if header is None:
        return _failed(LineError(1, None, f"the file is empty; expected a header row: {', '.join(REQUIRED_COLUMNS)}"))
    if isinstance(header[1], LineError):
        return _failed(header[1])
    layout = _read_header(header[1])
    if layout.errors:
        return _failed(*layout.errors)
    parser = _RowParser(layout)
    for line, fields in records:
        if isinstance(fields, LineError):
            return _failed(*parser.errors, fields)
        if parser.rows == MAX_ROWS:
            return _failed(
                LineError(line, None, f"the file has more than {MAX_ROWS:,} contracts; split it into smaller files")
            )
        parser.parse(line, fields)
    if parser.rows == 0:
        return _failed(LineError(1, None, "the file has a header but no contracts"))
    if parser.errors:
        return _failed(*parser.errors)
    return ContractsFile(tuple(parser.contracts), (), tuple(parser.lines))


def contracts_to_csv(contracts: Iterable[Contract]) -> str:
    """All columns, one row per contract, amounts without thousands separators; re-imports to the same contracts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ALL_COLUMNS)
    for contract in contracts:
        writer.writerow(
            [
                spreadsheet_safe(contract.contract_id),
                spreadsheet_safe(contract.customer),
                format_amount(contract.amount, contract.currency, thousands=False),
                contract.currency,
                contract.start_date.isoformat(),
                contract.end_date.isoformat(),
                contract.method.value,
                spreadsheet_safe(contract.description),
                contract.cancel_date.isoformat() if contract.cancel_date else "",
                contract.billed_date.isoformat() if contract.billed_date else "",
            ]
        )
    return buffer.getvalue()


def schedule_csv(contracts: Iterable[Contract], first: Period | None = None, last: Period | None = None) -> str:
    """contract_id, customer, currency, period, amount for each scheduled month within ``first``..``last``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["contract_id", "customer", "currency", "period", "amount"])
    for contract in sorted(contracts, key=lambda contract: contract.contract_id):
        for period, amount in schedule(contract):
            if (first is None or period >= first) and (last is None or period <= last):
                writer.writerow(
                    [
                        spreadsheet_safe(contract.contract_id),
                        spreadsheet_safe(contract.customer),
                        contract.currency,
                        str(period),
                        format_amount(amount, contract.currency, thousands=False),
                    ]
                )
    return buffer.getvalue()


def spreadsheet_safe(value: str) -> str:
    """A text cell for every CSV we write: ``value`` with a leading apostrophe if a spreadsheet could run it as a
    formula (see :data:`FORMULA_CHARACTERS`), or if it already starts with apostrophes before one (so the import,
    which takes one apostrophe off, gives back the value). Amounts are not text: we write them as plain numbers
    (``-1200.50``), which a spreadsheet reads as numbers and never as formulas, so they don't come through here."""
    return "'" + value if _FORMULA_START.match(value) else value


def _from_spreadsheet(value: str) -> str:
    """The import's half of :func:`spreadsheet_safe`."""
    return value[1:] if value.startswith("'") and _FORMULA_START.match(value, 1) else value


def _failed(*errors: LineError) -> ContractsFile:
    return ContractsFile((), tuple(errors))


def _nul_errors(text: str) -> Iterator[LineError]:
    """One error per physical line holding a NUL character (no database stores one in text)."""
    for line, content in enumerate(io.StringIO(text, newline=""), start=1):
        if "\x00" in content:
            yield LineError(line, None, "this line contains a NUL character; save the file as CSV UTF-8")


def _records(text: str) -> Iterator[tuple[int, list[str] | LineError]]:
    """(first physical line, fields) for each non-blank record; a LineError where the CSV itself is malformed."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    next_line = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield next_line, LineError(next_line, None, f"malformed CSV: {error}")
            return
        line, next_line = next_line, reader.line_num + 1
        if any(field.strip() for field in fields):
            yield line, fields


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each named column is, how many fields the header has, and what is wrong with it."""

    columns: dict[str, int]
    width: int  # fields in the header, unnamed trailing columns included
    named_width: int  # fields up to the last named column
    errors: list[LineError]


def _read_header(fields: list[str]) -> _Layout:
    everything = [field.strip().lower() for field in fields]
    named_width = len(everything)
    while named_width and not everything[named_width - 1]:
        named_width -= 1  # unnamed columns at the end (a spreadsheet's export): ignored while their values are empty
    errors = [
        LineError(1, None, f"column {position + 1} has no name")
        for position, name in enumerate(everything[:named_width])
        if not name
    ]
    names = [name for name in everything[:named_width] if name]
    unknown = [name for name in names if name not in ALL_COLUMNS]
    if unknown:
        allowed = ", ".join(ALL_COLUMNS)
        errors.append(LineError(1, None, f"unknown column(s) {', '.join(map(repr, unknown))}; allowed: {allowed}"))
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        errors.append(LineError(1, None, f"column(s) named more than once: {', '.join(repeated)}"))
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        errors.append(LineError(1, None, f"missing required column(s): {', '.join(missing)}"))
    columns = {name: position for position, name in enumerate(everything[:named_width]) if name}
    return _Layout(columns, len(fields), named_width, errors)


class _RowParser:
    """Parses data rows one at a time, collecting contracts and errors."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.rows = 0
        self.contracts: list[Contract] = []
        self.lines: list[int] = []
        self.errors: list[LineError] = []
        self.first_line_of: dict[str, int] = {}

    def parse(self, line: int, fields: list[str]) -> None:
        self.rows += 1
        layout = self.layout
        if not layout.named_width <= len(fields) <= layout.width:
            expected = str(layout.width) if layout.width == layout.named_width else f"{layout.named_width} to {layout.width}"
            self.errors.append(LineError(line, None, f"expected {expected} fields, found {len(fields)}"))
            return
        for position in range(layout.named_width, len(fields)):
            if fields[position].strip():
                unnamed = f"column {position + 1} has no name; name it in the header row or clear its values"
                self.errors.append(LineError(line, None, unnamed))
        values = {name: _from_spreadsheet(fields[position].strip()) for name, position in layout.columns.items()}
        row = _Row(line, values)
        contract = row.contract()
        self.errors.extend(row.errors)
        self._check_duplicate(line, values["contract_id"])
        if contract is not None and not row.errors:
            self.contracts.append(contract)
            self.lines.append(line)

    def _check_duplicate(self, line: int, contract_id: str) -> None:
        if not contract_id:
            return
        first = self.first_line_of.setdefault(contract_id, line)
        if first != line:
            self.errors.append(
                LineError(line, "contract_id", f"duplicate contract_id {contract_id!r} (first on line {first})")
            )


class _Row:
    """One data row's values and the errors found reading them."""

    def __init__(self, line: int, values: dict[str, str]) -> None:
        self.line = line
        self.values = values
        self.errors: list[LineError] = []

    def contract(self) -> Contract | None:
        contract_id = self._text("contract_id", MAX_CONTRACT_ID_LENGTH)
        customer = self._text("customer", MAX_CUSTOMER_LENGTH)
        currency = self._currency()
        amount = self._amount(currency)
        start, end = self._date("start_date"), self._date("end_date")
        method = self._method()
        cancel = self._date("cancel_date", required=False)
        billed = self._date("billed_date", required=False)
        self._check_dates(start, end, cancel)
        if (
            self.errors
            or contract_id is None
            or customer is None
            or currency is None
            or amount is None
            or start is None
            or end is None
            or method is None
        ):
            return None
        try:
            return Contract(
                contract_id=contract_id,
                customer=customer,
                amount=amount,
                currency=currency,
                start_date=start,
                end_date=end,
                method=method,
                description=self.values.get("description", ""),
                cancel_date=cancel,
                billed_date=billed,
            )
        except RevrecError as error:
            self._error(None, str(error))
            return None

    def _error(self, column: str | None, message: str) -> None:
        self.errors.append(LineError(self.line, column, message))

    def _required(self, column: str) -> str | None:
        value = self.values.get(column, "")
        if not value:
            self._error(column, f"{column} is empty")
            return None
        return value

    def _text(self, column: str, max_length: int) -> str | None:
        value = self._required(column)
        if value is not None and len(value) > max_length:
            self._error(column, f"{column} is longer than {max_length} characters")
            return None
        return value

    def _currency(self) -> str | None:
        value = self._required("currency")
        if value is None:
            return None
        code = value.upper()
        try:
            get_currency(code)
        except RevrecError as error:
            self._error("currency", str(error))
            return None
        return code

    def _amount(self, currency: str | None) -> int | None:
        value = self._required("amount")
        if value is None or currency is None:
            return None
        try:
            return parse_amount(value, currency)
        except RevrecError as error:
            self._error("amount", str(error))
            return None

    def _date(self, column: str, *, required: bool = True) -> date | None:
        value = self.values.get(column, "")
        if not value:
            if required:
                self._error(column, f"{column} is empty")
            return None
        if not _DATE.fullmatch(value):
            self._error(column, f"{column} must be a date like 2026-01-31 (YYYY-MM-DD); got {value!r}")
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self._error(column, f"{column} {value!r} is not a real calendar date")
            return None
        problem = date_out_of_range(column, parsed)
        if problem:
            self._error(column, problem)
            return None
        return parsed

    def _method(self) -> Method | None:
        value = self.values.get("method", "").lower()
        if not value:
            return Method.DAILY
        try:
            return Method(value)
        except ValueError:
            self._error("method", f"method must be one of {', '.join(Method)}; got {value!r}")
            return None

    def _check_dates(self, start: date | None, end: date | None, cancel: date | None) -> None:
        if start is None or end is None:
            return
        if end < start:
            self._error("end_date", f"end_date {end} is before start_date {start}")
        elif cancel is not None and not start - timedelta(days=1) <= cancel <= end:
            self._error(
                "cancel_date",
                f"cancel_date (last day of service) must be between {start - timedelta(days=1)} and {end}; got {cancel}",
            )

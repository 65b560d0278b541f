"""The few QuickBooks objects the app uses, as frozen dataclasses with snake_case fields and Decimal money.

``from_api`` reads Intuit's PascalCase JSON (parsed with ``parse_float=Decimal`` so no amount ever passes through a
float); ``to_api`` builds it. :func:`dumps` serialises a payload holding Decimals exactly (``1250.00`` stays
``1250.00``), which the standard ``json`` module cannot do without going through float.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deferredrev.qbo.errors import QboError

__all__ = [
    "AMOUNT_CEILING",
    "Account",
    "BatchItem",
    "BatchResult",
    "CompanyInfo",
    "JournalEntry",
    "JournalEntryLine",
    "JournalEntryRequest",
    "PostingType",
    "Preferences",
    "TokenSet",
    "amount_problem",
    "dumps",
]

MAX_DOC_NUMBER = 21
MAX_PRIVATE_NOTE = 4000
MAX_DESCRIPTION = 4000
MAX_AMOUNT_PLACES = 5
MAX_AMOUNT_DIGITS = 15
# QuickBooks' line amounts are "max 15 digits in 10.5 format": at most 10 digits before the point, 5 after.
AMOUNT_CEILING = Decimal(10) ** (MAX_AMOUNT_DIGITS - MAX_AMOUNT_PLACES)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_HIDDEN = "<hidden>"


@dataclass(frozen=True)
class TokenSet:
    """Tokens from Intuit's token endpoint with absolute expiry times. ``repr`` never shows the tokens."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    hard_expires_at: datetime | None = None
    realm_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token={_HIDDEN}, refresh_token={_HIDDEN}, "
            f"access_expires_at={self.access_expires_at.isoformat()}, "
            f"refresh_expires_at={self.refresh_expires_at.isoformat() if self.refresh_expires_at else None}, "
            f"hard_expires_at={self.hard_expires_at.isoformat() if self.hard_expires_at else None}, "
            f"realm_id={self.realm_id!r})"
        )

    __str__ = __repr__

    def access_expired(self, now: datetime, *, leeway: timedelta = timedelta(0)) -> bool:
        """Whether the access token is expired at ``now`` (or will be within ``leeway``)."""
        return now + leeway >= self.access_expires_at


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    fully_qualified_name: str
    account_type: str
    account_sub_type: str | None
    classification: str | None
    active: bool
    currency: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Account:
        name = _str(data.get("Name"))
        return cls(
            id=_str(data["Id"]),
            name=name,
            fully_qualified_name=_str(data.get("FullyQualifiedName")) or name,
            account_type=_str(data.get("AccountType")),
            account_sub_type=_opt_str(data.get("AccountSubType")),
            classification=_opt_str(data.get("Classification")),
            active=data.get("Active", True) is not False,
            currency=_ref_value(data.get("CurrencyRef")),
        )


@dataclass(frozen=True)
class CompanyInfo:
    """The company's name and country (ISO 3166 alpha-3 when QuickBooks gives one)."""

    realm_id: str
    company_name: str
    legal_name: str | None
    country: str | None
    fiscal_year_start_month: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, realm_id: str) -> CompanyInfo:
        # Address countries are ISO 3166 alpha-3 ("USA") since 2025; the top-level Country may be alpha-2 ("US").
        country = _opt_str(_mapping(data.get("CompanyAddr")).get("Country")) or _opt_str(data.get("Country"))
        return cls(
            realm_id=realm_id,
            company_name=_str(data.get("CompanyName")),
            legal_name=_opt_str(data.get("LegalName")),
            country=country,
            fiscal_year_start_month=_opt_str(data.get("FiscalYearStartMonth")),
        )


@dataclass(frozen=True)
class Preferences:
    book_close_date: date | None
    multicurrency_enabled: bool
    home_currency: str | None
    warn_duplicate_doc_number: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Preferences:
        accounting = _mapping(data.get("AccountingInfoPrefs"))
        currency = _mapping(data.get("CurrencyPrefs"))
        other = _mapping(data.get("OtherPrefs"))
        close = _opt_str(accounting.get("BookCloseDate"))
        warn = False
        for pair in other.get("NameValue") or []:
            if isinstance(pair, Mapping) and pair.get("Name") == "WarnDuplicateJournalNumber":
                warn = str(pair.get("Value", "")).strip().lower() == "true"
        return cls(
            book_close_date=date.fromisoformat(close[:10]) if close else None,
            multicurrency_enabled=currency.get("MultiCurrencyEnabled") is True,
            home_currency=_ref_value(currency.get("HomeCurrency")),
            warn_duplicate_doc_number=warn,
        )


class PostingType(StrEnum):
    DEBIT = "Debit"
    CREDIT = "Credit"


def amount_problem(amount: Decimal) -> str | None:
    """Why QuickBooks would refuse ``amount`` as a journal line amount, or ``None`` if it takes it. The one rule for
    both the preview (which blocks such a line before approval) and :class:`JournalEntryLine` (which refuses to
    build it): at most 5 decimal places and under 10,000,000,000, compared exactly (no rounding), so
    9,999,999,999.99 passes and 10,000,000,000 does not. The sign is the caller's business (lines are positive)."""
    if not amount.is_finite():
        return "amount must be a finite Decimal"
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_AMOUNT_PLACES:
        return f"amount {amount} has more than {MAX_AMOUNT_PLACES} decimal places"
    if abs(amount) >= AMOUNT_CEILING:
        return (
            f"amount {amount} is too large for QuickBooks "
            f"(at most {MAX_AMOUNT_DIGITS - MAX_AMOUNT_PLACES} digits before the decimal point)"
        )
    return None


@dataclass(frozen=True)
class JournalEntryLine:
    posting_type: PostingType
    account_id: str
    account_name: str | None
    amount: Decimal
    description: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "posting_type", PostingType(self.posting_type))
        if not isinstance(self.amount, Decimal):
            raise TypeError("amount must be a Decimal")
        if not self.amount.is_finite() or self.amount < 0:
            raise ValueError("amount must be a finite, non-negative Decimal (swap the posting type instead)")
        problem = amount_problem(self.amount)
        if problem is not None:
            raise ValueError(problem)
        if not self.account_id:
            raise ValueError("account_id is required")
        if self.description is not None and len(self.description) > MAX_DESCRIPTION:
            raise ValueError(f"description is longer than {MAX_DESCRIPTION} characters")

    def to_api(self) -> dict[str, Any]:
        account_ref: dict[str, Any] = {"value": self.account_id}
        if self.account_name:
            account_ref["name"] = self.account_name
        line: dict[str, Any] = {"Amount": self.amount, "DetailType": "JournalEntryLineDetail"}
        if self.description:
            line["Description"] = self.description
        line["JournalEntryLineDetail"] = {"PostingType": self.posting_type.value, "AccountRef": account_ref}
        return line

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> JournalEntryLine | None:
        """The line, or ``None`` for lines that are not journal lines (e.g. ``DescriptionOnly``)."""
        detail = data.get("JournalEntryLineDetail")
        if not isinstance(detail, Mapping):
            return None
        ref = _mapping(detail.get("AccountRef"))
        return cls(
            posting_type=PostingType(_str(detail.get("PostingType"))),
            account_id=_str(ref.get("value")),
            account_name=_opt_str(ref.get("name")),
            amount=_decimal(data.get("Amount", 0)),
            description=_opt_str(data.get("Description")),
        )


@dataclass(frozen=True)
class JournalEntryRequest:
    """A journal entry to create. Validated like QuickBooks would: balanced, at least one debit and one credit."""

    doc_number: str | None
    txn_date: date
    private_note: str | None
    lines: tuple[JournalEntryLine, ...]
    currency: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if self.doc_number is not None and not 0 < len(self.doc_number) <= MAX_DOC_NUMBER:
            raise ValueError(f"doc_number must be 1 to {MAX_DOC_NUMBER} characters")
        if self.private_note is not None and len(self.private_note) > MAX_PRIVATE_NOTE:
            raise ValueError(f"private_note is longer than {MAX_PRIVATE_NOTE} characters")
        if self.currency is not None and not _CURRENCY.match(self.currency):
            raise ValueError("currency must be an ISO 4217 code such as USD")
        debits = [line.amount for line in self.lines if line.posting_type is PostingType.DEBIT]
        credits = [line.amount for line in self.lines if line.posting_type is PostingType.CREDIT]
        if not debits or not credits:
            raise ValueError("a journal entry needs at least one debit and one credit line")
        if sum(debits, Decimal(0)) != sum(credits, Decimal(0)):
            raise ValueError("debits and credits do not balance")

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.posting_type is PostingType.DEBIT), Decimal(0))

    def to_api(self) -> dict[str, Any]:
        """The JSON object to POST; amounts stay Decimal (serialise with :func:`dumps`)."""
        body: dict[str, Any] = {"TxnDate": self.txn_date.isoformat()}
        if self.doc_number is not None:
            body["DocNumber"] = self.doc_number
        if self.private_note:
            body["PrivateNote"] = self.private_note
        if self.currency is not None:
            body["CurrencyRef"] = {"value": self.currency}
        body["Line"] = [line.to_api() for line in self.lines]
        return body


@dataclass(frozen=True)
class JournalEntry:
    id: str
    sync_token: str
    doc_number: str | None
    txn_date: date | None
    total: Decimal
    private_note: str | None
    lines: tuple[JournalEntryLine, ...]
    currency: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> JournalEntry:
        lines = tuple(
            line
            for line in (JournalEntryLine.from_api(raw) for raw in data.get("Line") or [] if isinstance(raw, Mapping))
            if line is not None
        )
        txn_date = _opt_str(data.get("TxnDate"))
        total = data.get("TotalAmt")
        return cls(
            id=_str(data["Id"]),
            sync_token=_str(data.get("SyncToken", "0")),
            doc_number=_opt_str(data.get("DocNumber")),
            txn_date=date.fromisoformat(txn_date[:10]) if txn_date else None,
            total=_decimal(total)
            if total is not None
            else sum((x.amount for x in lines if x.posting_type is PostingType.DEBIT), Decimal(0)),
            private_note=_opt_str(data.get("PrivateNote")),
            lines=lines,
            currency=_ref_value(data.get("CurrencyRef")),
        )


@dataclass(frozen=True)
class BatchItem:
    """One operation of a batch request: create a journal entry, or run a query. ``bid`` identifies its result."""

    bid: str
    journal_entry: JournalEntryRequest | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        if not self.bid:
            raise ValueError("bid is required")
        if (self.journal_entry is None) == (self.query is None):
            raise ValueError("a batch item is either a journal entry to create or a query")

    @classmethod
    def create_journal_entry(cls, bid: str, request: JournalEntryRequest) -> BatchItem:
        return cls(bid=bid, journal_entry=request)

    @classmethod
    def select(cls, bid: str, sql: str) -> BatchItem:
        return cls(bid=bid, query=sql)

    def to_api(self) -> dict[str, Any]:
        if self.journal_entry is not None:
            return {"bId": self.bid, "operation": "create", "JournalEntry": self.journal_entry.to_api()}
        return {"bId": self.bid, "Query": self.query}


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one batch item: exactly one of ``journal_entry``, ``query_response`` or ``error`` is set."""

    bid: str
    journal_entry: JournalEntry | None = None
    query_response: Mapping[str, Any] | None = None
    error: QboError | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None


def dumps(payload: Any) -> bytes:
    """Compact JSON for ``payload`` with Decimals written exactly as numbers (never through float)."""
    return _encode(payload).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot serialise a non-finite Decimal")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("refusing to serialise a float; use Decimal for money")
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("JSON object keys must be str")
            items.append(f"{json.dumps(key)}:{_encode(item)}")
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    if value is None or isinstance(value, str | bool | int):
        return json.dumps(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ref_value(value: Any) -> str | None:
    return _opt_str(value.get("value")) if isinstance(value, Mapping) else None


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("not an amount")
    try:
        # A float only arrives when someone parsed JSON without parse_float=Decimal; str() keeps what was sent.
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc

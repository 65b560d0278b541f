"""JournalEntry create / read / update / delete with QBO's validation rules (reference §3, §9.16-23)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from deferredrev.sandbox.intuit.company import CURRENCY_EXPONENTS, Account, Company, currency_ref
from deferredrev.sandbox.intuit.config import SandboxConfig
from deferredrev.sandbox.intuit.wire import QboFault, company_today, meta_time

HEADER_FIELDS = frozenset(
    {
        "Id",
        "SyncToken",
        "sparse",
        "domain",
        "status",
        "MetaData",
        "TxnDate",
        "DocNumber",
        "PrivateNote",
        "Line",
        "CurrencyRef",
        "ExchangeRate",
        "Adjustment",
        "TxnTaxDetail",
        "GlobalTaxCalculation",
        "TotalAmt",
        "HomeTotalAmt",
        "TransactionLocationType",
        "TaxRateRef",
        "RecurDataRef",
        "LinkedTxn",
        "CustomField",
        "TxnSource",
        "DepartmentRef",
    }
)
LINE_FIELDS = frozenset(
    {
        "Id",
        "LineNum",
        "Description",
        "Amount",
        "DetailType",
        "JournalEntryLineDetail",
        "LinkedTxn",
        "CustomField",
        "ProjectRef",
        "DescriptionLineDetail",
    }
)
DETAIL_FIELDS = frozenset(
    {
        "PostingType",
        "AccountRef",
        "Entity",
        "ClassRef",
        "DepartmentRef",
        "TaxCodeRef",
        "TaxApplicableOn",
        "TaxAmount",
        "TaxInclusiveAmt",
        "BillableStatus",
        "JournalCodeRef",
    }
)
REF_FIELDS = frozenset({"value", "name", "type"})
ENTITY_FIELDS = frozenset({"Type", "EntityRef"})
PASSTHROUGH_DETAIL = ("Entity", "ClassRef", "DepartmentRef", "TaxCodeRef", "BillableStatus", "JournalCodeRef")
ENUMS = {
    "DetailType": ("JournalEntryLineDetail", "DescriptionOnly"),
    "PostingType": ("Debit", "Credit"),
    "BillableStatus": ("Billable", "NotBillable", "HasBeenBilled"),
    "TaxApplicableOn": ("Sales", "Purchase"),
    "Type": ("Customer", "Vendor", "Employee"),
}
INACTIVE_DETAIL = "Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees."  # noqa: E501
CLOSED_MESSAGE = "Account Period Closed, Cannot Update Through Services API"
CLOSED_DETAIL = (
    "The account period has closed and the account books cannot be updated through the QBO Services API. "
    "Please use the QBO website to make these changes."
)
BUSINESS_MESSAGE = "A business validation error has occurred while processing your request"
LIMITS = {"DocNumber": 21, "PrivateNote": 4000, "Description": 4000}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class WriteOptions:
    allow_duplicate_doc_number: bool = False


def unknown_property(name: str, entity: str) -> QboFault:
    detail = (
        f'Property Name:Unrecognized field "{name}" (class com.intuit.schema.finance.v3.{entity}), not marked as ignorable'
    )
    return QboFault("2010", "Request has invalid or unsupported property", detail, element=name)


def missing(name: str) -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        element=name,
    )


def business(detail: str, code: str = "6000", status: int = 400) -> QboFault:
    return QboFault(code, BUSINESS_MESSAGE, f"Business Validation Error: {detail}", status=status)


def not_found(detail: str = "Another user has deleted this transaction.") -> QboFault:
    return QboFault("610", "Object Not Found", f"Object Not Found : {detail}")


def stale() -> QboFault:
    return QboFault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and admin were working on this at the same time. admin finished before you "
        "did, so your work was not saved.",
        element="SyncToken",
    )


def closed_books() -> QboFault:
    return QboFault("6210", CLOSED_MESSAGE, CLOSED_DETAIL)


def _check_fields(obj: Any, allowed: frozenset[str], entity: str, element: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:{element} must be an object",
            element=element,
        )
    for name in obj:
        if name not in allowed:
            raise unknown_property(name, entity)
    return obj


def _check_enum(name: str, value: Any) -> str:
    if not isinstance(value, str) or value not in ENUMS[name]:
        raise QboFault("2170", "Invalid Enumeration", f"Invalid enumeration value: {value!r} for {name}", element=name)
    return value


def _text(obj: dict[str, Any], name: str) -> str | None:
    return text_field(obj, name, LIMITS[name])


def text_field(obj: dict[str, Any], name: str, limit: int) -> str | None:
    """A string property (None when absent or empty); longer than ``limit`` → 2050, as QuickBooks answers."""
    value = obj.get(name)
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) > limit:
        raise QboFault(
            "2050",
            "String length is either shorter or longer than supported by specification",
            f"String length specified does not match the supported length. Min:0 Max:{limit} supplied length:{len(text)}",
            element=name,
        )
    return text


def parse_amount(raw: Any, currency: str) -> Decimal:
    """Amounts arrive as JSON numbers or strings; at most the currency's decimals and 10 integer digits."""
    invalid = QboFault("2060", "Invalid Number", f"Invalid number for Amount: {raw!r}", element="Amount")
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal, str)):
        raise invalid
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise invalid from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 10:
        raise invalid
    quantum = Decimal(1).scaleb(-CURRENCY_EXPONENTS.get(currency, 2))
    if value != value.quantize(quantum):
        raise invalid
    if value < 0:
        raise business(f"Journal entry line amounts can't be negative: {value}")
    return value.quantize(quantum)


def _txn_date(payload: dict[str, Any], now: datetime) -> str:
    raw = payload.get("TxnDate")
    if raw is None or raw == "":
        return company_today(now)
    if not isinstance(raw, str) or not _DATE.fullmatch(raw):
        raise QboFault("2040", "Invalid Date", f"Invalid date format for TxnDate: {raw!r}", element="TxnDate")
    try:
        date.fromisoformat(raw)
    except ValueError:
        raise QboFault("2040", "Invalid Date", f"Invalid date for TxnDate: {raw!r}", element="TxnDate") from None
    return raw


def _currency(company: Company, payload: dict[str, Any]) -> str:
    prefs = company.preferences
    ref = payload.get("CurrencyRef")
    if ref is None or ref == "":
        if prefs.multicurrency:
            raise missing("CurrencyRef")
        return prefs.home_currency
    code = str(_check_fields(ref, REF_FIELDS, "ReferenceType", "CurrencyRef").get("value") or "").upper()
    if not code:
        raise missing("CurrencyRef")
    if code != prefs.home_currency and not prefs.multicurrency:
        raise business(f"Multicurrency is not enabled for this company; CurrencyRef must be {prefs.home_currency}.")
    return code


def _account(company: Company, config: SandboxConfig, ref: Any) -> Account:
    if ref is None or ref == "":
        raise missing("AccountRef")
    account_id = str(_check_fields(ref, REF_FIELDS, "ReferenceType", "AccountRef").get("value") or "")
    if not account_id:
        raise missing("AccountRef")
    account = company.accounts.get(account_id)
    if account is None:
        raise QboFault(
            config.missing_account_code,
            "Invalid Reference Id",
            f"Invalid Reference Id : Accounts element id {account_id} not found",
            element="AccountRef",
        )
    if not account.active:
        raise QboFault(
            config.inactive_account_code, "Object Not Found", f"Object Not Found : {INACTIVE_DETAIL}", element="AccountRef"
        )
    return account


def _check_entity(account: Account, detail: dict[str, Any]) -> None:
    entity = detail.get("Entity")
    if entity not in (None, ""):
        _check_fields(entity, ENTITY_FIELDS, "EntityTypeRef", "Entity")
        _check_enum("Type", entity.get("Type"))
        _check_fields(entity.get("EntityRef") or {}, REF_FIELDS, "ReferenceType", "EntityRef")
    kind = entity.get("Type") if isinstance(entity, dict) else None
    if account.account_type == "Accounts Receivable" and kind != "Customer":
        raise business("When you use Accounts Receivable, you must choose a customer in the Name field.")
    if account.account_type == "Accounts Payable" and kind != "Vendor":
        raise business("When you use Accounts Payable, you must select a vendor in the Name field.")


def _line(company: Company, config: SandboxConfig, raw: Any, index: int, currency: str) -> dict[str, Any]:
    line = _check_fields(raw, LINE_FIELDS, "Line", "Line")
    detail_type = _check_enum("DetailType", line.get("DetailType", "JournalEntryLineDetail"))
    out: dict[str, Any] = {"Id": str(index)}
    description = _text(line, "Description")
    if description is not None:
        out["Description"] = description
    if detail_type == "DescriptionOnly":
        out["DetailType"] = detail_type
        out["DescriptionLineDetail"] = {}
        return out
    if line.get("Amount") is None:
        raise missing("Amount")
    out["Amount"] = parse_amount(line["Amount"], currency)
    out["DetailType"] = detail_type
    out["JournalEntryLineDetail"] = _detail(company, config, line.get("JournalEntryLineDetail"), currency)
    return out


def _detail(company: Company, config: SandboxConfig, raw: Any, currency: str) -> dict[str, Any]:
    if raw is None:
        raise missing("JournalEntryLineDetail")
    detail = _check_fields(raw, DETAIL_FIELDS, "JournalEntryLineDetail", "JournalEntryLineDetail")
    posting = _check_enum("PostingType", detail.get("PostingType"))
    if "BillableStatus" in detail and detail["BillableStatus"] is not None:
        _check_enum("BillableStatus", detail["BillableStatus"])
    if "TaxApplicableOn" in detail and detail["TaxApplicableOn"] is not None:
        _check_enum("TaxApplicableOn", detail["TaxApplicableOn"])
    for name in ("ClassRef", "DepartmentRef", "TaxCodeRef", "JournalCodeRef"):
        if detail.get(name) not in (None, ""):
            _check_fields(detail[name], REF_FIELDS, "ReferenceType", name)
    account = _account(company, config, detail.get("AccountRef"))
    _check_entity(account, detail)
    if account.currency not in (currency, company.preferences.home_currency):
        raise business(f"The account {account.name} uses {account.currency}; this transaction uses {currency}.")
    out: dict[str, Any] = {
        "PostingType": posting,
        "AccountRef": {"value": account.id, "name": company.fully_qualified_name(account)},
    }
    for name in PASSTHROUGH_DETAIL:
        if detail.get(name) not in (None, "", {}):
            out[name] = copy.deepcopy(detail[name])
    return out


def _balance(lines: list[dict[str, Any]], config: SandboxConfig) -> Decimal:
    totals = {"Debit": Decimal("0"), "Credit": Decimal("0")}
    counts = {"Debit": 0, "Credit": 0}
    for line in lines:
        detail = line.get("JournalEntryLineDetail")
        if detail is not None:
            totals[detail["PostingType"]] += line["Amount"]
            counts[detail["PostingType"]] += 1
    if not counts["Debit"] or not counts["Credit"]:
        raise business("A journal entry needs at least one debit line and one credit line.")
    if totals["Debit"] != totals["Credit"]:
        difference = abs(totals["Debit"] - totals["Credit"])
        raise business(
            f"Transaction is out of balance: debits total {totals['Debit']}, credits total {totals['Credit']} "
            f"(difference {difference}). Journal entry debits and credits must be equal.",
            code=config.imbalance_code,
            status=config.imbalance_status,
        )
    return totals["Debit"]


def check_open_period(company: Company, txn_date: str) -> None:
    close = company.preferences.book_close_date
    if close is not None and date.fromisoformat(txn_date) <= close:
        raise closed_books()


def _check_duplicate(company: Company, doc_number: str | None, options: WriteOptions, own_id: str | None) -> None:
    if doc_number is None or options.allow_duplicate_doc_number or not company.preferences.warn_duplicate_doc_number:
        return
    for entry in company.live_journal_entries():
        if entry.get("DocNumber") == doc_number and entry["Id"] != own_id:
            raise QboFault(
                "6140",
                "Duplicate Document Number Error",
                "Duplicate Document Number Error : You must specify a different number. This number has "
                f"already been used. DocNumber={doc_number} is assigned to TxnType=Journal Entry with "
                f"TxnId={entry['Id']}",
                element="DocNumber",
            )


def build_entry(
    company: Company, config: SandboxConfig, payload: Any, now: datetime, options: WriteOptions, own_id: str | None
) -> dict[str, Any]:
    """Validate ``payload`` and return the stored form (without Id / SyncToken / MetaData)."""
    body = _check_fields(payload, HEADER_FIELDS, "JournalEntry", "JournalEntry")
    if "BillableStatus" in body:
        raise unknown_property("BillableStatus", "JournalEntry")
    doc_number = _text(body, "DocNumber")
    private_note = _text(body, "PrivateNote")
    txn_date = _txn_date(body, now)
    currency = _currency(company, body)
    raw_lines = body.get("Line")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise missing("Line")
    lines = [_line(company, config, raw, index, currency) for index, raw in enumerate(raw_lines)]
    total = _balance(lines, config)
    check_open_period(company, txn_date)
    _check_duplicate(company, doc_number, options, own_id)
    entry: dict[str, Any] = {"domain": "QBO", "sparse": False, "TxnDate": txn_date, "CurrencyRef": currency_ref(currency)}
    if doc_number is not None:
        entry["DocNumber"] = doc_number
    if private_note is not None:
        entry["PrivateNote"] = private_note
    entry["Adjustment"] = bool(body.get("Adjustment", False))
    entry["TxnTaxDetail"] = {}
    entry["Line"] = lines
    entry["TotalAmt"] = total if config.total_amt == "debits" else Decimal("0")
    if company.preferences.multicurrency:
        rate = _exchange_rate(body.get("ExchangeRate"), currency, company.preferences.home_currency)
        entry["ExchangeRate"] = rate
        entry["HomeTotalAmt"] = (entry["TotalAmt"] * rate).quantize(Decimal("0.01"))
    return entry


def _exchange_rate(raw: Any, currency: str, home: str) -> Decimal:
    if currency == home or raw in (None, ""):
        return Decimal("1")
    try:
        rate = Decimal(str(raw))
    except InvalidOperation:
        raise QboFault(
            "2060", "Invalid Number", f"Invalid number for ExchangeRate: {raw!r}", element="ExchangeRate"
        ) from None
    if not rate.is_finite() or rate <= 0:
        raise QboFault("2060", "Invalid Number", f"Invalid number for ExchangeRate: {raw!r}", element="ExchangeRate")
    return rate


def create(company: Company, config: SandboxConfig, payload: Any, now: datetime, options: WriteOptions) -> dict[str, Any]:
    if isinstance(payload, dict) and payload.get("Id") not in (None, ""):
        return update(company, config, payload, now, options)
    entry = build_entry(company, config, payload, now, options, None)
    entry_id = str(company.next_txn_id)
    company.next_txn_id += 1
    stamp = meta_time(now)
    stored = {"Id": entry_id, "SyncToken": "0", **entry, "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp}}
    company.journal_entries[entry_id] = stored
    company.post_balances(stored, 1)
    return copy.deepcopy(stored)


def _existing(company: Company, payload: Any) -> dict[str, Any]:
    entry_id = str(payload.get("Id") or "") if isinstance(payload, dict) else ""
    if not entry_id:
        raise missing("Id")
    if entry_id not in company.journal_entries or entry_id in company.deleted_journal_entries:
        raise not_found()
    return company.journal_entries[entry_id]


def _check_sync_token(current: dict[str, Any], payload: dict[str, Any]) -> None:
    token = payload.get("SyncToken")
    if token is None or token == "":
        raise missing("SyncToken")
    if str(token) != current["SyncToken"]:
        raise stale()


def update(company: Company, config: SandboxConfig, payload: Any, now: datetime, options: WriteOptions) -> dict[str, Any]:
    current = _existing(company, payload)
    _check_sync_token(current, payload)
    check_open_period(company, current["TxnDate"])
    merged = {k: v for k, v in current.items() if k not in ("Id", "SyncToken", "MetaData", "TotalAmt", "HomeTotalAmt")}
    source = {**_as_input(merged), **payload} if payload.get("sparse") is True else dict(payload)
    source.pop("sparse", None)
    entry = build_entry(company, config, source, now, options, current["Id"])
    company.post_balances(current, -1)
    stored = {
        "Id": current["Id"],
        "SyncToken": str(int(current["SyncToken"]) + 1),
        **entry,
        "MetaData": {"CreateTime": current["MetaData"]["CreateTime"], "LastUpdatedTime": meta_time(now)},
    }
    company.journal_entries[current["Id"]] = stored
    company.post_balances(stored, 1)
    return copy.deepcopy(stored)


def _as_input(entry: dict[str, Any]) -> dict[str, Any]:
    """A stored entry as a request body, the base a sparse update is merged onto."""
    return copy.deepcopy({k: v for k, v in entry.items() if k not in ("domain", "TxnTaxDetail")})


def delete(company: Company, config: SandboxConfig, payload: Any) -> dict[str, Any]:
    current = _existing(company, payload)
    _check_sync_token(current, payload)
    if config.closed_books_block_delete:
        check_open_period(company, current["TxnDate"])
    company.deleted_journal_entries.add(current["Id"])
    company.post_balances(current, -1)
    return {"status": "Deleted", "domain": "QBO", "Id": current["Id"]}


def read(company: Company, entry_id: str) -> dict[str, Any]:
    if entry_id not in company.journal_entries or entry_id in company.deleted_journal_entries:
        raise not_found(INACTIVE_DETAIL)
    return copy.deepcopy(company.journal_entries[entry_id])

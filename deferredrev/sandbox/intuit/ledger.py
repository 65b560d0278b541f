"""The company's ledger, by transaction date: what the Reports API answers from (reference §10.2).

Every live journal entry line and every sales document a person booked (an invoice or a credit memo, planted
through :meth:`IntuitSandbox.book_invoice`) is a posting on one account, dated by its ``TxnDate``. Amounts are kept in
the account's natural sign (a credit raises a liability, income or equity account; a debit raises an asset or
expense account), in the home currency (a foreign-currency entry is converted at its ``ExchangeRate``). An account's
balance on a day is the balance it was created with (dated the company's creation) plus its postings up to that day.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from deferredrev.sandbox.intuit.company import CURRENCY_EXPONENTS, DEBIT_NORMAL, Account, Company, currency_ref
from deferredrev.sandbox.intuit.wire import QboFault, meta_time

TXN_TYPES = {"JournalEntry": "Journal Entry", "Invoice": "Invoice", "CreditMemo": "Credit Memo"}


@dataclass(frozen=True)
class Posting:
    txn_date: date
    txn_type: str  # the entity: JournalEntry, Invoice, CreditMemo
    txn_id: str
    doc_num: str
    name: str  # the customer (sales documents, or a journal line's entity)
    memo: str
    account_id: str
    amount: Decimal  # natural sign, home currency
    split: str  # the other account's name, or "-Split-"


def natural(account: Account, posting_type: str, amount: Decimal) -> Decimal:
    """``amount`` as it moves ``account``'s balance in the account's natural sign."""
    raises = (posting_type == "Debit") == (account.classification in DEBIT_NORMAL)
    return amount if raises else -amount


def postings(company: Company) -> list[Posting]:
    """Every posting of live transactions, oldest first (then by transaction id)."""
    found = list(_journal_postings(company)) + list(_sales_postings(company))
    found.sort(key=lambda p: (p.txn_date, p.txn_type, int(p.txn_id) if p.txn_id.isdigit() else 0))
    return found


def _journal_postings(company: Company) -> Iterator[Posting]:
    home = company.preferences.home_currency
    for entry in company.live_journal_entries():
        rate = Decimal(str(entry.get("ExchangeRate", 1))) if entry.get("CurrencyRef", {}).get("value", home) != home else 1
        lines = [line for line in entry.get("Line", []) if "JournalEntryLineDetail" in line]
        names = [company.accounts[str(line["JournalEntryLineDetail"]["AccountRef"]["value"])].name for line in lines]
        for index, line in enumerate(lines):
            detail = line["JournalEntryLineDetail"]
            account = company.accounts[str(detail["AccountRef"]["value"])]
            others = {name for position, name in enumerate(names) if position != index}
            split = others.pop() if len(others) == 1 else "-Split-"
            entity = detail.get("Entity") or {}
            yield Posting(
                txn_date=date.fromisoformat(entry["TxnDate"]),
                txn_type="JournalEntry",
                txn_id=entry["Id"],
                doc_num=str(entry.get("DocNumber") or ""),
                name=str((entity.get("EntityRef") or {}).get("name") or ""),
                memo=str(line.get("Description") or ""),
                account_id=account.id,
                amount=_home(natural(account, detail["PostingType"], Decimal(str(line["Amount"]))) * rate, home),
                split=split,
            )


def _sales_postings(company: Company) -> Iterator[Posting]:
    for document in company.sales_documents.values():
        for account_id, posting_type, amount, split in document["_postings"]:
            account = company.accounts[account_id]
            yield Posting(
                txn_date=date.fromisoformat(document["TxnDate"]),
                txn_type=document["_type"],
                txn_id=document["Id"],
                doc_num=str(document.get("DocNumber") or ""),
                name=document["CustomerRef"]["name"],
                memo=str(document.get("PrivateNote") or ""),
                account_id=account_id,
                amount=natural(account, posting_type, amount),
                split=split,
            )


def _home(amount: Decimal, home: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-CURRENCY_EXPONENTS.get(home, 2)))


def balances(company: Company, as_of: date, accounts: Iterable[str] | None = None) -> dict[str, Decimal]:
    """Each account's own balance at the end of ``as_of`` (natural sign, home currency)."""
    wanted = set(accounts) if accounts is not None else set(company.accounts)
    result = {
        account_id: (company.accounts[account_id].opening if as_of >= company.created.date() else Decimal("0"))
        for account_id in wanted
    }
    for posting in postings(company):
        if posting.account_id in result and posting.txn_date <= as_of:
            result[posting.account_id] += posting.amount
    return result


def receivables_account(company: Company) -> Account:
    for account in company.accounts.values():
        if account.account_type == "Accounts Receivable" and account.active:
            return account
    raise QboFault("6000", "A business validation error has occurred while processing your request",
                   "Business Validation Error: the company has no active Accounts Receivable account")  # fmt: skip


def book_sales_document(
    company: Company,
    *,
    customer: str,
    amount: Decimal,
    txn_date: date,
    account_id: str,
    now: datetime,
    doc_number: str | None = None,
    memo: str | None = None,
) -> dict[str, Any]:
    """An invoice (``amount`` > 0: Dr A/R, Cr ``account_id``) or a credit memo (``amount`` < 0: the other way round)
    as a person books it in QuickBooks, its line's item booking to ``account_id``."""
    if amount == 0:
        raise ValueError("an invoice or credit memo needs a non-zero amount")
    account = company.accounts[account_id]
    receivable = receivables_account(company)
    kind = "Invoice" if amount > 0 else "CreditMemo"
    size = abs(amount)
    document_id = str(company.next_txn_id)
    company.next_txn_id += 1
    stamp = meta_time(now)
    customer_ref = {"value": str(zlib.crc32(customer.encode()) % 10_000 + 1), "name": customer}
    if kind == "Invoice":
        booked = [(receivable.id, "Debit", size, account.name), (account.id, "Credit", size, receivable.name)]
    else:
        booked = [(account.id, "Debit", size, receivable.name), (receivable.id, "Credit", size, account.name)]
    document: dict[str, Any] = {
        "Id": document_id,
        "SyncToken": "0",
        "DocNumber": doc_number or document_id,
        "TxnDate": txn_date.isoformat(),
        "CustomerRef": customer_ref,
        "CurrencyRef": currency_ref(company.preferences.home_currency),
        "TotalAmt": size,
        "Line": [
            {
                "Amount": size,
                "DetailType": "SalesItemLineDetail",
                "Description": memo or "",
                "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": account.name}},
            }
        ],  # fmt: skip
        "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        "_type": kind,
        "_postings": booked,
    }
    if memo:
        document["PrivateNote"] = memo
    company.sales_documents[document_id] = document
    for posted_id, posting_type, value, _ in booked:
        posted = company.accounts[posted_id]
        posted.balance += natural(posted, posting_type, value)
    return {key: copy.deepcopy(value) for key, value in document.items() if not key.startswith("_")}

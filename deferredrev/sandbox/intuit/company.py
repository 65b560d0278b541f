"""Company state held by the sandbox: chart of accounts, preferences and journal entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from deferredrev.sandbox.intuit.wire import meta_time

CLASSIFICATIONS = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}
DEBIT_NORMAL = frozenset({"Asset", "Expense"})
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "JPY": "Japanese Yen",
}
CURRENCY_EXPONENTS = {"JPY": 0}


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


@dataclass
class Account:
    id: str
    name: str
    account_type: str
    sub_type: str
    parent_id: str | None = None
    active: bool = True
    currency: str = "USD"
    balance: Decimal = Decimal("0")
    opening: Decimal = Decimal("0")  # the balance the account was created with (dated the company's creation)
    acct_num: str | None = None
    description: str | None = None
    created: str = ""
    updated: str = ""
    sync_token: int = 0

    @property
    def classification(self) -> str:
        return CLASSIFICATIONS[self.account_type]


@dataclass
class Preferences:
    book_close_date: date | None = None
    multicurrency: bool = False
    home_currency: str = "USD"
    warn_duplicate_doc_number: bool = True
    class_tracking_per_line: bool = False
    track_departments: bool = False
    sync_token: int = 0

    def to_json(self) -> dict[str, Any]:
        accounting: dict[str, Any] = {
            "ClassTrackingPerTxnLine": self.class_tracking_per_line,
            "ClassTrackingPerTxn": False,
            "TrackDepartments": self.track_departments,
        }
        if self.book_close_date is not None:
            accounting["BookCloseDate"] = self.book_close_date.isoformat()
        warn = "true" if self.warn_duplicate_doc_number else "false"
        return {
            "Id": "1",
            "SyncToken": str(self.sync_token),
            "domain": "QBO",
            "sparse": False,
            "AccountingInfoPrefs": accounting,
            "CurrencyPrefs": {"MultiCurrencyEnabled": self.multicurrency, "HomeCurrency": {"value": self.home_currency}},
            "OtherPrefs": {"NameValue": [{"Name": "WarnDuplicateJournalNumber", "Value": warn}]},
        }


@dataclass
class Company:
    realm_id: str
    name: str
    preferences: Preferences
    created: datetime
    country: str = "USA"
    legal_name: str | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    journal_entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_journal_entries: set[str] = field(default_factory=set)
    # Sales documents a person booked (invoices, credit memos): only their postings are kept, for the ledger.
    sales_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachables: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachment_files: dict[str, Any] = field(default_factory=dict)  # Attachable id -> attachments.StoredFile
    download_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    next_account_id: int = 1
    next_txn_id: int = 1
    next_attachable_id: int = 0
    _names: dict[str, str] = field(default_factory=dict, repr=False)

    def add_account(
        self,
        name: str,
        account_type: str,
        sub_type: str,
        *,
        parent: str | None = None,
        active: bool = True,
        currency: str | None = None,
        balance: Decimal | int | str = 0,
        acct_num: str | None = None,
        description: str | None = None,
    ) -> Account:
        """Add an account; ``parent`` is the parent's Name or FullyQualifiedName."""
        parent_id = self.find_account(parent).id if parent is not None else None
        stamp = meta_time(self.created)
        account = Account(
            id=str(self.next_account_id),
            name=name,
            account_type=account_type,
            sub_type=sub_type,
            parent_id=parent_id,
            active=active,
            currency=currency or self.preferences.home_currency,
            balance=Decimal(balance),
            opening=Decimal(balance),
            acct_num=acct_num,
            description=description,
            created=stamp,
            updated=stamp,
        )
        self.accounts[account.id] = account
        self.next_account_id += 1
        self._names.setdefault(name, account.id)
        self._names[self.fully_qualified_name(account)] = account.id
        return account

    def find_account(self, name: str) -> Account:
        """An account by Name or FullyQualifiedName (as added; renames are not tracked)."""
        return self.accounts[self._names[name]]

    def fully_qualified_name(self, account: Account) -> str:
        parts = [account.name]
        parent_id = account.parent_id
        while parent_id is not None:
            parent = self.accounts[parent_id]
            parts.append(parent.name)
            parent_id = parent.parent_id
        return ":".join(reversed(parts))

    def account_json(
        self, account: Account, *, mark_inactive: bool = False, totals: dict[str, Decimal] | None = None
    ) -> dict[str, Any]:
        """The API form of an account; inactive ones get " (deleted)" appended when ``mark_inactive``."""
        suffix = " (deleted)" if mark_inactive and not account.active and not account.name.endswith(" (deleted)") else ""
        totals = totals if totals is not None else self._subaccount_totals()
        body: dict[str, Any] = {
            "Id": account.id,
            "Name": account.name + suffix,
            "SubAccount": account.parent_id is not None,
            "FullyQualifiedName": self.fully_qualified_name(account) + suffix,
            "Active": account.active,
            "Classification": account.classification,
            "AccountType": account.account_type,
            "AccountSubType": account.sub_type,
            "CurrentBalance": account.balance,
            "CurrentBalanceWithSubAccounts": totals[account.id],
            "CurrencyRef": currency_ref(account.currency),
            "domain": "QBO",
            "sparse": False,
            "SyncToken": str(account.sync_token),
            "MetaData": {"CreateTime": account.created, "LastUpdatedTime": account.updated},
        }
        if account.parent_id is not None:
            parent = self.accounts[account.parent_id]
            body["ParentRef"] = {"value": parent.id, "name": parent.name}
        if account.acct_num:
            body["AcctNum"] = account.acct_num
        if account.description:
            body["Description"] = account.description
        return body

    def accounts_json(self, *, mark_inactive: bool = False) -> list[dict[str, Any]]:
        totals = self._subaccount_totals()
        return [self.account_json(a, mark_inactive=mark_inactive, totals=totals) for a in self.accounts.values()]

    def _subaccount_totals(self) -> dict[str, Decimal]:
        """CurrentBalanceWithSubAccounts for every account, in one pass up each parent chain."""
        totals = {account_id: Decimal("0") for account_id in self.accounts}
        for account in self.accounts.values():
            node: Account | None = account
            while node is not None:
                totals[node.id] += account.balance
                node = self.accounts[node.parent_id] if node.parent_id is not None else None
        return totals

    def company_info_json(self) -> dict[str, Any]:
        stamp = meta_time(self.created)
        address = {
            "Id": "1",
            "Line1": "2600 Marine Way",
            "City": "Mountain View",
            "Country": self.country,
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94043",
        }
        return {
            "Id": "1",
            "CompanyName": self.name,
            "LegalName": self.legal_name or self.name,
            "Country": "US" if self.country == "USA" else self.country,
            "CompanyAddr": address,
            "LegalAddr": dict(address),
            "CustomerCommunicationAddr": dict(address),
            "Email": {"Address": "noreply@quickbooks.com"},
            "FiscalYearStartMonth": "January",
            "CompanyStartDate": self.created.date().isoformat(),
            "SupportedLanguages": "en",
            "NameValue": [
                {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
                {"Name": "NeoEnabled", "Value": "true"},
            ],
            "domain": "QBO",
            "sparse": False,
            "SyncToken": "4",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }

    def live_journal_entries(self) -> list[dict[str, Any]]:
        return [je for je_id, je in self.journal_entries.items() if je_id not in self.deleted_journal_entries]

    def post_balances(self, entry: dict[str, Any], sign: int) -> None:
        """Move accounts' CurrentBalance for an entry's lines (sign=-1 reverses a previous posting)."""
        for line in entry.get("Line", []):
            detail = line.get("JournalEntryLineDetail")
            if detail is None:
                continue
            account = self.accounts.get(str(detail["AccountRef"]["value"]))
            if account is None:
                continue
            amount = Decimal(str(line["Amount"]))
            natural = (detail["PostingType"] == "Debit") == (account.classification in DEBIT_NORMAL)
            account.balance += amount * sign if natural else -amount * sign

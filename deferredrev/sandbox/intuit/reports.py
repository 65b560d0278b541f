"""``GET /reports/{BalanceSheet|TrialBalance|GeneralLedger}`` over the sandbox ledger (reference §10.2).

Shapes as the reference describes them: no wrapper key; ``Header``, ``Columns`` (each with a ``ColKey`` in
``MetaData``), ``Rows.Row[]`` of ``Section`` rows (``Header``, nested ``Rows``, ``Summary``, ``group``) and ``Data``
rows (one ``ColData`` per column, values as strings, blanks ``""``, the account or transaction id beside its name).
Accounts without a balance (BalanceSheet, TrialBalance) or activity (GeneralLedger) are left out; a parent account
with sub-accounts is a Section headed by the parent's id, holding its own balance as a Data row and a Summary that
includes the sub-accounts.

Defaults where the reference is silent (each named in the package docstring): ``accounting_method`` is echoed in
``ReportBasis`` but every report is accrual; TrialBalance rows are cumulative balances (not fiscal-year-to-date for
income and expense); GeneralLedger amounts (``subt_nat_amount``) and running balances (``rbal_nat_amount``) are in the
account's natural sign, opening with a "Beginning Balance" row; unknown ``columns`` are ignored; a date that isn't
``YYYY-MM-DD`` is 400 / 2040; other report names are 400 / 500 (unsupported).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from deferredrev.sandbox.intuit.company import CURRENCY_EXPONENTS, DEBIT_NORMAL, Account, Company
from deferredrev.sandbox.intuit.ledger import TXN_TYPES, Posting, balances, postings
from deferredrev.sandbox.intuit.wire import QboFault, company_today, qbo_time

Params = dict[str, str]
# (section title, group, account types) in the order a balance sheet shows them.
ASSET_GROUPS = (
    ("Bank Accounts", "BankAccounts", ("Bank",)),
    ("Accounts Receivable", "AR", ("Accounts Receivable",)),
    ("Other Current Assets", "OtherCurrentAssets", ("Other Current Asset",)),
    ("Fixed Assets", "FixedAssets", ("Fixed Asset",)),
    ("Other Assets", "OtherAssets", ("Other Asset",)),
)
LIABILITY_GROUPS = (
    ("Accounts Payable", "AP", ("Accounts Payable",)),
    ("Credit Cards", "CreditCards", ("Credit Card",)),
    ("Other Current Liabilities", "OtherCurrentLiabilities", ("Other Current Liability",)),
    ("Long-Term Liabilities", "LongTermLiabilities", ("Long Term Liability",)),
)
GL_COLUMNS: dict[str, tuple[str, str]] = {
    "tx_date": ("Date", "Date"),
    "txn_type": ("Transaction Type", "String"),
    "doc_num": ("Num", "String"),
    "name": ("Name", "String"),
    "memo": ("Memo/Description", "String"),
    "split_acc": ("Split", "String"),
    "account_name": ("Account", "String"),
    "subt_nat_amount": ("Amount", "Money"),
    "rbal_nat_amount": ("Balance", "Money"),
}
GL_DEFAULT_COLUMNS = ("tx_date", "txn_type", "doc_num", "name", "memo", "split_acc", "subt_nat_amount", "rbal_nat_amount")


def run_report(company: Company, name: str, params: Params, now: datetime) -> dict[str, Any]:
    reports: dict[str, Callable[[Company, Params, datetime], dict[str, Any]]] = {
        "balancesheet": balance_sheet,
        "trialbalance": trial_balance,
        "generalledger": general_ledger,
    }
    report = reports.get(name.lower())
    if report is None:
        raise QboFault("500", "Unsupported Operation", f"Report {name} is not supported by the sandbox.", status=400)
    return report(company, params, now)


def _date(params: Params, name: str, default: date) -> date:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise QboFault("2040", "Invalid Date", f"Invalid date format for {name}: {raw!r}", element=name) from None


def _period(params: Params, now: datetime, *, default_start: Callable[[date], date]) -> tuple[date, date]:
    end = _date(params, "end_date", date.fromisoformat(company_today(now)))
    start = _date(params, "start_date", default_start(end))
    if start > end:
        raise QboFault("2040", "Invalid Date", f"start_date {start} is after end_date {end}", element="start_date")
    return start, end


def _money(company: Company, amount: Decimal) -> str:
    places = CURRENCY_EXPONENTS.get(company.preferences.home_currency, 2)
    return f"{amount:.{places}f}"


def _header(
    company: Company, name: str, params: Params, now: datetime, start: date, end: date, empty: bool
) -> dict[str, Any]:
    basis = "Cash" if params.get("accounting_method", "").lower() == "cash" else "Accrual"
    return {
        "Time": qbo_time(now),
        "ReportName": name,
        "DateMacro": params.get("date_macro", ""),
        "ReportBasis": basis,
        "StartPeriod": start.isoformat(),
        "EndPeriod": end.isoformat(),
        "SummarizeColumnsBy": params.get("summarize_column_by", "Total"),
        "Currency": company.preferences.home_currency,
        "Option": [{"Name": "AccountingStandard", "Value": "GAAP"}, {"Name": "NoReportData", "Value": str(empty).lower()}],
    }


def _column(title: str, kind: str, key: str) -> dict[str, Any]:
    return {"ColTitle": title, "ColType": kind, "MetaData": [{"Name": "ColKey", "Value": key}]}


# BalanceSheet ------------------------------------------------------------------------------------------------------


def balance_sheet(company: Company, params: Params, now: datetime) -> dict[str, Any]:
    start, end = _period(params, now, default_start=lambda day: day.replace(month=1, day=1))
    own = balances(company, end)
    assets = _type_sections(company, own, ASSET_GROUPS)
    liabilities = _type_sections(company, own, LIABILITY_GROUPS)
    equity_accounts = _type_sections(company, own, (("Equity", "Equity", ("Equity",)),))
    income = sum(
        (value for account_id, value in own.items() if company.accounts[account_id].classification == "Revenue"),
        Decimal("0"),
    )
    expense = sum(
        (value for account_id, value in own.items() if company.accounts[account_id].classification == "Expense"),
        Decimal("0"),
    )
    equity_rows = list(equity_accounts[0][0]["Rows"]["Row"]) if equity_accounts else []
    net_income = income - expense
    if net_income:
        equity_rows.append(_data(company, "Net Income", None, net_income))
    equity_total = (equity_accounts[0][1] if equity_accounts else Decimal("0")) + net_income
    liabilities_total = sum((total for _, total in liabilities), Decimal("0"))
    assets_total = sum((total for _, total in assets), Decimal("0"))
    rows: list[dict[str, Any]] = [
        _section(company, "ASSETS", "TotalAssets", [section for section, _ in assets], assets_total),
        _section(
            company,
            "LIABILITIES AND EQUITY",
            "TotalLiabilitiesAndEquity",
            [
                _section(company, "Liabilities", "Liabilities", [section for section, _ in liabilities], liabilities_total),
                _section(company, "Equity", "Equity", equity_rows, equity_total),
            ],
            liabilities_total + equity_total,
        ),
    ]
    empty = not assets and not liabilities and not equity_rows
    return {
        "Header": _header(company, "BalanceSheet", params, now, start, end, empty),
        "Columns": {"Column": [_column("", "Account", "account"), _column("Total", "Money", "total")]},
        "Rows": {"Row": rows},
    }


def _type_sections(
    company: Company, own: dict[str, Decimal], groups: tuple[tuple[str, str, tuple[str, ...]], ...]
) -> list[tuple[dict[str, Any], Decimal]]:
    found = []
    for title, group, types in groups:
        accounts = [a for a in company.accounts.values() if a.account_type in types]
        tops = [a for a in accounts if a.parent_id is None or company.accounts[a.parent_id].account_type not in types]
        rows = []
        total = Decimal("0")
        for account in tops:
            rendered = _account_rows(company, own, account)
            if rendered is not None:
                rows.append(rendered[0])
                total += rendered[1]
        if rows:
            found.append((_section(company, title, group, rows, total), total))
    return found


def _account_rows(company: Company, own: dict[str, Decimal], account: Account) -> tuple[dict[str, Any], Decimal] | None:
    """A leaf's Data row, or a parent's Section (its own balance, its sub-accounts, their total); None when the
    account and its sub-accounts have no balance."""
    children = [a for a in company.accounts.values() if a.parent_id == account.id]
    rendered = [row for row in (_account_rows(company, own, child) for child in children) if row is not None]
    balance = own.get(account.id, Decimal("0"))
    if not rendered:
        return (_data(company, account.name, account.id, balance), balance) if balance else None
    total = balance + sum((value for _, value in rendered), Decimal("0"))
    rows = ([_data(company, account.name, account.id, balance)] if balance else []) + [row for row, _ in rendered]
    section = {
        "type": "Section",
        "Header": {"ColData": [{"value": account.name, "id": account.id}, {"value": ""}]},
        "Rows": {"Row": rows},
        "Summary": {"ColData": [{"value": f"Total {account.name}"}, {"value": _money(company, total)}]},
    }
    return section, total


def _data(company: Company, name: str, account_id: str | None, amount: Decimal) -> dict[str, Any]:
    label: dict[str, str] = {"value": name} if account_id is None else {"value": name, "id": account_id}
    return {"type": "Data", "ColData": [label, {"value": _money(company, amount)}]}


def _section(company: Company, title: str, group: str, rows: list[dict[str, Any]], total: Decimal) -> dict[str, Any]:
    return {
        "type": "Section",
        "group": group,
        "Header": {"ColData": [{"value": title}, {"value": ""}]},
        "Rows": {"Row": rows},
        "Summary": {"ColData": [{"value": f"Total {title}"}, {"value": _money(company, total)}]},
    }


# TrialBalance ------------------------------------------------------------------------------------------------------


def trial_balance(company: Company, params: Params, now: datetime) -> dict[str, Any]:
    start, end = _period(params, now, default_start=lambda day: day.replace(day=1))
    own = balances(company, end)
    rows: list[dict[str, Any]] = []
    debits = credits = Decimal("0")
    for account in company.accounts.values():
        value = own.get(account.id, Decimal("0"))
        if not value:
            continue
        debit_side = (value > 0) == (account.classification in DEBIT_NORMAL)
        debit, credit = (abs(value), None) if debit_side else (None, abs(value))
        debits += debit or 0
        credits += credit or 0
        rows.append(
            {
                "ColData": [
                    {"value": company.fully_qualified_name(account), "id": account.id},
                    {"value": _money(company, debit) if debit is not None else ""},
                    {"value": _money(company, credit) if credit is not None else ""},
                ]
            }
        )
    rows.append(
        {
            "type": "Section",
            "group": "GrandTotal",
            "Summary": {
                "ColData": [{"value": "TOTAL"}, {"value": _money(company, debits)}, {"value": _money(company, credits)}]
            },
        }
    )
    return {
        "Header": _header(company, "TrialBalance", params, now, start, end, len(rows) == 1),
        "Columns": {
            "Column": [
                _column("", "Account", "account"),
                _column("Debit", "Money", "debt_amt"),
                _column("Credit", "Money", "credit_amt"),
            ]
        },
        "Rows": {"Row": rows},
    }


# GeneralLedger -----------------------------------------------------------------------------------------------------


def general_ledger(company: Company, params: Params, now: datetime) -> dict[str, Any]:
    start, end = _period(params, now, default_start=lambda day: day.replace(day=1))
    requested = [c.strip() for c in params.get("columns", "").split(",") if c.strip()]
    columns = [c for c in requested if c in GL_COLUMNS] or list(GL_DEFAULT_COLUMNS)
    wanted = {a.strip() for a in params.get("account", "").split(",") if a.strip()}
    opening = balances(company, date.fromordinal(start.toordinal() - 1))
    by_account: dict[str, list[Posting]] = {}
    for posting in postings(company):
        if start <= posting.txn_date <= end:
            by_account.setdefault(posting.account_id, []).append(posting)
    rows = []
    for account in company.accounts.values():
        if wanted and account.id not in wanted:
            continue
        moves = by_account.get(account.id, [])
        beginning = opening.get(account.id, Decimal("0"))
        if not moves and not (wanted and beginning):
            continue
        rows.append(_ledger_section(company, account, columns, beginning, moves))
    return {
        "Header": _header(company, "GeneralLedger", params, now, start, end, not rows),
        "Columns": {"Column": [_column(*GL_COLUMNS[key], key) for key in columns]},
        "Rows": {"Row": rows},
    }


def _ledger_section(
    company: Company, account: Account, columns: list[str], beginning: Decimal, moves: list[Posting]
) -> dict[str, Any]:
    running = beginning
    first = {key: {"value": ""} for key in columns}
    first[columns[0]] = {"value": "Beginning Balance"}
    if "rbal_nat_amount" in first:
        first["rbal_nat_amount"] = {"value": _money(company, beginning)}
    rows: list[dict[str, Any]] = [{"type": "Data", "ColData": [first[key] for key in columns]}]
    total = Decimal("0")
    for move in moves:
        running += move.amount
        total += move.amount
        cells = {
            "tx_date": {"value": move.txn_date.isoformat()},
            "txn_type": {"value": TXN_TYPES[move.txn_type], "id": move.txn_id},
            "doc_num": {"value": move.doc_num},
            "name": {"value": move.name},
            "memo": {"value": move.memo},
            "split_acc": {"value": move.split},
            "account_name": {"value": company.fully_qualified_name(account), "id": account.id},
            "subt_nat_amount": {"value": _money(company, move.amount)},
            "rbal_nat_amount": {"value": _money(company, running)},
        }
        rows.append({"type": "Data", "ColData": [cells[key] for key in columns]})
    summary = {key: {"value": ""} for key in columns}
    summary[columns[0]] = {"value": f"Total for {company.fully_qualified_name(account)}"}
    if "subt_nat_amount" in summary:
        summary["subt_nat_amount"] = {"value": _money(company, total)}
    header = {key: {"value": ""} for key in columns}
    header[columns[0]] = {"value": company.fully_qualified_name(account), "id": account.id}
    return {
        "type": "Section",
        "Header": {"ColData": [header[key] for key in columns]},
        "Rows": {"Row": rows},
        "Summary": {"ColData": [summary[key] for key in columns]},
    }

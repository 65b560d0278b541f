"""The sandbox ledger and its reports: balances by transaction date from journal entries, invoices and credit memos;
BalanceSheet, TrialBalance and GeneralLedger shaped as reference §10.2 describes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from deferredrev.sandbox.intuit import US_REALM, IntuitSandbox
from tests.sandbox.test_intuit_journal import DEFERRED_REVENUE, JE_PATH, SERVICES, entry

REPORTS = f"/v3/company/{US_REALM}/reports"
ANNUAL = "21"  # Deferred Revenue:Annual Subscriptions, a sub-account of Deferred Revenue with no opening balance


def report(qbo_api: httpx.Client, name: str, **params: str) -> dict[str, Any]:
    response = qbo_api.get(f"{REPORTS}/{name}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"Header", "Columns", "Rows"}  # no wrapper key, no top-level time
    return body


def walk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        found.append(row)
        found += walk(row.get("Rows", {}).get("Row", []))
    return found


def post(qbo_api: httpx.Client, txn_date: str, amount: str, doc: str, debit: str = DEFERRED_REVENUE) -> str:
    response = qbo_api.post(JE_PATH, json=entry(amount, debit=debit, TxnDate=txn_date, DocNumber=doc))
    assert response.status_code == 200, response.text
    return str(response.json()["JournalEntry"]["Id"])


def test_balances_follow_transaction_dates(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    opening = intuit.balance(US_REALM, DEFERRED_REVENUE, date(2026, 1, 1))
    assert opening == Decimal("24000")  # the seeded balance, dated the company's creation
    intuit.book_invoice(US_REALM, customer="Acme", amount="1200.00", txn_date=date(2026, 1, 15), account_id=DEFERRED_REVENUE)
    post(qbo_api, "2026-01-31", "100.00", "R-1")
    post(qbo_api, "2026-02-28", "100.00", "R-2")
    intuit.book_invoice(US_REALM, customer="Acme", amount="-300.00", txn_date=date(2026, 2, 10), account_id=DEFERRED_REVENUE)
    assert intuit.balance(US_REALM, DEFERRED_REVENUE, date(2026, 1, 14)) == opening
    assert intuit.balance(US_REALM, DEFERRED_REVENUE, date(2026, 1, 31)) == opening + Decimal("1100.00")
    assert intuit.balance(US_REALM, DEFERRED_REVENUE, date(2026, 2, 28)) == opening + Decimal("700.00")
    assert intuit.balance(US_REALM, SERVICES, date(2026, 2, 28)) == Decimal("200.00")  # income rises with credits


def test_deleting_an_entry_takes_it_out_of_the_ledger(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    entry_id = post(qbo_api, "2026-03-31", "50.00", "R-3", debit=ANNUAL)
    assert intuit.balance(US_REALM, ANNUAL, date(2026, 3, 31)) == Decimal("-50.00")
    intuit.delete_journal_entry(US_REALM, entry_id)
    assert intuit.balance(US_REALM, ANNUAL, date(2026, 3, 31)) == 0


def test_balance_sheet_shows_a_parent_account_as_a_section_with_its_sub_accounts(
    intuit: IntuitSandbox, qbo_api: httpx.Client
) -> None:
    intuit.book_invoice(US_REALM, customer="Acme", amount="500.00", txn_date=date(2026, 3, 1), account_id=ANNUAL)
    post(qbo_api, "2026-03-31", "100.00", "R-4")
    sheet = report(qbo_api, "BalanceSheet", end_date="2026-03-31", accounting_method="Accrual")
    assert sheet["Header"]["ReportName"] == "BalanceSheet" and sheet["Header"]["EndPeriod"] == "2026-03-31"
    keys = [c["MetaData"][0]["Value"] for c in sheet["Columns"]["Column"]]
    assert keys == ["account", "total"]
    rows = walk(sheet["Rows"]["Row"])
    section = next(r for r in rows if r.get("Header", {}).get("ColData", [{}])[0].get("id") == DEFERRED_REVENUE)
    assert section["Summary"]["ColData"][1]["value"] == "24400.00"  # 24,000 - 100 of its own + 500 in a sub-account
    own = [r for r in section["Rows"]["Row"] if r["ColData"][0].get("id") == DEFERRED_REVENUE]
    assert own[0]["ColData"][1]["value"] == "23900.00"
    sub = next(r for r in rows if r.get("ColData", [{}])[0].get("id") == ANNUAL)
    assert sub["type"] == "Data" and sub["ColData"][1]["value"] == "500.00"
    totals = {r["group"]: r["Summary"]["ColData"][1]["value"] for r in sheet["Rows"]["Row"]}
    assert set(totals) == {"TotalAssets", "TotalLiabilitiesAndEquity"}
    earlier = walk(report(qbo_api, "BalanceSheet", end_date="2026-02-28")["Rows"]["Row"])
    assert not any(r.get("ColData", [{}])[0].get("id") == ANNUAL for r in earlier)  # no balance yet: left out


def test_trial_balance_debits_equal_credits_for_the_activity(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    before = report(qbo_api, "TrialBalance", end_date="2026-03-31")["Rows"]["Row"][-1]["Summary"]["ColData"]
    post(qbo_api, "2026-03-31", "125.00", "R-5")
    after = report(qbo_api, "TrialBalance", end_date="2026-03-31")
    assert [c["ColTitle"] for c in after["Columns"]["Column"]] == ["", "Debit", "Credit"]
    row = next(r for r in after["Rows"]["Row"] if r.get("ColData", [{}])[0].get("id") == SERVICES)
    assert row["ColData"][1:] == [{"value": ""}, {"value": "125.00"}]
    total = after["Rows"]["Row"][-1]["Summary"]["ColData"]
    moved = [Decimal(t["value"]) - Decimal(b["value"]) for t, b in zip(total[1:], before[1:], strict=True)]
    assert moved[0] == moved[1]  # the entry balances, so both totals moved alike


def test_general_ledger_lists_an_accounts_transactions_with_running_balance(
    intuit: IntuitSandbox, qbo_api: httpx.Client
) -> None:
    intuit.book_invoice(
        US_REALM, customer="Acme", amount="1200.00", txn_date=date(2026, 1, 15), account_id=DEFERRED_REVENUE,
        doc_number="INV-1",
    )  # fmt: skip
    entry_id = post(qbo_api, "2026-01-31", "100.00", "R-6")
    post(qbo_api, "2026-02-28", "100.00", "R-7")  # after the range
    columns = "tx_date,txn_type,doc_num,name,subt_nat_amount,rbal_nat_amount"
    ledger = report(
        qbo_api, "GeneralLedger", account=DEFERRED_REVENUE, start_date="2026-01-01", end_date="2026-01-31", columns=columns
    )
    assert [c["MetaData"][0]["Value"] for c in ledger["Columns"]["Column"]] == columns.split(",")
    (section,) = ledger["Rows"]["Row"]
    assert section["Header"]["ColData"][0] == {"value": "Deferred Revenue", "id": DEFERRED_REVENUE}
    values = [[cell["value"] for cell in row["ColData"]] for row in section["Rows"]["Row"]]
    assert values == [
        ["Beginning Balance", "", "", "", "", "24000.00"],
        ["2026-01-15", "Invoice", "INV-1", "Acme", "1200.00", "25200.00"],
        ["2026-01-31", "Journal Entry", "R-6", "", "-100.00", "25100.00"],
    ]
    assert section["Rows"]["Row"][2]["ColData"][1]["id"] == entry_id
    assert section["Summary"]["ColData"][4]["value"] == "1100.00"


def test_unknown_reports_and_bad_dates_are_refused(qbo_api: httpx.Client) -> None:
    assert qbo_api.get(f"{REPORTS}/CashFlowForecast").json()["Fault"]["Error"][0]["code"] == "500"
    bad = qbo_api.get(f"{REPORTS}/BalanceSheet", params={"end_date": "31/03/2026"})
    assert bad.status_code == 400 and bad.json()["Fault"]["Error"][0]["code"] == "2040"

"""Intuit's own python-quickbooks client (with intuit-oauth) against the sandbox: it uploads an attachment linked to a
journal entry, finds it by its link, reads it and downloads the file, and reads the reports DeferredRev uses — so
the sandbox parses uploads and answers reports as QuickBooks does for a client we didn't write (reference §11.6)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from intuitlib.client import AuthClient
from quickbooks import QuickBooks
from quickbooks.objects.attachable import Attachable
from quickbooks.objects.base import AttachableRef, Ref
from quickbooks.objects.journalentry import JournalEntry

from deferredrev.qbo.reports import account_balance, ledger_lines
from deferredrev.sandbox.intuit import US_REALM, IntuitSandbox
from tests.sandbox.conftest import REDIRECT_URI, Connect
from tests.sandbox.test_intuit_journal import DEFERRED_REVENUE, entry

CSV = b"contract_id,amount\nC-1,1250.00\n"


@pytest.fixture
def qb(intuit: IntuitSandbox, connect_intuit: Connect, monkeypatch: pytest.MonkeyPatch) -> QuickBooks:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # requests-oauthlib's switch for plain HTTP on loopback
    tokens = connect_intuit(intuit)
    auth = AuthClient(intuit.client_id, intuit.client_secret, REDIRECT_URI, environment=intuit.discovery_url)
    auth.access_token = tokens["access_token"]  # already exchanged: no refresh when the session starts
    client = QuickBooks(auth_client=auth, refresh_token=tokens["refresh_token"], company_id=US_REALM, minorversion=75)
    client.api_url_v3 = f"{intuit.url}/v3"  # a URL-valued environment picks api_url_v3 (reference §9)
    return client


def journal_entry(qb: QuickBooks) -> JournalEntry:
    created = JournalEntry.from_json(qb.create_object("JournalEntry", json.dumps(entry()))["JournalEntry"])
    assert isinstance(created, JournalEntry)
    return created


def test_python_quickbooks_uploads_finds_reads_and_downloads_an_attachment(intuit: IntuitSandbox, qb: QuickBooks) -> None:
    je = journal_entry(qb)
    ref = Ref()
    ref.type, ref.value = "JournalEntry", je.Id
    link = AttachableRef()
    link.EntityRef = ref
    attachment = Attachable()
    attachment.AttachableRef.append(link)
    attachment.FileName, attachment.ContentType = "evidence.csv", "text/csv"
    attachment._FileBytes = CSV

    saved = attachment.save(qb=qb)  # POST /upload with python-quickbooks' own multipart body

    assert saved.Id and saved.FileName == "evidence.csv"
    assert intuit.attachment_content(US_REALM, saved.Id) == CSV
    found = Attachable.where(
        f"AttachableRef.EntityRef.Type = 'JournalEntry' AND AttachableRef.EntityRef.value = '{je.Id}'", qb=qb
    )
    assert [a.Id for a in found] == [saved.Id]
    assert found[0].AttachableRef[0].EntityRef.value == je.Id
    read = Attachable.get(saved.Id, qb=qb)
    assert read.FileName == "evidence.csv" and int(read.Size) == len(CSV)
    assert httpx.get(read.TempDownloadUri).content == CSV


def test_python_quickbooks_reads_the_reports_deferredrev_uses(qb: QuickBooks) -> None:
    journal_entry(qb)  # dated 2026-03-31: Dr Deferred Revenue 1,250
    sheet = qb.get_report("BalanceSheet", qs={"end_date": "2026-03-31", "accounting_method": "Accrual"})
    assert account_balance(sheet, DEFERRED_REVENUE) == Decimal("22750.00")
    ledger = qb.get_report(
        "GeneralLedger", qs={"account": DEFERRED_REVENUE, "start_date": "2026-03-01", "end_date": "2026-03-31"}
    )
    (line,) = ledger_lines(ledger, DEFERRED_REVENUE)
    assert (line.txn_type, line.doc_number, line.amount) == ("Journal Entry", "REVREC-2026-03", Decimal("-1250.00"))

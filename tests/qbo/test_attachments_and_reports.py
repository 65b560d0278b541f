"""Attachments and reports in the qbo package: the multipart body, the report parsers on Intuit's shapes, and the
client's upload / lookup / report calls against the sandbox (a lost answer found again by its link, a refused file
raised as its typed error, a repeat under the same requestid answered once)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from deferredrev.clock import ManualClock
from deferredrev.qbo.attachments import Attachable, AttachmentUpload, boundary_for, multipart_body
from deferredrev.qbo.errors import QboBusinessValidationError, QboNotFoundError, QboTransportError
from deferredrev.qbo.models import JournalEntryLine, JournalEntryRequest, PostingType
from deferredrev.qbo.reports import (
    ReportError,
    account_balance,
    balance_sheet_params,
    general_ledger_params,
    ledger_lines,
)
from deferredrev.sandbox.intuit import US_REALM, AutoConsent, Fault, IntuitSandbox, SandboxConfig
from tests.qbo.test_against_sandbox import REDIRECT, START, client_for

CSV = b"contract_id,amount\r\nC-1,1250.00\r\n"


def upload_for(entry_id: str, content: bytes = CSV, name: str = "evidence.csv") -> AttachmentUpload:
    return AttachmentUpload(name, content, "text/csv", "JournalEntry", entry_id, note="posting key pk-1")


# The multipart body ---------------------------------------------------------------------------------------------


def test_multipart_body_pairs_metadata_and_file_with_crlf() -> None:
    body = multipart_body(upload_for("231"), "B")
    assert body.startswith(b'--B\r\nContent-Disposition: form-data; name="file_metadata_0"\r\n')
    file_part = b'name="file_content_0"; filename="evidence.csv"\r\nContent-Type: text/csv\r\n\r\n'
    assert file_part + CSV + b"\r\n--B--\r\n" in body
    assert (
        b'{"AttachableRef":[{"EntityRef":{"type":"JournalEntry","value":"231"},"IncludeOnSend":false}],'
        b'"FileName":"evidence.csv","ContentType":"text/csv","Note":"posting key pk-1"}'
    ) in body


def test_boundary_is_the_same_for_the_same_key_and_never_inside_the_file() -> None:
    assert boundary_for("rid-1") == boundary_for("rid-1") != boundary_for("rid-2")
    with pytest.raises(ValueError, match="boundary"):
        multipart_body(upload_for("1", content=b"x--" + boundary_for("k").encode()), boundary_for("k"))


@pytest.mark.parametrize("name", ["", 'a"b.csv', "a\r\n.csv", "x" * 1001])
def test_file_names_that_would_break_the_header_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        AttachmentUpload(name, b"", "text/csv", "JournalEntry", "1")


def test_attachable_from_api_reads_links_and_size() -> None:
    attachable = Attachable.from_api(
        {"Id": "500", "SyncToken": "1", "FileName": "a.csv", "Size": 12.0, "Note": "",
         "AttachableRef": [{"EntityRef": {"type": "JournalEntry", "value": "231", "name": ""}}, {"EntityRef": None}]}
    )  # fmt: skip
    assert (attachable.size, attachable.note, attachable.links) == (12, None, (("JournalEntry", "231"),))
    assert attachable.links_to("journalentry", "231") and not attachable.links_to("JournalEntry", "23")


# Report parsers -------------------------------------------------------------------------------------------------

SHEET: dict[str, Any] = {
    "Header": {"ReportName": "BalanceSheet"},
    "Columns": {"Column": [{"ColTitle": "", "ColType": "Account"}, {"ColTitle": "Total", "ColType": "Money"}]},
    "Rows": {"Row": [{
        "type": "Section", "group": "TotalLiabilitiesAndEquity",
        "Header": {"ColData": [{"value": "LIABILITIES AND EQUITY"}, {"value": ""}]},
        "Rows": {"Row": [
            {"type": "Section", "Header": {"ColData": [{"value": "Deferred Revenue", "id": "92"}, {"value": ""}]},
             "Rows": {"Row": [{"type": "Data",
                               "ColData": [{"value": "Deferred Revenue", "id": "92"}, {"value": "3,000.00"}]},
                              {"type": "Data", "ColData": [{"value": "Annual", "id": "93"}, {"value": "750.50"}]}]},
             "Summary": {"ColData": [{"value": "Total Deferred Revenue"}, {"value": "3750.50"}]}},
            {"ColData": [{"value": "Customer Deposits", "id": "95"}, {"value": "-12.00"}]},
        ]},
        "Summary": {"ColData": [{"value": "Total"}, {"value": "3738.50"}]},
    }]},
}  # fmt: skip


def test_account_balance_reads_a_parent_section_a_leaf_and_an_absent_account() -> None:
    assert account_balance(SHEET, "92", sub_accounts=True) == Decimal("3750.50")
    assert account_balance(SHEET, "92") == Decimal("3000.00")  # its own balance
    assert account_balance(SHEET, "93") == Decimal("750.50")
    assert account_balance(SHEET, "95") == Decimal("-12.00")
    assert account_balance(SHEET, "1") == 0  # no balance: not shown


def test_account_balance_refuses_what_is_not_an_amount() -> None:
    broken = {**SHEET, "Rows": {"Row": [{"ColData": [{"value": "X", "id": "7"}, {"value": "n/a"}]}]}}
    with pytest.raises(ReportError):
        account_balance(broken, "7")


def gl(columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Columns": {"Column": columns},
        "Rows": {"Row": [{"type": "Section", "Header": {"ColData": [{"value": "Deferred Revenue", "id": "92"}]},
                          "Rows": {"Row": rows}, "Summary": {"ColData": [{"value": "Total"}]}}]},
    }  # fmt: skip


def test_ledger_lines_by_col_key_skip_the_beginning_balance() -> None:
    keys = ["tx_date", "txn_type", "doc_num", "subt_nat_amount", "rbal_nat_amount"]
    columns = [{"ColTitle": k, "ColType": "String", "MetaData": [{"Name": "ColKey", "Value": k}]} for k in keys]
    rows = [
        {"ColData": [{"value": "Beginning Balance"}, {"value": ""}, {"value": ""}, {"value": ""}, {"value": "10.00"}]},
        {"type": "Data", "ColData": [{"value": "2026-01-31"}, {"value": "Journal Entry", "id": "231"},
                                     {"value": "DR-1"}, {"value": "-100.00"}, {"value": "-90.00"}]},
    ]  # fmt: skip
    (line,) = ledger_lines(gl(columns, rows), "92")
    assert (line.txn_date, line.txn_type, line.txn_id, line.doc_number, line.amount) == (
        date(2026, 1, 31), "Journal Entry", "231", "DR-1", Decimal("-100.00"),
    )  # fmt: skip
    assert ledger_lines(gl(columns, rows), "93") == []


def test_ledger_lines_from_older_reports_keyed_by_col_type() -> None:
    columns = [{"ColTitle": "Date", "ColType": "tx_date"}, {"ColTitle": "Amount", "ColType": "subt_nat_amount"}]
    rows = [{"ColData": [{"value": "2026-02-01"}, {"value": "5"}]}]
    assert [line.amount for line in ledger_lines(gl(columns, rows), "92")] == [Decimal("5")]
    with pytest.raises(ReportError, match="subt_nat_amount"):
        ledger_lines(gl(columns[:1], rows), "92")


def test_report_parameters() -> None:
    assert balance_sheet_params(date(2026, 3, 31))["end_date"] == "2026-03-31"
    params = general_ledger_params("92", date(2026, 1, 1), date(2026, 3, 31))
    assert params["account"] == "92" and "subt_nat_amount" in params["columns"].split(",")


# The client against the sandbox ---------------------------------------------------------------------------------


@pytest.fixture
def sb() -> Iterator[IntuitSandbox]:
    config = SandboxConfig(redirect_uris=(REDIRECT,), auto_consent=AutoConsent(realm_id=US_REALM))
    with IntuitSandbox(config, clock=ManualClock(START)) as sandbox:
        yield sandbox


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def entry_request(doc: str = "DR-2026-03-1") -> JournalEntryRequest:
    lines = (
        JournalEntryLine(PostingType.DEBIT, "20", "Deferred Revenue", Decimal("1250.00"), "C-1 March"),
        JournalEntryLine(PostingType.CREDIT, "36", "Services", Decimal("1250.00"), "C-1 March"),
    )
    return JournalEntryRequest(doc_number=doc, txn_date=date(2026, 3, 31), private_note="pk-1", lines=lines)


def test_client_uploads_finds_and_reads_an_attachment(sb: IntuitSandbox, http: httpx.Client) -> None:
    client, _ = client_for(sb, http)
    entry = client.create_journal_entry(entry_request(), request_id="je-1")
    attached = client.upload_attachment(upload_for(entry.id), request_id="att-1")
    assert attached.file_name == "evidence.csv" and attached.links_to("JournalEntry", entry.id)
    assert sb.attachment_content(US_REALM, attached.id) == CSV
    assert [a.id for a in client.attachables_for("JournalEntry", entry.id)] == [attached.id]
    assert client.attachables_for("JournalEntry", "999") == []
    read = client.attachable(attached.id)
    assert read.note == "posting key pk-1" and read.temporary_download_url is not None


def test_a_lost_upload_answer_is_found_by_its_link_and_a_repeat_is_answered_once(
    sb: IntuitSandbox, http: httpx.Client
) -> None:
    client, _ = client_for(sb, http, max_retries=0)
    entry = client.create_journal_entry(entry_request(), request_id="je-2")
    sb.inject(Fault.commit_then_fail(path="/upload"))  # QuickBooks stores the file; the answer is lost
    with pytest.raises(QboTransportError) as lost:
        client.upload_attachment(upload_for(entry.id), request_id="att-2")
    assert lost.value.outcome_unknown
    (found,) = client.attachables_for("JournalEntry", entry.id)
    again = client.upload_attachment(upload_for(entry.id), request_id="att-2")  # same requestid: replayed
    assert again.id == found.id and len(sb.attachables(US_REALM)) == 1


def test_refused_uploads_raise_their_typed_errors(sb: IntuitSandbox, http: httpx.Client) -> None:
    client, _ = client_for(sb, http)
    with pytest.raises(QboNotFoundError):
        client.upload_attachment(upload_for("999"), request_id="att-3")
    entry = client.create_journal_entry(entry_request(), request_id="je-3")
    with pytest.raises(QboBusinessValidationError):
        client.upload_attachment(upload_for(entry.id, name="evidence.exe"), request_id="att-4")
    assert sb.attachables(US_REALM) == []


def test_client_reads_a_balance_and_the_ledger_of_an_account(sb: IntuitSandbox, http: httpx.Client) -> None:
    client, _ = client_for(sb, http)
    sb.book_invoice(US_REALM, customer="Acme", amount="500.00", txn_date=date(2026, 3, 2), account_id="20", doc_number="I-9")
    entry = client.create_journal_entry(entry_request(), request_id="je-4")
    sheet = client.report("BalanceSheet", balance_sheet_params(date(2026, 3, 31)))
    assert account_balance(sheet, "20") == Decimal("24000") + 500 - Decimal("1250.00")
    ledger = client.report("GeneralLedger", general_ledger_params("20", date(2026, 3, 1), date(2026, 3, 31)))
    lines = ledger_lines(ledger, "20")
    assert [(line.txn_type, line.txn_id, line.amount) for line in lines] == [
        ("Invoice", lines[0].txn_id, Decimal("500.00")),
        ("Journal Entry", entry.id, Decimal("-1250.00")),
    ]
    with pytest.raises(ValueError):
        client.report("../query", {})

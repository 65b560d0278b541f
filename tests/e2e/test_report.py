"""The books prove themselves, end to end: a year of activity in the sandbox company (contracts billed in advance, on
time and late, one amended, one cancelled; months posted late) reports a roll-forward that ties to QuickBooks' ledger
to the cent; a manual entry planted in the account shows up as the difference with its amount; every posted entry
carries exactly one evidence attachment. And `/deferredrev report` in Slack: summary, chart and CSV in the channel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import recognised_total
from deferredrev.sandbox.intuit import RateLimits, SandboxConfig
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.contracts import import_contracts_csv
from deferredrev.services.decisions import Decision
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, TEAM, Stack, actor, running_stack, scale_for_tests
from tests.e2e.test_evidence import attachments_by_entry

ANNUAL = "21"  # Deferred Revenue:Annual Subscriptions: a deferred revenue account that starts the year at zero
SERVICES = "36"
YEAR = "2025-11..2026-10"
HEADER = "contract_id,customer,amount,currency,start_date,end_date,billed_date,cancel_date\n"
ACME = "Y-1,Acme Corp,12000.00,USD,2025-11-01,2026-10-31,2025-11-01,\n"
BETA = "Y-2,Beta LLC,6000.00,USD,2026-01-15,2027-01-14,2025-12-20,\n"  # billed a month in advance
GAMMA = "Y-3,Gamma GmbH,3650.00,USD,2026-03-01,2027-02-28,2026-04-10,\n"  # billed after the service began
DELTA = "Y-4,Delta Inc,{amount},USD,2026-02-01,2026-07-31,2026-02-01,\n"  # amended from 1,800 to 2,400 in May
EPSILON = "Y-5,Epsilon & Sons,1200.00,USD,2026-06-01,2027-05-31,2026-06-01,{cancel}\n"  # cancelled after August


@pytest.fixture
def books(database_url: str, now: object) -> Iterator[Stack]:
    """Connected, the Deferred Revenue account mapped to one that starts at zero, approvers set."""
    config = SandboxConfig(rate_limits=RateLimits(time_scale=60))
    with running_stack(database_url, now=now, intuit_config=config) as stack:  # type: ignore[arg-type]
        scale_for_tests(stack)
        stack.connect()
        stack.slack.wait_for_dm(ADMIN, contains="Connected to")
        stack.server.app.mappings.save(TEAM, deferred_revenue_id=ANNUAL, revenue_id=SERVICES, user_id=ADMIN)
        stack.server.app.workspaces.update(
            TEAM, user_id=ADMIN, approvers=[ADMIN, APPROVER], four_eyes=True, alert_channel=None,
            posting_mode="per_contract", cutover_date=None,
        )  # fmt: skip
        yield stack


def contracts(stack: Stack, *, delta: str = "1800.00", cancel: str = "") -> None:
    text = HEADER + ACME + BETA + GAMMA + DELTA.format(amount=delta) + EPSILON.format(cancel=cancel)
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=text, actor=ADMIN)


def post(stack: Stack, month: str) -> None:
    """Preview the month, have it approved, post it: what people do in the channel, through the services."""
    previews = stack.server.app.previews
    made = previews.create(TEAM, Period.parse(month), requested_by=ADMIN, channel_id=CHANNEL)
    decision = previews.approve(TEAM, made.preview_id, actor(APPROVER))
    assert decision.decision in (Decision.APPROVED, Decision.NOTHING), (month, decision.message)
    stack.server.app.posting.run()


def invoice(stack: Stack, customer: str, amount: str, day: date, number: str) -> None:
    stack.intuit.book_invoice(US_REALM, customer=customer, amount=amount, txn_date=day, account_id=ANNUAL, doc_number=number)


def a_year_of_activity(stack: Stack) -> None:
    contracts(stack)
    invoice(stack, "Acme Corp", "12000.00", date(2025, 11, 1), "INV-101")
    invoice(stack, "Beta LLC", "6000.00", date(2025, 12, 20), "INV-102")
    invoice(stack, "Delta Inc", "1800.00", date(2026, 2, 1), "INV-103")
    invoice(stack, "Gamma GmbH", "3650.00", date(2026, 4, 10), "INV-104")
    for month in ("2025-11", "2025-12", "2026-01", "2026-04"):
        post(stack, month)
    for month in ("2026-02", "2026-03"):  # posted late, after April
        post(stack, month)
    contracts(stack, delta="2400.00")  # Delta's contract grows; the extra 600 is invoiced in May
    invoice(stack, "Delta Inc", "600.00", date(2026, 5, 10), "INV-105")
    invoice(stack, "Epsilon & Sons", "1200.00", date(2026, 6, 1), "INV-106")
    for month in ("2026-05", "2026-06", "2026-07"):
        post(stack, month)
    contracts(stack, delta="2400.00", cancel="2026-08-31")  # Epsilon cancels: the unearned part is credited
    cancelled = Contract("Y-5", "Epsilon", 120000, "USD", date(2026, 6, 1), date(2027, 5, 31), cancel_date=date(2026, 8, 31))
    unearned = Decimal(120000 - recognised_total(cancelled)) / 100
    invoice(stack, "Epsilon & Sons", f"-{unearned}", date(2026, 8, 31), "CM-107")
    for month in ("2026-08", "2026-09", "2026-10"):
        post(stack, month)
    assert stack.server.app.evidence.run().failed == 0


def test_a_year_ties_to_the_cent_a_manual_entry_shows_with_its_amount_and_every_entry_has_its_evidence(
    books: Stack,
) -> None:
    stack = books
    a_year_of_activity(stack)
    reports = stack.server.app.reports
    first, last = Period(2025, 11), Period(2026, 10)

    tied = reports.build(TEAM, first, last, requested_by=ADMIN).content["tie_out"]
    balance = stack.intuit.balance(US_REALM, ANNUAL, date(2026, 10, 31))
    assert tied["quickbooks"] == int(balance * 100) == tied["schedule"] > 0
    assert tied["difference"] == 0 and tied["causes"] == []

    stack.intuit.post_journal_entry(US_REALM, {
        "TxnDate": "2026-09-15", "DocNumber": "ADJ-1", "PrivateNote": "reclass by hand",
        "Line": [
            {"Amount": 250, "DetailType": "JournalEntryLineDetail",
             "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": ANNUAL}}},
            {"Amount": 250, "DetailType": "JournalEntryLineDetail",
             "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": SERVICES}}},
        ],
    })  # fmt: skip
    planted = reports.build(TEAM, first, last, requested_by=ADMIN).content["tie_out"]
    assert planted["difference"] == -25000
    (manual,) = planted["causes"]
    assert manual["kind"] == "manual" and manual["amount"] == -25000
    assert "ADJ-1 on 2026-09-15: -250.00 USD" in manual["text"]

    ours = {str(e["Id"]) for e in stack.intuit.journal_entries(US_REALM) if e.get("DocNumber") != "ADJ-1"}
    by_entry = attachments_by_entry(stack)
    assert len(ours) > 12 and all(len(by_entry[entry_id]) == 1 for entry_id in ours)
    assert [len(found) for entry_id, found in by_entry.items() if entry_id not in ours] == [0]  # the manual one


def test_a_month_not_posted_and_an_invoice_booked_elsewhere_are_named_with_their_amounts(books: Stack) -> None:
    stack = books
    contracts(stack)
    invoice(stack, "Acme Corp", "12000.00", date(2025, 11, 1), "INV-101")
    stack.intuit.book_invoice(
        US_REALM, customer="Beta LLC", amount="6000.00", txn_date=date(2025, 12, 20), account_id="20", doc_number="INV-102"
    )  # booked to the parent account, not the mapped one
    post(stack, "2025-11")
    tied = stack.server.app.reports.build(TEAM, Period(2025, 11), Period(2025, 12), requested_by=ADMIN).content["tie_out"]
    kinds = {cause["kind"]: cause for cause in tied["causes"]}
    assert set(kinds) == {"not_posted", "billing"}
    assert kinds["billing"]["amount"] == -600000 and "invoices not booked to the mapped account" in kinds["billing"]["text"]
    assert kinds["not_posted"]["amount"] > 0 and "(Dec 2025)" in kinds["not_posted"]["text"]
    assert tied["difference"] == sum(cause["amount"] for cause in tied["causes"])


def test_the_preview_shows_the_tie_out_and_the_approval_records_it(books: Stack) -> None:
    stack = books
    contracts(stack)
    invoice(stack, "Acme Corp", "12000.00", date(2025, 11, 1), "INV-101")
    stack.command("preview 2025-11")
    message = stack.slack.wait_for_message(CHANNEL, contains="Revenue recognition")
    text = str(message.blocks)
    assert "Tie-out" in text and "difference" in text and "Posting this preview moves the difference to 0.00 USD" in text
    with stack.server.runtime.sessions() as session:
        from sqlalchemy import select

        from deferredrev.storage.models import AuditEvent, Preview

        preview_id = session.scalars(select(Preview.id)).one()
    assert stack.server.app.previews.approve(TEAM, preview_id, actor(APPROVER)).decision is Decision.APPROVED
    with stack.server.runtime.sessions() as session:
        approved = session.scalars(select(AuditEvent).where(AuditEvent.action == "preview.approved")).one()
    assert approved.details["tie_out"]["difference"] == approved.details["tie_out"]["causes"][0]["amount"] != 0
    stack.server.app.posting.run()
    stack.server.app.evidence.run()
    (attachment,) = stack.intuit.attachables(US_REALM)
    content = stack.intuit.attachment_content(US_REALM, attachment["Id"]).decode()
    assert "likely cause 1,Months not posted:" in content and "QuickBooks balance,12000.00" in content


def test_report_in_slack_posts_the_summary_the_chart_and_the_csv(books: Stack) -> None:
    stack = books
    a_year_of_activity(stack)
    stack.command(f"report {YEAR}")
    message = stack.slack.wait_for_message(CHANNEL, contains="Deferred revenue roll-forward", timeout=20)
    text = str(message.blocks)
    assert "Nov 2025–Oct 2026" in text and "ties to the cent" in text and "Oct 2026" in text
    files = stack.slack.wait_for(
        lambda: (found := [f for f in stack.slack.files if f.name.startswith("deferredrev-rollforward-")])
        and len(found) == 2 and found,
        timeout=20, message="the chart and the CSV",
    )  # fmt: skip
    by_type = {f.filetype: f for f in files}
    assert by_type["png"].content.startswith(b"\x89PNG") and by_type["png"].alt_txt
    assert by_type["png"].channels == [CHANNEL] and by_type["csv"].channels == [CHANNEL]
    rows = list(csv.DictReader(io.StringIO(by_type["csv"].content.decode())))
    october = next(r for r in rows if r["month"] == "2026-10" and r["contract_id"] == "TOTAL")
    assert Decimal(october["closing"]) * 100 == stack.intuit.balance(US_REALM, ANNUAL, date(2026, 10, 31)) * 100
    assert Decimal(october["recognised_not_yet_posted"]) == 0


def test_report_refuses_a_bad_range_with_how_to_write_one(books: Stack) -> None:
    stack = books
    stack.command("report 2026-10..2026-01")
    answer = stack.ephemeral_text(ADMIN, contains="ends before it starts")
    assert "/deferredrev report 2026-01..2026-12" in answer

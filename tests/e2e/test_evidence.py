"""Evidence attached to every posted entry in QuickBooks, exactly once: the approval record, the lines and the
schedules; a lost answer looked up before anything is sent again; throttling retried later; a refusal shown without
touching the entry; a stalled worker's upload found by the worker that takes over; reversals too."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from deferredrev.qbo.client import Backoff
from deferredrev.sandbox.intuit import Fault
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.evidence import EvidenceWorker
from deferredrev.services.posting import SINGLE_CALLS_PER_MINUTE, Pacer
from deferredrev.storage.models import EntryEvidence, EntryStatus, EvidenceStatus, JournalEntry, Preview
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, TEAM, Stack, actor
from tests.e2e.test_posting_faults import approve_without_posting, statuses
from tests.e2e.test_preview_posting import click_post, preview, qbo_entries, reverse, wait_posted
from tests.services.test_evidence_record import sections


def attachments_by_entry(stack: Stack) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    found: dict[str, list[dict]] = {e["Id"]: [] for e in qbo_entries(stack)}  # type: ignore[type-arg]
    for attachable in stack.intuit.attachables(US_REALM):
        for link in attachable["AttachableRef"]:
            found.setdefault(link["EntityRef"]["value"], []).append(attachable)
    return found


def evidence_statuses(stack: Stack) -> list[str]:
    with stack.server.runtime.sessions() as session:
        return list(session.scalars(select(EntryEvidence.status).order_by(EntryEvidence.id)))


def preview_of(stack: Stack, ts: str) -> int | None:
    with stack.server.runtime.sessions() as session:
        return session.scalars(select(Preview.id).where(Preview.slack_ts == ts)).first()


def posted_without_evidence(stack: Stack) -> int:
    preview_id = approve_without_posting(stack)
    assert stack.server.app.posting.run().posted == 5
    return preview_id


def test_every_posted_entry_gets_one_attachment_with_the_approval_record(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    blocks = wait_posted(stack, ts, contains="Evidence attached in QuickBooks to each of the 5 entries")
    assert ":paperclip:" in blocks
    by_entry = attachments_by_entry(stack)
    assert len(by_entry) == 5 and all(len(found) == 1 for found in by_entry.values())
    with stack.server.runtime.sessions() as session:
        entries = {e.qbo_id: e for e in session.scalars(select(JournalEntry))}
        for qbo_id, (attachable,) in by_entry.items():
            entry = entries[qbo_id]
            assert attachable["FileName"] == f"deferredrev-evidence-{entry.doc_number}.csv"
            assert entry.posting_key in attachable["Note"] and attachable["ContentType"] == "text/csv"
            record = sections(stack.intuit.attachment_content(US_REALM, attachable["Id"]))
            approval = dict(record["approval record"][1:])
            assert approval["journal entry (DocNumber)"] == entry.doc_number and approval["QuickBooks id"] == qbo_id
            assert approval["posting key"] == entry.posting_key
            assert approval["previewed by (Slack user)"] == f"Ana Admin ({ADMIN})"  # a person, never an ID alone
            assert approval["approved by (Slack user)"] == f"Bo Approver ({APPROVER})"
            assert approval["approved at (UTC)"].startswith(stack.clock.now().date().isoformat())
            assert approval["Slack channel"] == CHANNEL
            assert approval["Slack message"].startswith("https://") and ts.replace(".", "") in approval["Slack message"]
            assert approval["tie-out as of"] == "2026-10-31" and "QuickBooks balance" in approval  # shown with the preview
            lines = record["lines"][1:]
            assert [line[1] for line in lines] == ["Debit", "Credit"] * (len(lines) // 2)
            contract = entry.lines[0].contract_id
            schedule = [row for row in record["schedules through 2026-10"][1:] if row[0] == contract]
            assert schedule and schedule[-1][9] == "2026-10"  # month by month through the entry's period
            posts = sum(r.amount_minor for r in entry.recognitions if r.contract_id == contract)
            assert sum(Decimal(row[12]) for row in schedule) * 100 == posts  # what this entry posts, month by month


def test_a_lost_upload_answer_is_looked_up_before_anything_is_sent_again(ready: Stack) -> None:
    stack = ready
    posted_without_evidence(stack)
    stack.server.app.gateway.backoff = Backoff(base=0.01, cap=0.02)
    stack.intuit.inject(Fault.commit_then_fail("reset", path="/upload", times=30))  # every answer lost, retries too
    first = stack.server.app.evidence.run()
    assert first.attached == 0 and set(evidence_statuses(stack)) == {EvidenceStatus.UNKNOWN.value}
    assert len(stack.intuit.attachables(US_REALM)) == 5  # QuickBooks has them all the same
    uploads = stack.intuit.requests.count(path_contains="/upload")
    lookups = stack.intuit.requests.count(path_contains="/query")
    stack.intuit.clear_faults()
    stack.clock.advance(timedelta(minutes=1))  # the retry is due
    second = stack.server.app.evidence.run()
    assert second.attached == 5 and set(evidence_statuses(stack)) == {EvidenceStatus.ATTACHED.value}
    assert stack.intuit.requests.count(path_contains="/upload") == uploads  # found, not sent again
    assert stack.intuit.requests.count(path_contains="/query") == lookups + 5
    assert all(len(found) == 1 for found in attachments_by_entry(stack).values())


def test_throttled_uploads_wait_and_are_retried_never_blocking_the_entries(ready: Stack) -> None:
    stack = ready
    posted_without_evidence(stack)
    stack.server.app.gateway.backoff = Backoff(base=0.01, cap=0.02, throttle_delay=0.01, max_wait=0.05)
    stack.intuit.inject(Fault.http_status(429, path="/upload", times=30))
    first = stack.server.app.evidence.run()
    assert first.retry_later == 5 and set(evidence_statuses(stack)) == {EvidenceStatus.PENDING.value}
    assert set(statuses(stack)) == {EntryStatus.POSTED.value} and stack.intuit.attachables(US_REALM) == []
    stack.intuit.clear_faults()
    assert stack.server.app.evidence.run().attached == 0  # not due yet: it waits its backoff out
    stack.clock.advance(timedelta(minutes=2))
    assert stack.server.app.evidence.run().attached == 5
    assert all(len(found) == 1 for found in attachments_by_entry(stack).values())


def test_a_refused_attachment_is_shown_and_the_entry_stays_posted(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    preview_id = stack.slack.wait_for(lambda: preview_of(stack, ts), message="the preview to know its message")
    stack.server.app.previews.approve(TEAM, preview_id, actor(APPROVER))  # approved without the background run
    assert stack.server.app.posting.run().posted == 5
    stack.intuit.delete_journal_entry(US_REALM, qbo_entries(stack)[0]["Id"])  # someone deletes one in QuickBooks
    report = stack.server.app.evidence.run()
    assert (report.attached, report.failed) == (4, 1)
    blocks = wait_posted(stack, ts, contains="couldn't be")
    assert "Evidence attached in QuickBooks to 4 of 5 entries" in blocks and "QuickBooks refused" in blocks
    assert set(statuses(stack)) == {EntryStatus.POSTED.value}  # the entries are untouched
    stack.clock.advance(timedelta(hours=2))
    assert stack.server.app.evidence.run().attached == 0  # a refusal is not sent again


def test_a_stalled_workers_upload_is_found_by_the_worker_that_takes_over(ready: Stack) -> None:
    stack = ready
    posted_without_evidence(stack)
    stack.intuit.inject(Fault.commit_then_hang(3, path="/upload"))  # QuickBooks stores the first file, then stalls
    stalled = stack.server.app.evidence
    thread = threading.Thread(target=stalled.run)
    thread.start()
    try:
        stack.slack.wait_for(lambda: len(stack.intuit.attachables(US_REALM)) == 1, timeout=10, message="the first upload")
        stack.clock.advance(timedelta(minutes=6))  # its lease runs out while it waits
        other = EvidenceWorker(
            sessions=stack.server.runtime.sessions, gateway=stack.server.app.gateway, clock=stack.clock,
            pacer=Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=60),
        )  # fmt: skip
        report = other.run()
    finally:
        thread.join(timeout=30)
    assert report.attached == 5 and set(evidence_statuses(stack)) == {EvidenceStatus.ATTACHED.value}
    assert stack.intuit.requests.count(method="POST", path_contains="/upload") == 5  # one per entry, never two
    assert all(len(found) == 1 for found in attachments_by_entry(stack).values())


def test_reversing_entries_get_their_evidence_too(ready: Stack) -> None:
    stack = ready
    original = posted_without_evidence(stack)
    reverse(stack, original)
    stack.server.app.posting.run()
    assert stack.server.app.evidence.run().attached == 10
    by_entry = attachments_by_entry(stack)
    assert len(by_entry) == 10 and all(len(found) == 1 for found in by_entry.values())
    reversal = next(e for e in qbo_entries(stack) if e["DocNumber"].startswith("RV"))
    (attachable,) = by_entry[reversal["Id"]]
    approval = dict(sections(stack.intuit.attachment_content(US_REALM, attachable["Id"]))["approval record"][1:])
    assert approval["kind"] == "reversal" and approval["reverses"].startswith("DR2610-")
    assert approval["approved by (Slack user)"] == f"Bo Approver ({APPROVER})"

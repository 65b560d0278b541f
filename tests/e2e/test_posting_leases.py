"""Two workers and one outbox: a lease that runs out while its holder is still in a QuickBooks call must never put
an entry into QuickBooks twice. The company has ``WarnDuplicateJournalNumber`` off, so QuickBooks itself accepts a
second entry with the same DocNumber (no 6140 safety net)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from deferredrev.qbo.client import Backoff
from deferredrev.revrec.periods import Period
from deferredrev.sandbox.intuit import Fault
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.posting import BATCH_CALLS_PER_MINUTE, SINGLE_CALLS_PER_MINUTE, Pacer, PostingWorker, WorkReport
from deferredrev.storage.models import EntryStatus, JournalEntry, JournalEntryLine
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, TEAM, Stack, actor
from tests.e2e.test_preview_posting import qbo_entries

MAX_RETRIES = 4  # QboClient's default: a write with a requestid is retried that many times
OCTOBER_ENTRIES = 5  # the harness contracts' October entries
NOVEMBER_ENTRIES = 4


def approve(stack: Stack, period: str) -> int:
    """Approve a period's preview through the service, without the background run, so the test decides who posts."""
    previews = stack.server.app.previews
    result = previews.create(TEAM, Period.parse(period), requested_by=ADMIN, channel_id=CHANNEL)
    decision = previews.approve(TEAM, result.preview_id, actor(APPROVER))
    assert decision.entries, decision
    return int(decision.entries)


def replica(stack: Stack, **options: object) -> PostingWorker:
    """Another worker process's PostingWorker, paced like the harness's (a QuickBooks minute lasts a second)."""
    app = stack.server.app
    paced: dict[str, object] = {
        "batch_pacer": Pacer(BATCH_CALLS_PER_MINUTE, time_scale=60),
        "single_pacer": Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=60),
    }
    return PostingWorker(
        sessions=app.runtime.sessions,
        gateway=app.gateway,
        clock=stack.clock,
        **{**paced, **options},  # type: ignore[arg-type]
    )


def rows(stack: Stack) -> list[tuple[str, str, str | None]]:
    with stack.server.runtime.sessions() as session:
        return [(r.doc_number, r.status, r.qbo_id) for r in session.scalars(select(JournalEntry).order_by(JournalEntry.id))]


def assert_each_entry_once_in_quickbooks(stack: Stack, expected: int) -> None:
    entries = qbo_entries(stack)
    docs = sorted(e["DocNumber"] for e in entries)
    assert len(entries) == expected and len(set(docs)) == expected, f"QuickBooks holds {len(entries)} entries: {docs}"
    recorded = rows(stack)
    assert {status for _, status, _ in recorded} == {EntryStatus.POSTED.value}, recorded
    by_doc = {e["DocNumber"]: e["Id"] for e in entries}
    assert {doc: qbo_id for doc, _, qbo_id in recorded} == by_doc  # every row points at the one entry QBO holds


def in_flight(stack: Stack) -> None:
    """Until the sandbox took the injected fault: the first worker's /batch is then inside QuickBooks."""
    stack.slack.wait_for(lambda: not stack.intuit.faults.pending(), timeout=10, message="the /batch call to arrive")


def run_in_thread(worker: PostingWorker, reports: list[WorkReport]) -> threading.Thread:
    thread = threading.Thread(target=lambda: reports.append(worker.run()), daemon=True)
    thread.start()
    return thread


def test_a_lease_lapsing_during_a_slow_batch_never_posts_an_entry_twice(ready: Stack) -> None:
    """A's /batch is slow to reach QuickBooks; meanwhile A's lease runs out (A's heartbeat, once a minute, does not
    come round in this test: A stands for a worker that stalled), a new preview is approved and B claims A's entries
    together with the new ones. B must not create A's entries a second time (before the fix: 14 entries in
    QuickBooks with 9 DocNumbers). B looks A's entries up, and sends them again as A's batch, with A's requestid."""
    stack = ready
    stack.intuit.set_preferences(US_REALM, warn_duplicate_doc_number=False)
    approve(stack, "2026-10")
    a, b = replica(stack), replica(stack)
    stack.intuit.inject(Fault.delay(5, path="/batch"))  # spent before QuickBooks acts on (or remembers) the request
    reports: list[WorkReport] = []
    thread = run_in_thread(a, reports)
    in_flight(stack)
    stack.clock.advance(timedelta(minutes=6))  # A's lease runs out while its call is still under way
    assert approve(stack, "2026-11") == NOVEMBER_ENTRIES
    b_report = b.run()
    thread.join(30)
    assert not thread.is_alive()
    assert_each_entry_once_in_quickbooks(stack, OCTOBER_ENTRIES + NOVEMBER_ENTRIES)
    assert b_report.posted + reports[0].posted == OCTOBER_ENTRIES + NOVEMBER_ENTRIES  # each entry counted once


def test_a_late_success_and_the_new_holders_lookup_agree_on_one_entry(ready: Stack) -> None:
    """A's batch reaches QuickBooks but its answer is slow; B, finding A's lease lapsed, looks the entries up by
    DocNumber and records them; A's answer then arrives. One entry each in QuickBooks, one POSTED row each."""
    stack = ready
    stack.intuit.set_preferences(US_REALM, warn_duplicate_doc_number=False)
    approve(stack, "2026-10")
    a, b = replica(stack), replica(stack)
    stack.intuit.inject(Fault.commit_then_hang(6, path="/batch"))  # QuickBooks commits, the answer is held back
    reports: list[WorkReport] = []
    thread = run_in_thread(a, reports)
    in_flight(stack)
    stack.slack.wait_for(lambda: len(qbo_entries(stack)) == OCTOBER_ENTRIES, timeout=10, message="A's entries in QBO")
    stack.clock.advance(timedelta(minutes=6))
    approve(stack, "2026-11")
    lookups = stack.intuit.requests.count(path_contains="/query")
    b_report = b.run()
    assert stack.intuit.requests.count(path_contains="/query") >= lookups + OCTOBER_ENTRIES  # B looked before sending
    thread.join(30)
    assert not thread.is_alive()
    assert_each_entry_once_in_quickbooks(stack, OCTOBER_ENTRIES + NOVEMBER_ENTRIES)
    assert b_report.posted + reports[0].posted == OCTOBER_ENTRIES + NOVEMBER_ENTRIES


class StallingPacer(Pacer):
    """A pacer whose first wait stands for the worker stalling (a long pause, a slow pacing slot): ``stall`` runs
    there, before the call it paces is sent."""

    def __init__(self, stall: Callable[[], None]) -> None:
        super().__init__(BATCH_CALLS_PER_MINUTE, time_scale=60)
        self._stall: Callable[[], None] | None = stall

    def wait(self, slots: object, realm_id: str, kind: str) -> None:  # type: ignore[override]
        stall, self._stall = self._stall, None
        if stall is not None:
            stall()
        super().wait(slots, realm_id, kind)  # type: ignore[arg-type]


def test_a_worker_that_lost_its_lease_before_sending_sends_nothing(ready: Stack) -> None:
    """A stalls between its claim and its call for longer than the lease; B takes the entries over and posts them.
    When A wakes up it must not send: QuickBooks may have forgotten the requestid by then (here: it has), and A's
    batch would create every entry again."""
    stack = ready
    stack.intuit.set_preferences(US_REALM, warn_duplicate_doc_number=False)
    approve(stack, "2026-10")
    b = replica(stack)
    b_reports: list[WorkReport] = []
    batches: list[int] = []

    def stall() -> None:
        stack.clock.advance(timedelta(minutes=6))
        approve(stack, "2026-11")
        b_reports.append(b.run())
        stack.intuit.idempotency.clear()  # how long QuickBooks remembers a requestid is not documented
        batches.append(stack.intuit.requests.count(path_contains="/batch"))

    a = replica(stack, batch_pacer=StallingPacer(stall))
    a_report = a.run()
    assert b_reports and b_reports[0].posted == OCTOBER_ENTRIES + NOVEMBER_ENTRIES
    assert a_report.posted == 0 and a_report.failed == 0
    assert stack.intuit.requests.count(path_contains="/batch") == batches[0]  # A sent nothing once it woke up
    assert_each_entry_once_in_quickbooks(stack, OCTOBER_ENTRIES + NOVEMBER_ENTRIES)


def test_a_live_worker_keeps_its_lease_through_a_long_call(ready: Stack) -> None:
    """While A's call is slow, A renews its lease; B, running meanwhile, leaves A's entries alone."""
    stack = ready
    stack.intuit.set_preferences(US_REALM, warn_duplicate_doc_number=False)
    approve(stack, "2026-10")
    a, b = replica(stack, renew_every=0.05), replica(stack)
    stack.intuit.inject(Fault.delay(5, path="/batch"))
    reports: list[WorkReport] = []
    thread = run_in_thread(a, reports)
    in_flight(stack)
    stack.clock.advance(timedelta(minutes=6))

    def renewed() -> bool:
        with stack.server.runtime.sessions() as session:
            leases = session.scalars(select(JournalEntry.lease_until).where(JournalEntry.status == "posting")).all()
        return bool(leases) and all(until is not None and until > stack.clock.now() for until in leases)

    stack.slack.wait_for(renewed, timeout=5, message="A to renew its lease")
    approve(stack, "2026-11")
    lookups = stack.intuit.requests.count(path_contains="/query")
    b_report = b.run()
    assert b_report.posted == NOVEMBER_ENTRIES  # only the new preview's entries
    assert stack.intuit.requests.count(path_contains="/query") == lookups  # nothing of A's was in doubt
    thread.join(30)
    assert reports[0].posted == OCTOBER_ENTRIES
    assert_each_entry_once_in_quickbooks(stack, OCTOBER_ENTRIES + NOVEMBER_ENTRIES)


def test_an_entry_quickbooks_cannot_take_is_failed_with_the_reason_not_retried_forever(ready: Stack) -> None:
    """An entry whose amounts QuickBooks can't take (here written straight into the outbox) is recorded FAILED with
    a message, and the rest of its claim still posts."""
    stack = ready
    approve(stack, "2026-10")
    with stack.server.runtime.sessions.begin() as session:
        first = session.scalars(select(JournalEntry.id).order_by(JournalEntry.id)).first()
        session.execute(update(JournalEntryLine).where(JournalEntryLine.entry_id == first).values(amount_minor=10**12))
    report = stack.server.app.posting.run()
    assert (report.posted, report.failed) == (OCTOBER_ENTRIES - 1, 1)
    with stack.server.runtime.sessions() as session:
        broken = session.get(JournalEntry, first)
        assert broken is not None and broken.status == EntryStatus.FAILED.value
        assert broken.error_message and "too large" in broken.error_message
        assert broken.lease_owner is None
    assert stack.server.app.posting.run().posted == 0  # nothing left, nothing crashes
    assert len(qbo_entries(stack)) == OCTOBER_ENTRIES - 1


def test_an_entry_in_doubt_stays_in_doubt_when_the_connection_then_fails(ready: Stack) -> None:
    """Entry 1 stays throttled (back to pending), entry 2's call is cut off on every try (it may have reached
    QuickBooks), then QuickBooks refuses the tokens for entry 3: entry 2 must come back as unknown, to be looked up
    before any resend, not as pending."""
    stack = ready
    approve(stack, "2026-10")
    worker = replica(stack, use_batch=False)
    stack.server.app.gateway.backoff = Backoff(base=0.01, cap=0.05, throttle_delay=0.01, max_wait=1)
    stack.intuit.inject(Fault.http_status(429, path="/journalentry", method="POST", times=1 + MAX_RETRIES))
    stack.intuit.inject(Fault.connection_reset(path="/journalentry", method="POST", times=1 + MAX_RETRIES))
    stack.intuit.inject(Fault.http_status(401, path="/journalentry", method="POST", times=5))
    stack.intuit.inject(Fault.http_status(400, path="/tokens/bearer", times=5, content_type="application/json",
                                          body='{"error": "invalid_grant"}'))  # fmt: skip
    worker.run(max_rounds=1)
    with stack.server.runtime.sessions() as session:
        statuses = [row.status for row in session.scalars(select(JournalEntry).order_by(JournalEntry.id))]
    assert statuses[1] == EntryStatus.UNKNOWN.value, statuses
    assert {statuses[0], *statuses[2:]} == {EntryStatus.PENDING.value}, statuses


def test_a_claim_sent_as_two_calls_is_sent_again_as_the_same_two(ready: Stack) -> None:
    """A's claim holds four fresh entries and one in doubt, so A sends two calls; A stalls in the batch of four and
    its lease lapses. B takes all five over: the four must go again in A's batch, under its requestid, not in a new
    batch of five (before the fix QuickBooks held 9 entries for 5)."""
    stack = ready
    stack.intuit.set_preferences(US_REALM, warn_duplicate_doc_number=False)  # no DocNumber safety net
    approve(stack, "2026-10")
    with stack.server.runtime.sessions.begin() as session:
        last = session.scalars(select(JournalEntry.id).order_by(JournalEntry.id.desc())).first()
        # released as unknown by an earlier run whose call never reached QuickBooks
        session.execute(update(JournalEntry).where(JournalEntry.id == last).values(status=EntryStatus.UNKNOWN.value))
    a, b = replica(stack), replica(stack)
    stack.intuit.inject(Fault.delay(5, path="/batch"))
    reports: list[WorkReport] = []
    stalled = run_in_thread(a, reports)
    in_flight(stack)
    stack.clock.advance(timedelta(minutes=6))
    b.run()
    stalled.join(30)
    docs = [entry["DocNumber"] for entry in qbo_entries(stack)]
    assert len(docs) == OCTOBER_ENTRIES and len(set(docs)) == OCTOBER_ENTRIES, docs
    with stack.server.runtime.sessions() as session:
        statuses = set(session.scalars(select(JournalEntry.status)))
    assert statuses == {EntryStatus.POSTED.value}

"""Exactly once, whatever happens: a crash between the QBO call and our commit, a timeout after QBO committed,
a throttled burst, and a 5,000-contract period."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from deferredrev.qbo.client import Backoff
from deferredrev.sandbox.intuit import Fault, RateLimits
from deferredrev.sandbox.intuit.ratelimit import RateLimiter
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.contracts import import_contracts_csv
from deferredrev.services.posting import SINGLE_CALLS_PER_MINUTE, Pacer, PostingWorker, WorkReport
from deferredrev.storage.models import EntryStatus, JournalEntry
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, TEAM, Stack, actor
from tests.e2e.test_preview_posting import click_post, expected_revenue, preview, qbo_entries, revenue_in_qbo, wait_posted

ROOT = Path(__file__).resolve().parents[2]


def approve_without_posting(stack: Stack, entries: int = 5) -> int:
    """Approve a preview through the service, without the immediate background run, so a test controls posting."""
    result = stack.server.app.previews.create(TEAM, stack.server.app.previews.default_period().parse("2026-10"),
                                              requested_by=ADMIN, channel_id=CHANNEL)  # fmt: skip
    decision = stack.server.app.previews.approve(TEAM, result.preview_id, actor(APPROVER))
    assert decision.entries == entries, decision
    return result.preview_id


def statuses(stack: Stack) -> list[str]:
    with stack.server.runtime.sessions() as session:
        return list(session.scalars(select(JournalEntry.status).order_by(JournalEntry.id)))


def test_worker_killed_between_the_qbo_call_and_the_commit_posts_once(ready: Stack) -> None:
    stack = ready
    approve_without_posting(stack)
    stack.intuit.inject(Fault.commit_then_hang(30, path="/batch"))  # QBO commits, then the answer never comes back
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.posting_worker"], env={**os.environ, **stack.service_env()}, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stack.slack.wait_for(lambda: len(qbo_entries(stack)) == 5, timeout=30, message="QBO to hold the 5 entries")
        time.sleep(0.2)
    finally:
        worker.kill()  # the crash: after QuickBooks committed, before our commit
        worker.communicate(timeout=10)
    assert statuses(stack) == [EntryStatus.POSTING.value] * 5  # our side never learned the outcome
    stack.clock.advance(timedelta(minutes=6))  # the dead worker's lease runs out
    report = stack.server.app.posting.run()
    assert report.posted == 5
    assert statuses(stack) == [EntryStatus.POSTED.value] * 5
    entries = qbo_entries(stack)
    assert len(entries) == 5 and len({e["DocNumber"] for e in entries}) == 5
    assert revenue_in_qbo(entries) == expected_revenue(stack)


def test_lost_answer_is_retried_with_the_same_requestid(ready: Stack) -> None:
    stack = ready
    approve_without_posting(stack)
    stack.intuit.inject(Fault.commit_then_fail("reset", path="/batch"))
    report = stack.server.app.posting.run()
    assert report.posted == 5 and set(statuses(stack)) == {EntryStatus.POSTED.value}
    assert len(qbo_entries(stack)) == 5  # QuickBooks replayed its first answer instead of posting again


def test_timeout_after_qbo_committed_is_looked_up_not_reposted(ready: Stack) -> None:
    stack = ready
    approve_without_posting(stack)
    stack.server.app.gateway.backoff = Backoff(base=0.01, cap=0.02)
    stack.intuit.inject(Fault.commit_then_fail("reset", path="/batch", times=10))  # every retry loses its answer too
    first = stack.server.app.posting.run()
    assert first.posted == 0 and set(statuses(stack)) == {EntryStatus.UNKNOWN.value}
    assert len(qbo_entries(stack)) == 5
    lookups = stack.intuit.requests.count(path_contains="/query")
    stack.intuit.clear_faults()
    second = stack.server.app.posting.run()
    assert second.posted == 5 and set(statuses(stack)) == {EntryStatus.POSTED.value}
    assert stack.intuit.requests.count(path_contains="/query") == lookups + 5  # looked up before any retry
    assert len(qbo_entries(stack)) == 5


def test_throttled_burst_completes_without_loss_or_duplicates(ready: Stack) -> None:
    stack = ready
    contracts = "contract_id,customer,amount,currency,start_date,end_date\n" + "".join(
        f"B-{n:04d},Burst customer {n},{1000 + n}.00,USD,2026-10-01,2027-09-30\n" for n in range(120)
    )
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=contracts, actor=ADMIN)
    posting = stack.server.app.posting
    posting.use_batch = False
    posting.single_pacer = Pacer(100_000)  # no pacing, and QuickBooks' real 10-per-second limit: we get throttled
    stack.intuit.limiter = RateLimiter(RateLimits(time_scale=1))
    stack.server.app.gateway.backoff = Backoff(base=0.01, cap=0.1, throttle_delay=0.2, max_wait=5)
    ts = preview(stack)
    click_post(stack, ts)
    for _ in range(40):  # what the scheduler does: entries still throttled wait for the next run
        if "Posted 125 entries" in str(stack.slack.message(CHANNEL, ts).blocks):
            break
        time.sleep(0.5)
        posting.run()
    wait_posted(stack, ts, contains="Posted 125 entries", timeout=10)
    throttled = stack.intuit.requests.count(status=429)
    assert throttled > 0, "the burst should have been throttled"
    entries = qbo_entries(stack)
    assert len(entries) == 125 and len({e["DocNumber"] for e in entries}) == 125
    with stack.server.runtime.sessions() as session:
        assert session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.status == "posted")) == 125


def test_a_five_thousand_contract_period(ready: Stack) -> None:
    stack = ready
    contracts = "contract_id,customer,amount,currency,start_date,end_date\n" + "".join(
        f"K-{n:05d},Customer {n},{(n % 997) * 13 + 120}.{n % 100:02d},USD,2026-{(n % 9) + 1:02d}-{(n % 27) + 1:02d},"
        f"2027-{(n % 12) + 1:02d}-{(n % 28) + 1:02d}\n"
        for n in range(5000)
    )
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=contracts, actor=ADMIN)
    ts = preview(stack)
    message = stack.slack.message(CHANNEL, ts)
    assert len(message.blocks) <= 50 and "4,990 more lines" in str(message.blocks)
    detail = stack.slack.wait_for(
        lambda: next((f for f in stack.slack.files if f.name.endswith(".csv")), None), timeout=30, message="the CSV"
    )
    assert detail.content.decode().count("\n") == 5005 + 1  # header + every line pair
    click_post(stack, ts)
    wait_posted(stack, ts, contains="Posted 5,005 entries", timeout=120)
    assert len(qbo_entries(stack)) == 5005
    assert revenue_in_qbo(qbo_entries(stack)) == expected_revenue(stack)
    assert stack.intuit.requests.count(status=429) == 0  # paced under the limits: never throttled
    assert stack.intuit.requests.count(path_contains="/batch") <= 5005 // 30 + 2


def test_postings_pause_while_expired_and_resume_after_reconnect(ready: Stack) -> None:
    stack = ready
    approve_without_posting(stack)
    stack.intuit.disconnect_from_quickbooks(US_REALM)  # revoked inside QuickBooks
    stack.clock.advance(timedelta(minutes=57))
    stack.server.app.lifecycle.sweep()
    assert stack.server.app.connections.status(TEAM).status == "expired"
    assert stack.server.app.posting.run().posted == 0  # paused: nothing is even tried
    assert set(statuses(stack)) == {EntryStatus.PENDING.value} and qbo_entries(stack) == []
    stack.connect(reconnect=True)
    stack.slack.wait_for_dm(ADMIN, contains="Reconnected")
    assert stack.server.app.posting.run().posted == 5
    assert len(qbo_entries(stack)) == 5


def test_two_replicas_posting_to_one_company_share_its_rate_limit(ready: Stack) -> None:
    stack = ready
    contracts = "contract_id,customer,amount,currency,start_date,end_date\n" + "".join(
        f"S-{n:04d},Shared customer {n},{2000 + n}.00,USD,2026-10-01,2027-09-30\n" for n in range(120)
    )
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=contracts, actor=ADMIN)
    scale = 20  # QuickBooks' minute lasts 3 s: each worker alone paces under the limit, two unshared would not
    stack.intuit.limiter = RateLimiter(RateLimits(time_scale=scale))
    app = stack.server.app
    app.gateway.backoff = Backoff(base=0.01, cap=0.1, throttle_delay=0.2, max_wait=5)  # a 429 shows, not hangs
    replicas = [app.posting, PostingWorker(sessions=app.runtime.sessions, gateway=app.gateway, clock=stack.clock)]
    for worker in replicas:
        worker.use_batch = False
        worker.batch_size = 10  # small claims, so both replicas take turns at the same company
        worker.single_pacer = Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=scale)
    approve_without_posting(stack, entries=125)
    reports: list[WorkReport] = []
    threads = [threading.Thread(target=lambda w=worker: reports.append(w.run())) for worker in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(report.posted > 0 for report in reports) == [True, True]  # both replicas posted
    assert sum(report.posted for report in reports) == 125
    assert stack.intuit.requests.count(status=429) == 0
    assert len({e["DocNumber"] for e in qbo_entries(stack)}) == 125

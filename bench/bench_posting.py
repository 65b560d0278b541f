"""Benchmark: posting one period's journal entries to the sandbox QuickBooks under Intuit's real rate limits.

    python -m bench.bench_posting [--entries 1000] [--time-scale 60] [--check-scale 6 (0: skip)]

The sandbox Intuit enforces QuickBooks' limits per realm (500 requests/min, 10/s, 10 in flight, 40 batch calls/min
per realm+app, 120 batch calls/min per realm) on real time divided by ``time_scale``: at 60 a QBO "minute" lasts one
real second. Each variant gets a fresh stack (``tests/e2e/harness.running_stack``: the service in-process, a fresh
temp SQLite database, a fresh sandbox Intuit and Slack), connects QuickBooks through the sandbox consent, maps the
accounts, imports ``entries`` contracts that all recognise revenue in 2026-10, and previews and approves 2026-10
through ``PreviewService`` (no Slack clicks, so nothing kicks a background run). It then gives the sandbox a fresh
``RateLimiter`` (empty windows: the setup's own API calls don't count), times ``app.posting.run()`` -- the real
``PostingWorker`` with its own claiming, pacing and recording -- until the outbox is drained, and checks that the
sandbox holds exactly the expected entries with unique DocNumbers and that every outbox row is ``posted``.

Variants: ``batch`` (the batch endpoint, 30 entries a call), ``one by one`` (``use_batch=False``) and ``summary``
(``posting_mode=summary``: one entry with a line pair per contract). The ceiling is what the sandbox's
``RateLimits`` allow sustained, in entries per QBO minute: for batch min(batch calls/min per app, per realm,
requests/min, 60 x requests/s) x 30 = 1,200; one by one min(requests/min, 60 x requests/s) = 500. Pacing (the
``pacing`` column): batch calls at exactly the batch limit (only batch calls count in those windows); single
requests at 98% of requests/min, because each run's preferences call counts in that window too. A 429 without
Retry-After waits one QBO minute (not the 60 real seconds Intuit asks for).

At time_scale 60 the rate limits shrink 60-fold but the worker's own work does not (it claims, loads and records
every entry in the database: one UPDATE per claim of up to 30 entries, one transaction for their results), so a
batch must be claimed, posted and recorded in 25 ms; one by one, 2 ms per entry is out of reach and that row
measures the worker's speed. The pacing check (``check_scale``, 10 by default) runs batch and one by one again,
slow enough for the pacing to bind, with the worker's default single pacing beside the tuned one.
Entries per QBO minute are entries / wall time, so a run paced exactly at the
limit can read a hair over 100%: its n calls span only n - 1 pacing intervals.

Where the time goes: the worker's methods are timed in place (claiming, the QBO call including the sandbox's own
work on the same interpreter, recording each result in the database, pacer sleeps), with the process's CPU time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from deferredrev.qbo.client import Backoff
from deferredrev.revrec.periods import Period
from deferredrev.sandbox.intuit import RateLimits, SandboxConfig
from deferredrev.sandbox.intuit.ratelimit import RateLimiter
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.actors import Actor
from deferredrev.services.contracts import import_contracts_csv
from deferredrev.services.posting import BATCH_SIZE, SINGLE_CALLS_PER_MINUTE, Pacer, PostingWorker
from deferredrev.storage.models import EntryStatus, JournalEntry
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, TEAM, Stack, map_accounts, running_stack

Result = dict[str, Any]
PERIOD = "2026-10"
CHECK_SCALE = 10.0
SINGLE_HEADROOM = 0.98  # one-by-one pacing below requests/min: each run's preferences call shares that window
DEFAULT_SINGLE_PER_MINUTE = float(SINGLE_CALLS_PER_MINUTE)  # the worker's default single pacing


@dataclass(frozen=True)
class Variant:
    name: str
    posting_mode: str  # "per_contract" or "summary"
    use_batch: bool
    batch_per_minute: float  # the worker's batch_pacer rate (QBO minutes)
    single_per_minute: float  # the worker's single_pacer rate


def tuned_pacing(limits: RateLimits) -> tuple[float, float]:
    """Batch calls and single requests per QBO minute: the binding limit for batch calls (only batch calls count
    in their windows), 98% of it for single requests (the run's preferences call counts in requests/min too)."""
    batch_calls = min(limits.batch_per_minute_app, limits.batch_per_minute_realm, limits.per_minute, limits.per_second * 60)
    singles = min(limits.per_minute, limits.per_second * 60) * SINGLE_HEADROOM
    return float(batch_calls), float(singles)


def tuned_variants(limits: RateLimits) -> list[Variant]:
    batch_calls, singles = tuned_pacing(limits)
    return [
        Variant("batch", "per_contract", True, batch_calls, singles),
        Variant("one by one", "per_contract", False, batch_calls, singles),
        Variant("summary", "summary", True, batch_calls, singles),
    ]


def check_variants(limits: RateLimits) -> list[Variant]:
    """For the pacing-bound check: batch and one by one as tuned, and one by one at the worker's default pacing."""
    batch_calls, singles = tuned_pacing(limits)
    return [
        Variant("batch", "per_contract", True, batch_calls, singles),
        Variant("one by one", "per_contract", False, batch_calls, singles),
        Variant("one by one", "per_contract", False, batch_calls, DEFAULT_SINGLE_PER_MINUTE),
    ]


def ceiling_per_minute(limits: RateLimits, *, use_batch: bool) -> float:
    """Entries per QBO minute the limits allow sustained (a single realm and app; one entry per request or item)."""
    requests = min(limits.per_minute, limits.per_second * 60)
    if not use_batch:
        return float(requests)
    if limits.batch_counts_as_items:  # every item counts against requests/min
        return float(min(requests, min(limits.batch_per_minute_app, limits.batch_per_minute_realm) * BATCH_SIZE))
    return float(min(limits.batch_per_minute_app, limits.batch_per_minute_realm, requests) * BATCH_SIZE)


def contracts_csv(count: int) -> str:
    """``count`` USD contracts, each recognising revenue in 2026-10 (started on or before 1 October, ending later)."""
    rows = (
        f"P-{n:05d},Customer {n},{1200 + (n % 997) * 7}.{n % 100:02d},USD,2026-{(n % 10) + 1:02d}-01,"
        f"2027-{(n % 12) + 1:02d}-{(n % 27) + 1:02d}\n"
        for n in range(count)
    )
    return "contract_id,customer,amount,currency,start_date,end_date\n" + "".join(rows)


class Timings:
    """Seconds spent in a few of the worker's methods, timed by wrapping them on the instance."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


@contextmanager
def timed_worker(worker: PostingWorker) -> Iterator[Timings]:
    timings = Timings()
    wrapped = ("_claim", "_post_batch", "_post_one", "_flush")
    for name in wrapped:
        setattr(worker, name, timings.wrap(name, getattr(worker, name)))
    for pacer, name in ((worker.batch_pacer, "batch_wait"), (worker.single_pacer, "single_wait")):
        pacer.wait = timings.wrap(name, pacer.wait)  # type: ignore[method-assign]
    try:
        yield timings
    finally:
        for name in wrapped:
            delattr(worker, name)


def prepare(stack: Stack, variant: Variant, entries: int) -> int:
    """Connect, map, import ``entries`` contracts, preview and approve 2026-10; the number of entries queued."""
    stack.connect()
    stack.slack.wait_for_dm(ADMIN, contains="Connected to")
    map_accounts(stack)
    app = stack.server.app
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=contracts_csv(entries), actor=ADMIN)
    app.workspaces.update(
        TEAM, user_id=ADMIN, approvers=[ADMIN, APPROVER], four_eyes=True, alert_channel=None,
        posting_mode=variant.posting_mode, cutover_date=None,
    )  # fmt: skip
    preview = app.previews.create(TEAM, Period.parse(PERIOD), requested_by=ADMIN, channel_id=CHANNEL)
    if preview.content["blocking"]:
        raise RuntimeError(f"the preview is blocked: {preview.content['blocking']}")
    decision = app.previews.approve(TEAM, preview.preview_id, Actor(APPROVER, is_admin=False, is_member=True))
    if not decision.entries:
        raise RuntimeError(f"approving queued nothing: {decision}")
    return int(decision.entries)


def outbox_statuses(stack: Stack) -> dict[str, int]:
    with stack.server.runtime.sessions() as session:
        rows = session.execute(select(JournalEntry.status, func.count(JournalEntry.id)).group_by(JournalEntry.status))
        return {str(status): int(count) for status, count in rows}


def measure(variant: Variant, *, entries: int, time_scale: float, workdir: Path) -> Result:
    limits = RateLimits(time_scale=time_scale)
    qbo_minute = 60.0 / time_scale  # real seconds
    with running_stack(f"sqlite:///{workdir}/bench.db", intuit_config=SandboxConfig(rate_limits=limits)) as stack:
        queued = prepare(stack, variant, entries)
        expected = 1 if variant.posting_mode == "summary" else entries
        if queued != expected:
            raise RuntimeError(f"{variant.name}: approval queued {queued} entries, expected {expected}")
        worker = stack.server.app.posting
        worker.use_batch = variant.use_batch
        worker.batch_pacer = Pacer(variant.batch_per_minute, time_scale=time_scale)
        worker.single_pacer = Pacer(variant.single_per_minute, time_scale=time_scale)
        # A 429 without Retry-After waits one QBO minute (plus jitter), not the 60 real seconds Intuit asks for.
        stack.server.app.gateway.backoff = Backoff(base=0.5 / time_scale, cap=30 / time_scale, throttle_delay=qbo_minute)
        stack.intuit.limiter = RateLimiter(limits)  # empty windows: the setup's own API calls don't count
        before = len(stack.intuit.requests)
        with timed_worker(worker) as timings:
            started, cpu = time.perf_counter(), time.process_time()
            report = worker.run()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        during = stack.intuit.requests.snapshot()[before:]
        in_qbo = stack.intuit.journal_entries(US_REALM)
        doc_numbers = {entry.get("DocNumber") for entry in in_qbo}
        statuses = outbox_statuses(stack)
        problems = []
        if len(in_qbo) != expected or len(doc_numbers) != expected:
            problems.append(f"QBO holds {len(in_qbo)} entries with {len(doc_numbers)} DocNumbers, expected {expected}")
        if report.posted != expected or statuses != {EntryStatus.POSTED.value: expected}:
            problems.append(f"worker posted {report.posted}, outbox {statuses}")
        if problems:
            raise AssertionError(f"{variant.name}: " + "; ".join(problems))
        line_pairs = sum(1 for line in in_qbo[0]["Line"] if line.get("DetailType") != "DescriptionOnly") // 2
    posting_calls = sum(1 for r in during if r.path.endswith(("/batch", "/journalentry")))
    per_minute = expected / (wall / qbo_minute)
    ceiling = ceiling_per_minute(limits, use_batch=variant.use_batch) if variant.posting_mode == "per_contract" else None
    seconds = timings.seconds
    posting = seconds["_post_batch"] + seconds["_post_one"]  # includes the pacer waits
    pacer_sleep = seconds["batch_wait"] + seconds["single_wait"]
    record = seconds["_flush"]  # one transaction per claim, after its calls
    time_in = {
        "claim": seconds["_claim"],
        "qbo_call": posting - pacer_sleep,
        "record": record,
        "pacer_sleep": pacer_sleep,
    }
    return {
        "variant": variant.name,
        "pacing": pacing_label(variant),
        "entries": expected,
        "line_pairs": line_pairs if variant.posting_mode == "summary" else expected,
        "calls": posting_calls,
        "requests": len(during),
        "wall_s": wall,
        "per_qbo_min": per_minute,
        "ceiling_per_qbo_min": ceiling,
        "pct_of_ceiling": 100 * per_minute / ceiling if ceiling else None,
        "throttled_429": sum(1 for r in during if r.status == 429),
        "ms_per_call": 1000 * wall / max(posting_calls, 1),
        **{f"{name}_s": value for name, value in time_in.items()},
        "other_s": wall - sum(time_in.values()),
        "cpu_s": cpu,
        "time_scale": time_scale,
    }


def pacing_label(variant: Variant) -> str:
    if variant.posting_mode == "summary" or not variant.use_batch:
        default = " (default)" if variant.single_per_minute == DEFAULT_SINGLE_PER_MINUTE else ""
        return f"singles {variant.single_per_minute:g}/min{default}"
    return f"batch {variant.batch_per_minute:g}/min"


def run(*, entries: int = 1000, time_scale: float = 60.0, check_scale: float | None = CHECK_SCALE) -> list[Result]:
    """Batch, one by one and summary at ``time_scale``; then, unless ``check_scale`` is None, batch and one by one
    (tuned and at the worker's default pacing) at ``check_scale``, slow enough for the pacing to bind."""
    plan = [(variant, time_scale) for variant in tuned_variants(RateLimits(time_scale=time_scale))]
    if check_scale is not None and check_scale != time_scale:
        plan += [(variant, check_scale) for variant in check_variants(RateLimits(time_scale=check_scale))]
    results = []
    for variant, scale in plan:
        with tempfile.TemporaryDirectory(prefix="bench-posting-") as directory:
            results.append(measure(variant, entries=entries, time_scale=scale, workdir=Path(directory)))
    return results


def print_table(results: list[Result]) -> None:
    scales = list(dict.fromkeys(r["time_scale"] for r in results))
    for number, scale in enumerate(scales):
        rows = [r for r in results if r["time_scale"] == scale]
        role = "as asked" if number == 0 else "pacing check: slow enough for the pacing, not the worker, to bind"
        print(f"{'' if number == 0 else chr(10)}time_scale={scale:g} ({role}): a QBO minute lasts {60 / scale:g} real s")
        _print_rows(rows)


def _print_rows(rows: list[Result]) -> None:
    print(
        f"{'variant':<11} {'pacing':<26} {'entries':>17} {'calls':>5} {'wall s':>6} {'entries/QBO-min':>15} "
        f"{'ceiling':>7} {'% ceil':>6} {'429s':>4} {'ms/call':>7}"
    )
    for r in rows:
        ceiling = f"{r['ceiling_per_qbo_min']:,.0f}" if r["ceiling_per_qbo_min"] else "n/a"
        pct = f"{r['pct_of_ceiling']:.1f}" if r["pct_of_ceiling"] is not None else "n/a"
        entries = f"{r['entries']:,}" + ("" if r["entries"] == r["line_pairs"] else f" ({r['line_pairs']:,} pairs)")
        print(
            f"{r['variant']:<11} {r['pacing']:<26} {entries:>17} {r['calls']:>5,} {r['wall_s']:>6.2f} "
            f"{r['per_qbo_min']:>15,.0f} {ceiling:>7} {pct:>6} {r['throttled_429']:>4} {r['ms_per_call']:>7.1f}"
        )
    print("where the wall time goes (s): claiming, the QBO call (incl. the in-process sandbox), recording results,")
    print("pacer sleeps; and the process's CPU time over the run")
    for r in rows:
        parts = ", ".join(f"{name} {r[f'{name}_s']:.2f}" for name in ("claim", "qbo_call", "record", "pacer_sleep", "other"))
        print(f"  {r['variant']:<11} {r['pacing']:<26} {parts}; cpu {r['cpu_s']:.2f}")
    tuned = [r for r in rows if "(default)" not in r["pacing"]]
    batch = next((r for r in tuned if r["variant"] == "batch"), None)
    single = next((r for r in tuned if r["variant"] == "one by one"), None)
    if batch and single:
        print(f"batch / one by one throughput: {batch['per_qbo_min'] / single['per_qbo_min']:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_posting", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--check-scale", type=float, default=CHECK_SCALE, help="0 skips the pacing check")
    args = parser.parse_args(argv)
    print_table(run(entries=args.entries, time_scale=args.time_scale, check_scale=args.check_scale or None))


if __name__ == "__main__":
    main()

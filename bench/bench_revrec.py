"""Benchmark: one period's journal-entry drafts for N synthetic contracts.

    python -m bench.bench_revrec [--sizes 10000,100000,1000000] [--history complete|september]

Each size and mode runs in a fresh subprocess so peak RSS (``ru_maxrss``) is its own. For each size it generates N
contracts deterministically (mixed currencies and methods, 5% cancelled, starts from 2024-01 to 2026-10), then
times ``build_period_entries`` for 2026-10 in per_contract mode and in summary mode against a history:

``complete`` (default; the common path: no gaps, no cut-over)
    the workspace has posted every month from 2024-01 to 2026-09 and every contract's revenue through September is
    on record (1% of them wrongly by one minor unit, to force catch-ups). To keep the history's memory to one
    figure per contract, each contract's revenue through September is recorded against September: the core only
    needs posted sums to agree, so nothing is unposted and only the wrong 1% catch up.
``september``
    the workspace's first posting was September 2026 (each contract's September amount on record, 1% wrongly): every
    month before it that holds revenue is unposted, so the preview lists about twenty months for nearly every
    contract (issue #16's "revenue before the first posted month"). The cost of that listing, not a common path.

Each size is measured twice: with CPython's cyclic garbage collector as it is, and with it paused during the build
(``gc.disable()``; the build makes no reference cycles, so nothing is lost). At a million contracts the collector's
full passes over the millions of live objects are a quarter of the time; a service building a huge period can
pause it the same way. Peak RSS includes the contracts and the history (about 470 MB at a million).
Target: 1,000,000 contracts in at most 10 s and 1 GB on one core, roughly linear.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any

from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.entries import AccountMapping, PostedHistory, PostingMode, build_period_entries
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import cumulative_at_period_end, scheduled_amount

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
Result = dict[str, Any]
PERIOD = Period(2026, 10)
POSTED = Period(2026, 9)
SCOPE = "T0BENCH01"
ACCOUNTS = AccountMapping("81", "Deferred Revenue", "79", "Subscription Revenue")
CURRENCIES = ("USD",) * 6 + ("EUR", "EUR", "GBP", "JPY", "KWD", "CLF")
METHODS = (Method.DAILY,) * 8 + (Method.MONTHLY_EVEN, Method.MONTHLY_PRORATED)
FIRST_START = date(2024, 1, 1)
HISTORIES = ("complete", "september")


def generate_contracts(count: int, seed: int = 2026) -> list[Contract]:
    rng = random.Random(seed)
    starts = [FIRST_START + timedelta(days=offset) for offset in range(1035)]  # through 2026-10-31
    contracts = []
    for number in range(count):
        start = rng.choice(starts)
        end = start + timedelta(days=rng.randrange(30, 1096))
        cancel = start + timedelta(days=rng.randrange(0, (end - start).days + 1)) if rng.randrange(20) == 0 else None
        contracts.append(
            Contract(
                contract_id=f"C-{number:07d}",
                customer=f"Customer {number % 5000:04d}",
                amount=rng.randrange(-50_000, 50_000_000),
                currency=rng.choice(CURRENCIES),
                start_date=start,
                end_date=end,
                method=rng.choice(METHODS),
                cancel_date=cancel,
            )
        )
    return contracts


def september_history(contracts: list[Contract]) -> PostedHistory:
    amounts = {}
    for number, contract in enumerate(contracts):
        september = scheduled_amount(contract, POSTED)
        if september:
            amounts[contract.contract_id] = {POSTED: september + (1 if number % 100 == 0 else 0)}
    return PostedHistory(amounts, frozenset({POSTED}))


def complete_history(contracts: list[Contract]) -> PostedHistory:
    amounts = {}
    for number, contract in enumerate(contracts):
        through_september = cumulative_at_period_end(contract, POSTED)
        if through_september:
            amounts[contract.contract_id] = {POSTED: through_september + (1 if number % 100 == 0 else 0)}
    return PostedHistory(amounts, frozenset(Period.range(Period.of(FIRST_START), POSTED)))


def make_history(name: str, contracts: list[Contract]) -> PostedHistory:
    return complete_history(contracts) if name == "complete" else september_history(contracts)


def measure(size: int, mode: PostingMode, *, pause_gc: bool, history_name: str = "complete") -> Result:
    """One size and mode, in this process."""
    contracts = generate_contracts(size)
    history = make_history(history_name, contracts)
    inputs_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if pause_gc:
        gc.disable()
    wall, cpu = time.perf_counter(), time.process_time()
    entries = build_period_entries(contracts, PERIOD, history, ACCOUNTS, mode=mode, scope=SCOPE)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gc.enable()
    return {
        "size": size,
        "mode": mode.value,
        "pause_gc": pause_gc,
        "seconds": wall,
        "cpu_seconds": cpu,
        "history": history_name,
        "drafts": len(entries.drafts),
        "unposted_months": len(getattr(entries, "unposted", ())),
        "lines": sum(len(draft.lines) for draft in entries.drafts),
        "inputs_mb": inputs_mb,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(sizes: list[int] | tuple[int, ...] = DEFAULT_SIZES, history: str = "complete") -> list[Result]:
    """Every size × mode × (GC on, GC paused), each in a fresh subprocess; growth is against the first size."""
    results = [
        _measure_in_subprocess(size, mode, pause_gc, history)
        for pause_gc in (False, True)
        for mode in PostingMode
        for size in sizes
    ]
    for result in results:
        baseline = next(
            other
            for other in results
            if (other["size"], other["mode"], other["pause_gc"]) == (sizes[0], result["mode"], result["pause_gc"])
        )
        result["us_per_contract"] = result["seconds"] / result["size"] * 1e6
        result["growth"] = result["seconds"] / baseline["seconds"] / (result["size"] / baseline["size"])
    return results


def _measure_in_subprocess(size: int, mode: PostingMode, pause_gc: bool, history: str) -> Result:
    command = [sys.executable, "-m", "bench.bench_revrec", "--child", str(size), "--mode", mode.value, "--history", history]
    completed = subprocess.run([*command, "--pause-gc"] if pause_gc else command, check=True, capture_output=True, text=True)
    result: Result = json.loads(completed.stdout)
    return result


def print_table(results: list[Result]) -> None:
    history = results[0]["history"] if results else "complete"
    print(
        f"revrec: journal-entry drafts for one period ({PERIOD}), {history} history; "
        "peak RSS includes the contracts and history"
    )
    header = f"{'size':>10} {'mode':>13} {'gc':>7} {'wall s':>7} {'cpu s':>7} {'µs/contract':>12} {'growth':>7}"
    print(header + f" {'drafts':>9} {'lines':>10} {'unposted':>8} {'inputs MB':>9} {'peak MB':>8}")
    for r in results:
        print(
            f"{r['size']:>10,} {r['mode']:>13} {'paused' if r['pause_gc'] else 'on':>7} {r['seconds']:>7.2f} "
            f"{r['cpu_seconds']:>7.2f} {r['us_per_contract']:>12.2f} {r['growth']:>7.2f} {r['drafts']:>9,} "
            f"{r['lines']:>10,} {r['unposted_months']:>8} {r['inputs_mb']:>9.0f} {r['peak_mb']:>8.0f}"
        )
    print("growth = (time / time at the first size) / (size / first size); 1.00 is linear")
    print("unposted = months the preview lists as holding revenue never posted")
    print("inputs MB = peak RSS after generating the contracts and history, before the build")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated contract counts")
    parser.add_argument("--history", choices=HISTORIES, default="complete", help="what the workspace posted before")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default=PostingMode.PER_CONTRACT.value, help=argparse.SUPPRESS)
    parser.add_argument("--pause-gc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, PostingMode(args.mode), pause_gc=args.pause_gc, history_name=args.history)))
        return
    print_table(run([int(size) for size in args.sizes.split(",")], args.history))


if __name__ == "__main__":
    main()

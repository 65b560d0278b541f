"""Benchmark: resident memory of the idle service, against a bare Bolt app served the same way (the floor).

    python -m bench.bench_idle_memory [--settle 2]

Ours is the real console script, ``deferredrev serve`` (``run_server``: waitress with HTTP_THREADS threads, the
background scheduler, logging), in a subprocess with a temp SQLite ``DATABASE_URL`` (so it migrates at start, as
SQLite deployments do), a key from ``deferredrev keys generate``, and Slack settings pointing at a sandbox Slack in
this process (Bolt calls auth.test at start). The floor is ``bench/_floor_app.py``: Bolt, Flask and waitress with the
same settings and listeners that only ack. Each is started, waited for on /readyz, left idle for ``--settle``
seconds, and then VmRSS, VmHWM (peak RSS) and the thread count are read from /proc/<pid>/status; then it is
stopped with SIGINT.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._stack import ServerProcess, free_port, generated_key, slack_env, slack_sandbox, start_floor, start_service
from deferredrev.sandbox.slack import SlackSandbox

Result = dict[str, Any]
SETTLE_S = 2.0


def measure(server: str, workdir: Path, slack: SlackSandbox, settle: float) -> Result:
    port = free_port()
    env = slack_env(slack, port)
    started = time.monotonic()
    process: ServerProcess
    if server == "ours":
        env |= {"DATABASE_URL": f"sqlite:///{workdir}/deferredrev.db", "DEFERREDREV_ENCRYPTION_KEYS": generated_key()}
        process = start_service(env, port, workdir / "deferredrev.log")
    else:
        process = start_floor(env, port, workdir / "floor.log")
    try:
        ready = time.monotonic() - started
        time.sleep(settle)
        figures = process.rss_kb()
    finally:
        process.stop()
    return {
        "server": server,
        "command": process.name,
        "rss_mb": figures["VmRSS"] / 1024,
        "peak_mb": figures["VmHWM"] / 1024,
        "threads": figures["Threads"],
        "ready_s": ready,
    }


def run(settle: float = SETTLE_S) -> list[Result]:
    """The floor, then ours, each in a fresh process; ours carries ``ratio`` (our RSS / the floor's)."""
    slack, _ = slack_sandbox()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            results = [measure(server, Path(tmp), slack, settle) for server in ("floor", "ours")]
    finally:
        slack.stop()
    floor = results[0]
    for result in results:
        result["ratio"] = result["rss_mb"] / floor["rss_mb"]
        result["over_floor_mb"] = result["rss_mb"] - floor["rss_mb"]
    return results


def print_table(results: list[Result]) -> None:
    print("idle memory: each server in its own process, read from /proc/<pid>/status after /readyz and the settle time")
    print(f"{'server':<36} {'RSS MB':>7} {'peak MB':>8} {'vs floor':>8} {'+MB':>6} {'threads':>7} {'ready s':>7}")
    for r in results:
        label = "ours (deferredrev serve)" if r["server"] == "ours" else "floor (bare Bolt + Flask + waitress)"
        print(
            f"{label:<36} {r['rss_mb']:>7.1f} {r['peak_mb']:>8.1f} {r['ratio']:>7.2f}x {r['over_floor_mb']:>6.1f} "
            f"{r['threads']:>7} {r['ready_s']:>7.2f}"
        )
    print("ready s = from starting the process until /readyz answered 200 (ours migrates its fresh SQLite database)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=SETTLE_S, help="idle seconds after /readyz before reading RSS")
    args = parser.parse_args(argv)
    print_table(run(args.settle))


if __name__ == "__main__":
    main()

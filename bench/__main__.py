"""Run the benchmarks and record their figures in bench/RESULTS.md (`make bench`).

    python -m bench [--quick] [--only ack|memory|revrec|posting[,...]]

Sections, in order: ack (ack latency, ours vs a bare Bolt app; bench_ack.py), memory (idle RSS, ours vs the same
floor; bench_idle_memory.py), revrec (one period's journal drafts for 10k, 100k and 1M contracts; bench_revrec.py)
and posting (bench_posting.py, when it exists). Each prints its own table; RESULTS.md keeps the latest output of
every section with its date and machine, so `--only` replaces just the sections it runs. ``--quick`` is for a
check, not for the record: fewer ack requests and revrec without the million.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import io
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTIONS = ("ack", "memory", "revrec", "posting")
TITLES = {
    "ack": "Ack latency: ours vs a bare Bolt app",
    "memory": "Idle memory: ours vs a bare Bolt app",
    "revrec": "Revenue recognition: one period's journal-entry drafts",
    "posting": "Posting",
}
REVREC_SIZES = (10_000, 100_000, 1_000_000)
REVREC_QUICK_SIZES = (10_000, 100_000)


class NotAvailable(Exception):
    """A section that cannot run here (e.g. its benchmark module does not exist yet)."""


def run_ack(quick: bool) -> None:
    from bench import bench_ack

    bench_ack.quiet_waitress()
    results = bench_ack.run(requests=300, warmup=100) if quick else bench_ack.run()
    bench_ack.print_table(results)


def run_memory(quick: bool) -> None:
    from bench import bench_idle_memory

    bench_idle_memory.print_table(bench_idle_memory.run())


def run_revrec(quick: bool) -> None:
    from bench import bench_revrec

    bench_revrec.print_table(bench_revrec.run(REVREC_QUICK_SIZES if quick else REVREC_SIZES))


def run_posting(quick: bool) -> None:
    try:
        module = importlib.import_module("bench.bench_posting")
    except ModuleNotFoundError as error:
        if error.name != "bench.bench_posting":
            raise
        raise NotAvailable("bench/bench_posting.py does not exist yet; skipped") from None
    run: Callable[..., Any] = module.run
    results = run(quick=quick) if "quick" in inspect.signature(run).parameters else run()
    if hasattr(module, "print_table"):
        module.print_table(results)
    elif results is not None:
        print_rows(results)


def print_rows(results: Any) -> None:
    """A plain table of a list of flat dicts (for a benchmark without its own ``print_table``)."""
    rows = results if isinstance(results, list) else [results]
    if not rows or not all(isinstance(row, dict) for row in rows):
        print(results)
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[n]) for line in cells)) for n, column in enumerate(columns)]
    print(" ".join(f"{column:>{width}}" for column, width in zip(columns, widths, strict=True)))
    for line in cells:
        print(" ".join(f"{cell:>{width}}" for cell, width in zip(line, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


RUNNERS: dict[str, Callable[[bool], None]] = {
    "ack": run_ack,
    "memory": run_memory,
    "revrec": run_revrec,
    "posting": run_posting,
}


# ---- the machine and RESULTS.md -------------------------------------------------------------------------------------


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown CPU"
    total_kb = _proc_field("/proc/meminfo", "MemTotal")
    memory = f"{int(total_kb.split()[0]) / 1024 / 1024:.1f} GiB RAM" if total_kb else "unknown RAM"
    return (
        f"{cpus} CPUs (nproc), {model}, {memory}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}"
    )


def _proc_field(path: str, name: str) -> str | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


SECTION_PATTERN = re.compile(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->\n", re.DOTALL)


def read_sections(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {match.group(1): match.group(2) for match in SECTION_PATTERN.finditer(path.read_text())}


def section_text(name: str, output: str, *, when: datetime, took: float, quick: bool, status: str) -> str:
    run_kind = "quick run (--quick)" if quick else "full run"
    return (
        f"## {TITLES[name]}\n\n"
        f"{when:%Y-%m-%d %H:%M} UTC, {run_kind}, {took:.0f} s, {status}; {revision()}  \n"
        f"Machine: {machine()}\n\n"
        f"```\n{output.rstrip()}\n```\n\n"
    )


def write_results(path: Path, updated: dict[str, str], when: datetime) -> None:
    sections = read_sections(path) | updated
    body = "".join(
        f"<!-- bench:{name} -->\n{sections[name]}<!-- /bench:{name} -->\n" for name in SECTIONS if name in sections
    )
    path.write_text(
        "# Benchmark results\n\n"
        "Written by `make bench` (`python -m bench`); a section is replaced each time it is run "
        "(`python -m bench --only ack` leaves the others as they were). How each is measured: the docstrings of "
        "`bench/bench_*.py`.\n\n"
        f"Last written {when:%Y-%m-%d %H:%M} UTC on: {machine()}.\n\n" + body
    )


class Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.terminal.write(text)
        self.terminal.flush()
        return self.copy.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer ack requests; revrec at 10k and 100k only")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--no-write", action="store_true", help=f"don't update {RESULTS.name}")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    updated: dict[str, str] = {}
    failed = []
    started = time.monotonic()
    for name in (name for name in SECTIONS if name in chosen):
        print(f"\n=== {name}: {TITLES[name]}", flush=True)
        when, clock = datetime.now(UTC), time.monotonic()
        tee = Tee(sys.stdout)
        status = "ok"
        with redirect_stdout(tee):
            try:
                RUNNERS[name](args.quick)
            except NotAvailable as note:
                print(note)
                status = "skipped"
            except Exception:  # noqa: BLE001 - one section failing must not lose the others' figures
                traceback.print_exc(file=tee)
                status = "FAILED"
                failed.append(name)
        took = time.monotonic() - clock
        print(f"({name}: {status}, {took:.0f} s)", flush=True)
        if status != "skipped" or name not in read_sections(RESULTS):
            updated[name] = section_text(name, tee.copy.getvalue(), when=when, took=took, quick=args.quick, status=status)
    if not args.no_write and updated:
        write_results(RESULTS, updated, datetime.now(UTC))
        print(f"\nwrote {RESULTS} ({', '.join(updated)}) after {time.monotonic() - started:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

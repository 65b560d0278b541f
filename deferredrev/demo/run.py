"""`deferredrev demo`: the whole product story against the sandboxes, in a temporary folder, printed as a chat log.

Nothing leaves the machine: sandbox Intuit and Slack and the service listen on 127.0.0.1, SQLite lives in a temporary
folder, and the encryption key is generated for the run and thrown away. Everything is stopped and deleted at the end,
also when a step fails (the demo then exits 1: it doubles as a smoke test).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from deferredrev.demo.script import DemoError, Outcome, Walkthrough
from deferredrev.demo.stack import TIME_SCALE, DemoStack, demo_settings, start_stack
from deferredrev.demo.transcript import Transcript
from deferredrev.revrec.money import format_amount
from deferredrev.sandbox.intuit.seed import US_REALM

__all__ = ["demo_settings", "run_demo"]


def run_demo(*, quiet: bool = False, start: Callable[[Path], DemoStack] = start_stack, chart: Path | None = None) -> int:
    """The walkthrough on a stack that ``start`` builds in a temporary folder; 0 when every step did what it should.
    ``chart``: where to save the final report's waterfall chart (PNG)."""
    started = time.monotonic()
    _tolerant_output()
    out = Transcript(quiet=quiet)
    outcome = _run(out, start, chart)
    if outcome is None:
        return 1
    out.step("Summary")
    out.summary(_summary(outcome, time.monotonic() - started))
    return 0


def _run(out: Transcript, start: Callable[[Path], DemoStack], chart: Path | None) -> Outcome | None:
    with tempfile.TemporaryDirectory(prefix="deferredrev-demo-", ignore_cleanup_errors=True) as tmp:
        out.banner("DeferredRev demo: deferred-revenue recognition from Slack to QuickBooks Online", _INTRO)
        out.step("Start sandbox Intuit, sandbox Slack and DeferredRev")
        stack: DemoStack | None = None
        try:
            stack = start(Path(tmp))
            out.users = stack.names()
            _introduce(out, stack, Path(tmp))
            return Walkthrough(stack, out, chart_path=chart).run()
        except DemoError as error:
            out.failure(f"deferredrev demo failed at {out.current}: {error}")
        except Exception:  # noqa: BLE001 - a smoke test reports whatever broke, then cleans up
            out.failure(f"deferredrev demo failed at {out.current}:\n{traceback.format_exc()}")
        finally:
            if stack is not None:
                stack.close()
    return None


_INTRO = [
    "Everything runs on this machine: stand-ins for Intuit and Slack on 127.0.0.1, SQLite in a temporary folder.",
    "The encryption key for QuickBooks tokens is a throwaway key generated for this run only "
    "(`deferredrev serve` refuses to start without a real one).",
]


def _introduce(out: Transcript, stack: DemoStack, workdir: Path) -> None:
    others = len(stack.intuit.companies) - 1
    out.note(
        f"Sandbox Intuit at {stack.intuit.url}: QuickBooks company “{stack.intuit.companies[US_REALM].name}” "
        f"(and {others} others), rate limits running {TIME_SCALE:.0f}× faster."
    )
    out.note(
        f"Sandbox Slack at {stack.slack.url}: workspace “{stack.workspace.name}” with ana (admin), bo (approver) and "
        "cy (member), all in #finance."
    )
    out.note(f"DeferredRev at {stack.url}, database in {workdir} (deleted at the end).")
    out.note(f"The posting worker paces itself {TIME_SCALE:.0f}× faster to match the sandbox's rate limits.")


def _summary(outcome: Outcome, seconds: float) -> list[str]:
    amount = format_amount(outcome.recognised_minor, outcome.currency)
    return [
        f"DeferredRev demo: {outcome.entries} journal entries posted to QuickBooks for {outcome.period_label}, "
        f"{outcome.currency} {amount} revenue recognised (matches the preview).",
        "Import, connect, map, preview with its tie-out, four-eyes approval, posting with evidence attached, expiry, "
        f"reconnect, disconnect and the roll-forward report: all done in {seconds:.1f}s. Sandboxes stopped, temporary "
        "folder deleted.",
    ]


def _tolerant_output() -> None:
    """The transcript has emoji and box lines: never crash on a terminal that cannot show them."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")

"""`deferredrev demo` tells the whole story against the sandboxes and exits 0; `deferredrev sandbox` seeds them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx
import pytest
from slack_sdk import WebClient

from deferredrev.demo import run_demo
from deferredrev.demo.script import DemoError, Walkthrough
from deferredrev.demo.stack import ADMIN, BOT_TOKEN, CHANNEL, LOCAL_REDIRECT_URI, TEAM, TEAM_NAME, DemoStack, start_stack
from deferredrev.demo.transcript import Transcript
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.sandbox.serve import instructions, start_sandboxes

SERVER_THREADS = ("deferredrev-http", "slack-sandbox", "intuit-sandbox", "posting-kick")
TRANSCRIPT_LINES = (
    "ana (admin) › /deferredrev contracts",
    "Imported 40 new and updated 0 contracts",
    "ana (admin) › /deferredrev connect",
    f"→ DeferredRev /qbo/connect → our page “Connect QuickBooks to {TEAM_NAME}” → Continue to Intuit",
    "→ DeferredRev POST /qbo/connect → 302 (sets a browser cookie)",
    "shows the page “QuickBooks is connected”",
    "Connected to Sandbox Company_US_1",
    "🟢 Connected",
    "Slack offers ›",
    "Account mappings saved",
    "Four-eyes: on",
    "the bookkeeper brought Deferred Revenue over from the old spreadsheet",
    "== Revenue recognition · Oct 2026 ==",
    "This would be the first entry DeferredRev posts",
    "ana (admin) › clicks [ Count as recognised elsewhere ]",
    "Cut-over: 2026-10-01",
    "Months not posted: 46,812.52 USD of revenue the contracts schedule",
    "Posting this preview moves the difference to 0.00 USD.",
    "[ Post to QuickBooks ]",
    "Four-eyes is on",
    "bo (approver) › clicks [ Post to QuickBooks ]",
    "Posted 30 entries to QuickBooks",
    "DocNumber            Date",
    "QuickBooks matches the preview to the cent",
    "Evidence attached in QuickBooks to each of the 30 entries",
    "Each of the 30 entries has exactly one attachment in QuickBooks.",
    "approved by (Slack user) | Bo Approver (U0BO00001)",
    "Recent previews and postings",
    "has expired",
    "🔴 Expired",
    "Reconnected to Sandbox Company_US_1",
    "disconnected Sandbox Company_US_1 from DeferredRev",
    "ana (admin) › /deferredrev report",
    "== Deferred revenue roll-forward · Nov 2025–Oct 2026 ==",
    "Oct 2026 457,794.50 72,800.00 46,812.52 0.00 0.00 483,781.98",
    "QuickBooks 483,781.98 USD · roll-forward 483,781.98 USD · ✅ ties to the cent",
    "(deferredrev-rollforward-2025-11_2026-10.png)",
    "30 journal entries posted to QuickBooks for Oct 2026",
)


def servers_running() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in SERVER_THREADS and t.is_alive()]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's temporary folder goes here, so the test can see it was deleted."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_quiet_demo_prints_only_the_summary_and_cleans_up(private_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(quiet=True) == 0
    out, err = capsys.readouterr()
    summary = " ".join(out.split())
    assert "30 journal entries posted to QuickBooks for Oct 2026, USD 46,812.52 revenue recognised" in summary
    assert "(matches the preview)" in summary
    assert "›" not in out and "──" not in out  # no transcript
    assert err == ""
    assert servers_running() == []
    assert list(private_tmp.iterdir()) == []


def test_the_check_fails_when_quickbooks_no_longer_holds_what_was_posted(private_tmp: Path) -> None:
    """After posting, a bookkeeper deletes one of the entries in QuickBooks: the demo's check must say so."""
    stack = start_stack(private_tmp)
    try:
        walkthrough = Walkthrough(stack, Transcript(quiet=True))
        ts = walkthrough.post_a_period()
        posted = [e for e in stack.intuit.journal_entries(US_REALM) if e["DocNumber"].startswith("DR")]
        stack.intuit.delete_journal_entry(US_REALM, posted[0]["Id"])
        with pytest.raises(DemoError, match="QuickBooks does not hold what the preview showed"):
            walkthrough.what_reached_quickbooks(ts)
    finally:
        stack.close()
    assert len(posted) == 30


def test_demo_fails_and_cleans_up_when_quickbooks_refuses_the_entries(
    private_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The company's books are closed through October, so QuickBooks refuses the period's entries."""

    def books_closed(workdir: Path) -> DemoStack:
        stack = start_stack(workdir)
        stack.intuit.set_book_close_date(US_REALM, stack.clock.now().date())  # the demo posts last month
        return stack

    assert run_demo(quiet=True, start=books_closed) == 1
    out, err = capsys.readouterr()
    assert err.startswith("deferredrev demo failed at step 8 (ana previews ")
    assert "the preview offers no [ Post to QuickBooks ]: ⛔ QuickBooks books are closed through" in err
    assert "Traceback" not in err
    assert "journal entries posted" not in out
    assert servers_running() == []
    assert list(private_tmp.iterdir()) == []


def console_script() -> str:
    found = shutil.which("deferredrev", path=str(Path(sys.executable).parent))
    assert found, "the deferredrev console script is installed next to the interpreter"
    return found


def test_console_script_tells_the_story_from_any_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "QBO_", "DEFERREDREV_", "DATABASE_URL"))}
    env |= {"COLUMNS": "100", "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [console_script(), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120
    )
    assert result.returncode == 0, result.stderr
    reading = " ".join(result.stdout.split())  # lines wrap at the terminal width
    missing = [line for line in TRANSCRIPT_LINES if " ".join(line.split()) not in reading]
    assert missing == [], result.stdout
    assert "throwaway" in result.stdout
    assert result.stdout.count("── ") == 18  # a heading per step
    assert max(len(line) for line in result.stdout.splitlines() if " Cr " not in line) <= 100
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory


def test_sandbox_command_seeds_slack_and_registers_the_local_redirect_uri() -> None:
    sandboxes = start_sandboxes(intuit_port=0, slack_port=0)
    try:
        slack = WebClient(token=BOT_TOKEN, base_url=sandboxes.slack.api_url)
        assert slack.auth_test()["team_id"] == TEAM
        assert slack.users_info(user=ADMIN)["user"]["is_admin"] is True
        assert slack.conversations_info(channel=CHANNEL)["channel"]["name"] == "finance"
        intuit = sandboxes.intuit
        authorize = httpx.get(
            intuit.authorize_url,
            params={
                "client_id": intuit.client_id,
                "redirect_uri": LOCAL_REDIRECT_URI,
                "response_type": "code",
                "scope": "com.intuit.quickbooks.accounting",
                "state": "s",
            },
        )
        assert authorize.status_code == 200 and "isn't registered" not in authorize.text
        text = instructions(sandboxes)
        assert f"export SLACK_API_URL={sandboxes.slack.api_url}" in text
        assert f"export QBO_AUTHORIZE_URL={intuit.authorize_url}" in text
        assert "export PUBLIC_URL=http://localhost:3000" in text and "deferredrev serve" in text
    finally:
        sandboxes.stop()
    assert servers_running() == []

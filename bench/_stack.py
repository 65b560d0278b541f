"""Benchmark plumbing: our service (`deferredrev serve`) and the floor app each in their own process, the sandboxes
in the bench process (a minimal ``tests/e2e/harness.py`` without pytest), request capture and signing, percentiles.

The servers run as production runs them, in a process of their own: the sandbox Slack and Intuit, the request
builder and the load clients then share no GIL with the server being measured (on loopback they still share the
machine's cores)."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from slack_sdk.signature import SignatureVerifier

from deferredrev.clock import ManualClock
from deferredrev.demo.stack import ConnectBrowser, intuit_env
from deferredrev.sandbox.intuit import IntuitSandbox, SandboxConfig
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.sandbox.slack import SlackDriver, SlackSandbox, Workspace
from deferredrev.server import HTTP_THREADS

SIGNING_SECRET = "bench-signing-secret-5c2a"
BOT_TOKEN = "xoxb-bench-bot-token-31"
TEAM = "T0BENCH01"
ADMIN = "U0ADMIN01"
MEMBER = "U0MEMBER1"
CHANNEL = "C0FINANCE"
Signed = tuple[bytes, dict[str, str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, timeout: float = 30.0, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server behind {url} exited before it was ready")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s")


def slack_sandbox() -> tuple[SlackSandbox, Workspace]:
    """A started Slack sandbox with one workspace, an admin, a member and a #finance channel."""
    slack = SlackSandbox(signing_secret=SIGNING_SECRET).start()
    workspace = slack.add_workspace(TEAM, "Bench Finance", BOT_TOKEN)
    workspace.add_user(ADMIN, "ana", real_name="Ana Admin", is_admin=True)
    workspace.add_user(MEMBER, "cy", real_name="Cy Member")
    workspace.add_channel(CHANNEL, "finance", members=[ADMIN, MEMBER])
    return slack, workspace


# ---- processes ------------------------------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A server in its own process, as production runs it; stopped with SIGINT (Ctrl-C), killed if it lingers."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far (user + system, all threads), from /proc/<pid>/stat."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kb(self) -> dict[str, int]:
        """VmRSS, VmHWM (peak) and Threads from /proc/<pid>/status."""
        wanted = {"VmRSS", "VmHWM", "Threads"}
        figures = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in wanted:
                figures[name] = int(value.split()[0])
        return figures

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def deferredrev_script() -> Path:
    """The real console script beside this interpreter (``pip install -e .`` puts it there)."""
    script = Path(sys.executable).with_name("deferredrev")
    if not script.exists():
        raise FileNotFoundError(f"{script} is missing: run `make install` first")
    return script


def generated_key() -> str:
    """A fresh DEFERREDREV_ENCRYPTION_KEYS value from `deferredrev keys generate`."""
    completed = subprocess.run([str(deferredrev_script()), "keys", "generate"], capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def slack_env(slack: SlackSandbox, port: int) -> dict[str, str]:
    return {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
    }


def start_process(name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> ServerProcess:
    """Start a server on ``port`` with ``env`` over a clean copy of ours (no stray SLACK_/QBO_ settings) and wait
    until ``/readyz`` answers 200; its output goes to ``log``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "QBO_", "DEFERREDREV_", "DATABASE_URL"))}
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=base | env, stdout=output, stderr=subprocess.STDOUT)
    server = ServerProcess(name, process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_ready(f"{server.url}/readyz", alive=lambda: process.poll() is None)
    except (RuntimeError, TimeoutError) as error:
        server.stop()
        raise RuntimeError(f"{name} did not start: {error}\n{log.read_text()[-3000:]}") from None
    return server


def start_service(env: dict[str, str], port: int, log: Path) -> ServerProcess:
    """`deferredrev serve`: production's ``run_server`` (waitress, HTTP_THREADS threads, scheduler, logging)."""
    return start_process("deferredrev serve", [str(deferredrev_script()), "serve"], env, port, log)


def start_floor(env: dict[str, str], port: int, log: Path, answer: bool = False) -> ServerProcess:
    """The bare Bolt app (``bench/_floor_app.py``) with the same waitress settings as ``run_server``; with ``answer``
    its disconnect_cancel button also answers through response_url, as ours does."""
    command = [sys.executable, "-m", "bench._floor_app", "--port", str(port), "--threads", str(HTTP_THREADS)]
    return start_process("floor", command + (["--answer"] if answer else []), env, port, log)


# ---- our service against both sandboxes -----------------------------------------------------------------------------


@dataclass
class Stack:
    intuit: IntuitSandbox
    slack: SlackSandbox
    server: ServerProcess
    driver: SlackDriver
    browser: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, follow_redirects=False))

    def command(self, text: str, user: str = ADMIN) -> None:
        response = self.driver.slash(user, CHANNEL, text)
        if response.status_code != 200:
            raise RuntimeError(f"/deferredrev {text} answered HTTP {response.status_code}: {response.text[:200]}")

    def connect(self, realm: str = US_REALM) -> None:
        """Connect QuickBooks as the admin would: the connect link and its page, the sandbox consent, our callback."""
        seen = len(self.slack.ephemerals(CHANNEL, ADMIN))
        self.command("connect")
        message = self.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="QuickBooks", after=seen)
        link = next(e["url"] for b in message.blocks or [] for e in b.get("elements", []) if e.get("url"))
        visit = ConnectBrowser(self.browser, self.server.url, self.intuit).browse(link, realm=realm)
        if visit.outcome != "connected":
            raise RuntimeError(f"connecting QuickBooks failed: {visit.outcome or visit.title}: {' '.join(visit.hops)}")
        self.slack.wait_for_dm(ADMIN, contains="Connected to")

    def close(self) -> None:
        self.browser.close()
        self.driver.close()
        self.server.stop()
        self.intuit.stop()


@contextmanager
def running_stack(workdir: Path, slack: SlackSandbox) -> Iterator[Stack]:
    """`deferredrev serve` in a subprocess (SQLite in ``workdir``) against the sandbox Intuit (here) and ``slack``."""
    intuit = IntuitSandbox(config=SandboxConfig(), clock=ManualClock(datetime.now(UTC).replace(microsecond=0))).start()
    port = free_port()
    intuit.register_redirect_uri(f"http://127.0.0.1:{port}/qbo/callback")
    env = (
        slack_env(slack, port)
        | {
            "DATABASE_URL": f"sqlite:///{workdir}/deferredrev.db",
            "DEFERREDREV_ENCRYPTION_KEYS": generated_key(),
        }
        | intuit_env(intuit)
    )
    try:
        server = start_service(env, port, workdir / "deferredrev.log")
    except BaseException:
        intuit.stop()
        raise
    stack = Stack(intuit, slack, server, SlackDriver(server.url, SIGNING_SECRET, slack))
    try:
        yield stack
    finally:
        stack.close()


@contextmanager
def running_floor(workdir: Path, slack: SlackSandbox, answer: bool = False) -> Iterator[ServerProcess]:
    port = free_port()
    log = workdir / ("floor-answering.log" if answer else "floor.log")
    server = start_floor(slack_env(slack, port), port, log, answer)
    try:
        yield server
    finally:
        server.stop()


# ---- building and signing requests ----------------------------------------------------------------------------------


class CapturingDriver(SlackDriver):
    """A SlackDriver that records the body it would send instead of sending it (``click`` builds real payloads)."""

    def __init__(self, sandbox: SlackSandbox) -> None:
        super().__init__("http://127.0.0.1:9", SIGNING_SECRET, sandbox)
        self.captured: list[str] = []

    def post_signed(self, body: str, **kwargs: Any) -> httpx.Response:
        self.captured.append(body)
        return httpx.Response(200, json={})


def payload_body(payload: dict[str, Any]) -> str:
    import json

    return "payload=" + quote(json.dumps(payload))


def sign(bodies: list[str]) -> list[Signed]:
    """Slack's v0 signature for each body at the current time (valid for Slack's five minutes)."""
    verifier = SignatureVerifier(SIGNING_SECRET)
    timestamp = str(int(time.time()))
    signed = []
    for body in bodies:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=timestamp, body=body) or "",
        }
        signed.append((body.encode(), headers))
    return signed


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]

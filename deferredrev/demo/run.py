"""Runs the product end to end against the sandboxes, in a temporary folder, and prints a transcript."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from deferredrev.runtime import build_runtime
from deferredrev.server import start_in_background
from deferredrev.settings import Settings
from deferredrev.storage.vault import generate_key


def demo_settings(workdir: Path) -> Settings:
    """Embedded defaults: SQLite in a temporary folder and a throwaway encryption key (demo only)."""
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}",
        "DEFERREDREV_ENCRYPTION_KEYS": generate_key("demo"),
        "SLACK_SIGNING_SECRET": "demo-signing-secret-not-for-production",
    }
    return Settings.from_env(env)


def run_demo(*, quiet: bool = False) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="deferredrev-demo-") as tmp:
        settings = demo_settings(Path(tmp))
        say = (lambda _line: None) if quiet else print
        say("DeferredRev demo: SQLite in a temporary folder, sandbox Intuit and Slack on loopback.")
        say("Using a throwaway encryption key generated for this demo only; `serve` refuses to run without a real one.")
        runtime = build_runtime(settings, migrate=True)
        server = start_in_background(runtime)
        try:
            health = httpx.get(f"{server.url}/readyz", timeout=5).json()
            say(f"Service up at {server.url}: readiness {health['status']}, database {health['database']}.")
        finally:
            server.stop()
    print(f"Demo finished in {time.monotonic() - started:.1f}s.")
    return 0

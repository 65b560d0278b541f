"""A service process for the replica test: runs the refresh sweep in a loop, on the sandbox's clock, until told
to stop. ``python -m tests.e2e.refresh_worker`` with settings in the environment."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from deferredrev.runtime import build_runtime
from deferredrev.settings import Settings
from deferredrev.wiring import wire


class SandboxClock:
    """The sandbox Intuit's controllable clock, read over its admin API."""

    def __init__(self, sandbox_url: str) -> None:
        self._http = httpx.Client(base_url=sandbox_url, timeout=5)

    def now(self) -> datetime:
        return datetime.fromisoformat(self._http.get("/_sandbox/state").json()["now"])


def main() -> int:
    stop_file = Path(sys.argv[1])
    settings = Settings.from_env(os.environ)
    clock = SandboxClock(os.environ["SANDBOX_URL"])
    app = wire(build_runtime(settings, clock=clock), slack=False)
    # The test runs hours of sandbox time in seconds, so a 60-second lease would lapse mid-refresh under load;
    # a lease as long as the test keeps the exclusion test about exclusion, not about CPU scheduling.
    app.refresher.lease = timedelta(hours=6)
    sweeps = refreshed = 0
    progress = stop_file.with_name(f"sweeps-{os.getpid()}")  # the test waits on it before moving the clock again
    while not stop_file.exists():
        report = app.lifecycle.sweep()
        sweeps += 1
        refreshed += report.refreshed
        progress.write_text(str(sweeps))
        time.sleep(0.01)
    print(json.dumps({"sweeps": sweeps, "refreshed": refreshed, "owner": app.refresher.owner}))
    app.close()
    app.runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A separate service process that drains the posting outbox once, on the sandbox's clock (for the crash test).
``python -m tests.e2e.posting_worker`` with the service's settings in the environment."""

from __future__ import annotations

import os
import sys

from deferredrev.runtime import build_runtime
from deferredrev.services.posting import BATCH_CALLS_PER_MINUTE, SINGLE_CALLS_PER_MINUTE, Pacer
from deferredrev.settings import Settings
from deferredrev.wiring import wire
from tests.e2e.refresh_worker import SandboxClock


def main() -> int:
    settings = Settings.from_env(os.environ)
    app = wire(build_runtime(settings, clock=SandboxClock(os.environ["SANDBOX_URL"])), slack=False)
    app.posting.batch_pacer = Pacer(BATCH_CALLS_PER_MINUTE, time_scale=60)
    app.posting.single_pacer = Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=60)
    print("worker starting", flush=True)
    report = app.posting.run()
    print(f"posted={report.posted} failed={report.failed} retry_later={report.retry_later}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

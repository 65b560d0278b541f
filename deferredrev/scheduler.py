"""Background jobs (APScheduler 3, in-memory job store: every replica runs its own scheduler, and the jobs are
written to be safe when several run at once — row leases, version fences and conditional updates)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]
    every_seconds: float


def start_scheduler(jobs: list[Job]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(
            _logged(job),
            "interval",
            seconds=job.every_seconds,
            id=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(30, int(job.every_seconds)),
        )
    scheduler.start()
    return scheduler


def _logged(job: Job) -> Callable[[], None]:
    def run() -> None:
        try:
            result = job.run()
            logger.debug("job %s: %s", job.name, result)
        except Exception:  # noqa: BLE001 - a failed run is logged and retried at the next interval
            logger.exception("job %s failed; it will run again at the next interval", job.name)

    return run

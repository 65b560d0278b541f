"""Per-realm throttling (reference §6): sliding windows on real monotonic time, plus a concurrency cap.

Deliberately independent of the sandbox's ManualClock, so advancing token time never refills or drains a window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from deferredrev.sandbox.intuit.config import RateLimits


class _Window:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.events: deque[tuple[float, int]] = deque()

    def used(self, now: float) -> int:
        while self.events and self.events[0][0] <= now - self.seconds:
            self.events.popleft()
        return sum(weight for _, weight in self.events)

    def add(self, now: float, weight: int) -> None:
        self.events.append((now, weight))


class RateLimiter:
    def __init__(self, limits: RateLimits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, ...], _Window] = {}
        self._in_flight: dict[tuple[str, str], int] = {}

    def _window(self, key: tuple[str, ...], seconds: float) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(seconds / self.limits.time_scale)
        return window

    def acquire(self, realm: str, app: str, *, batch_items: int | None = None) -> bool:
        """Admit one request (``batch_items`` set for a batch); False means answer 429. Pair with ``release``."""
        limits = self.limits
        if not limits.enabled:
            return True
        weight = batch_items if batch_items is not None and limits.batch_counts_as_items else 1
        checks = [
            (self._window(("minute", realm), 60), limits.per_minute, weight),
            (self._window(("second", realm, app), 1), limits.per_second, 1),
        ]
        if batch_items is not None:
            checks.append((self._window(("batch-app", realm, app), 60), limits.batch_per_minute_app, 1))
            checks.append((self._window(("batch-realm", realm), 60), limits.batch_per_minute_realm, 1))
        with self._lock:
            now = self._monotonic()
            if self._in_flight.get((realm, app), 0) >= limits.in_flight:
                return False
            if any(window.used(now) + cost > limit for window, limit, cost in checks):
                return False
            for window, _, cost in checks:
                window.add(now, cost)
            self._in_flight[(realm, app)] = self._in_flight.get((realm, app), 0) + 1
            return True

    def release(self, realm: str, app: str) -> None:
        if not self.limits.enabled:
            return
        with self._lock:
            self._in_flight[(realm, app)] = max(0, self._in_flight.get((realm, app), 0) - 1)

"""Acks before follow-ups: work that runs after an ack waits while Slack requests are being acknowledged.

Slack shows an error if a request isn't acknowledged within 3 seconds; an answer sent afterwards through
response_url or the Web API has no such deadline. In one Python process both compete for the same interpreter
lock, so under a burst (a channel clicking the same button) the follow-ups of the first requests would slow the acks
of the last ones. Here a follow-up starts once acknowledging has been quiet for ``quiet`` seconds (no request being
acknowledged, none begun in that time: a burst's requests reach us one by one), or once it has waited
``max_deferral`` seconds, so a steady stream of requests cannot hold it back for longer than that. Nothing waits
when the app is quiet, and a follow-up that has started is never interrupted. Acks are counted at the HTTP endpoint
(``deferredrev/web/app.py``); over Socket Mode nothing is counted and follow-ups start at once, as before.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

QUIET_SECONDS = 0.005
MAX_DEFERRAL_SECONDS = 1.0


class AckGate:
    """Knows when Slack requests are being acknowledged; follow-ups wait for a quiet moment."""

    def __init__(
        self,
        quiet: float = QUIET_SECONDS,
        max_deferral: float = MAX_DEFERRAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.quiet = quiet
        self.max_deferral = max_deferral
        self.clock = clock
        self._sleep = sleep
        # Entering and leaving an ack takes no lock (deque.append/pop and a float assignment are atomic): a contended
        # lock on every request would cost the acks more than the follow-ups it holds back.
        self._acking: deque[None] = deque()
        self._last_begun = float("-inf")
        self._changed = threading.Condition()
        self._watching = False  # one waiting follow-up watches the clock; the others sleep on the condition

    def acknowledging(self) -> _Acknowledging:
        """``with gate.acknowledging():`` around answering one Slack request."""
        return _Acknowledging(self)

    def _begin(self) -> None:
        self._acking.append(None)
        self._last_begun = self.clock()

    def _end(self) -> None:
        self._acking.pop()

    def quiet_in(self, now: float) -> float:
        """Seconds until acknowledging will have been quiet long enough (0: it has)."""
        if self._acking:
            return self.quiet
        return max(0.0, self._last_begun + self.quiet - now)

    def wait_for_quiet(self, since: float) -> None:
        """Return once acknowledging has been quiet for ``quiet`` seconds, or ``max_deferral`` after ``since``."""
        deadline = since + self.max_deferral
        if self.quiet_in(self.clock()) == 0:
            return  # the usual case when the app is not busy: no lock taken
        with self._changed:
            while (now := self.clock()) < deadline and self.quiet_in(now) > 0:
                if not self._watching:
                    self._watching = True
                    break
                self._changed.wait(deadline - now)
            else:
                if not self._watching:
                    self._changed.notify()  # leaving unwatched: another waiting follow-up takes over the watch
                return
        quiet = False
        try:
            quiet = self._watch(deadline)
        finally:
            with self._changed:
                self._watching = False
                # Quiet: every waiting follow-up may start. Otherwise this one's deadline came first and one other
                # follow-up is woken to watch in its place: waking them all would cost the acks a context switch each.
                if quiet:
                    self._changed.notify_all()
                else:
                    self._changed.notify()

    def _watch(self, deadline: float) -> bool:
        """Sleep until acknowledging is quiet (True) or ``deadline`` (False)."""
        while (now := self.clock()) < deadline:
            if (pause := self.quiet_in(now)) == 0:
                return True
            self._sleep(min(pause, deadline - now))
        return self.quiet_in(self.clock()) == 0


class _Acknowledging:
    def __init__(self, gate: AckGate) -> None:
        self._gate = gate

    def __enter__(self) -> None:
        self._gate._begin()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._gate._end()


class AckFirstExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks start when the :class:`AckGate` says acknowledging is quiet."""

    def __init__(self, gate: AckGate, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._gate = gate

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        submitted = self._gate.clock()

        def after_acks() -> T:
            self._gate.wait_for_quiet(since=submitted)
            return fn(*args, **kwargs)

        return super().submit(after_acks)

"""AckGate and AckFirstExecutor with real threads: follow-ups start after a quiet moment, never later than the
deferral bound, and run at once when nothing is being acknowledged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deferredrev.bot.ack_first import AckFirstExecutor, AckGate

QUIET = 0.05
SLACK = 2.0  # generous upper bounds: the CI machine may be busy; the lower bounds are exact


@pytest.fixture
def gate() -> AckGate:
    return AckGate(quiet=QUIET, max_deferral=1.5)


@pytest.fixture
def executor(gate: AckGate) -> Iterator[AckFirstExecutor]:
    pool = AckFirstExecutor(gate, max_workers=8)
    yield pool
    pool.shutdown(wait=True)


@contextmanager
def steady_acks(gate: AckGate) -> Iterator[None]:
    """Requests acknowledged one after another, 1 ms each, until the block ends."""
    stop = threading.Event()

    def acks() -> None:
        while not stop.is_set():
            with gate.acknowledging():
                time.sleep(0.001)

    stream = threading.Thread(target=acks)
    stream.start()
    try:
        yield
    finally:
        stop.set()
        stream.join()


def started_at(executor: AckFirstExecutor, count: int = 1) -> list[float]:
    """Submit ``count`` tasks that record when they start; wait for them."""
    times: list[float] = []
    lock = threading.Lock()

    def record() -> None:
        with lock:
            times.append(time.monotonic())

    for future in [executor.submit(record) for _ in range(count)]:
        future.result(timeout=10)
    return times


def test_a_follow_up_starts_at_once_when_nothing_is_being_acknowledged(executor: AckFirstExecutor) -> None:
    before = time.monotonic()
    (started,) = started_at(executor)
    assert started - before < QUIET


def test_follow_ups_wait_for_the_ack_in_progress_and_a_quiet_moment(gate: AckGate, executor: AckFirstExecutor) -> None:
    times: list[float] = []
    with gate.acknowledging():
        futures = [executor.submit(lambda: times.append(time.monotonic())) for _ in range(5)]
        time.sleep(0.2)
        assert times == []  # all five are held while the request is being acknowledged
        ended = time.monotonic()
    for future in futures:
        future.result(timeout=10)
    assert len(times) == 5
    assert min(times) >= ended
    assert max(times) - ended < SLACK


def test_a_quiet_moment_means_no_ack_begun_for_a_while(gate: AckGate, executor: AckFirstExecutor) -> None:
    """A burst's requests arrive one by one: between two of them nothing is in progress, yet it is not quiet."""
    with gate.acknowledging():
        pass
    begun = time.monotonic()
    (started,) = started_at(executor)
    assert started >= begun + QUIET * 0.9  # the clock read inside the gate came just before ``begun``


def test_a_steady_stream_of_acks_holds_a_follow_up_back_no_longer_than_the_bound() -> None:
    gate = AckGate(quiet=QUIET, max_deferral=0.3)
    pool = AckFirstExecutor(gate, max_workers=4)
    try:
        with steady_acks(gate):
            time.sleep(0.05)
            submitted = time.monotonic()
            times = started_at(pool, count=3)
    finally:
        pool.shutdown(wait=True)
    assert all(t >= submitted + 0.3 for t in times)
    assert all(t - submitted < 0.3 + SLACK for t in times)


def test_a_failing_follow_up_reports_through_its_future(executor: AckFirstExecutor) -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        executor.submit(fail).result(timeout=10)
    assert started_at(executor)  # the pool keeps working


def test_acks_that_fail_still_end(gate: AckGate, executor: AckFirstExecutor) -> None:
    with pytest.raises(ValueError), gate.acknowledging():
        raise ValueError("the listener failed")
    assert gate.quiet_in(time.monotonic() + QUIET) == 0
    assert started_at(executor)


def test_when_the_watching_follow_up_reaches_its_bound_another_watches_for_quiet_in_its_place() -> None:
    """One waiting follow-up watches the clock; the others sleep. When the watcher's bound comes (and so does the
    bound of the one after it), a follow-up submitted later must still start at the next quiet moment rather than
    wait out its own bound."""
    gate = AckGate(quiet=QUIET, max_deferral=1.0)
    pool = AckFirstExecutor(gate, max_workers=4)
    times: dict[str, float] = {}
    try:
        with steady_acks(gate):
            begun = time.monotonic()
            early = [pool.submit(lambda name=name: times.setdefault(name, time.monotonic())) for name in ("a", "b")]
            time.sleep(0.6)
            late = pool.submit(lambda: times.setdefault("late", time.monotonic()))  # its bound: 1.6 s after ``begun``
            time.sleep(0.5)  # the early two reach their bound at 1.0 s while acks keep coming
        stopped = time.monotonic()
        for future in [*early, late]:
            future.result(timeout=10)
    finally:
        pool.shutdown(wait=True)
    assert times["a"] - begun >= 1.0 and times["b"] - begun >= 1.0
    assert times["late"] >= stopped
    assert times["late"] - stopped < 0.35  # quiet comes 0.05 s after the acks stop, its own bound ~0.5 s after

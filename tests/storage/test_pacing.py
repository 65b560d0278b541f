from __future__ import annotations

import threading

from deferredrev.storage.pacing import CallSlots

INTERVAL = 0.5


class FixedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_replicas_share_one_companys_slots(sessions) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(1_000.0)
    replica_a, replica_b = CallSlots(sessions, clock), CallSlots(sessions, clock)
    starts = [replica.reserve("R1", "batch", INTERVAL) for replica in (replica_a, replica_b, replica_a, replica_b)]
    assert starts == [1_000.0, 1_000.5, 1_001.0, 1_001.5]
    assert replica_b.reserve("R2", "batch", INTERVAL) == 1_000.0  # another company: its own limit
    assert replica_a.reserve("R1", "single", 0.1) == 1_000.0  # another kind of call: its own limit
    clock.now = 2_000.0  # long quiet: the next call may go at once, not in a slot booked in the past
    assert replica_a.reserve("R1", "batch", INTERVAL) == 2_000.0


def test_concurrent_reservations_never_share_a_slot(sessions) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(5_000.0)
    replicas = [CallSlots(sessions, clock) for _ in range(2)]
    starts: list[float] = []
    lock = threading.Lock()

    def take(replica: CallSlots) -> None:
        for _ in range(15):
            start = replica.reserve("R1", "single", INTERVAL)
            with lock:
                starts.append(start)

    threads = [threading.Thread(target=take, args=(replica,)) for replica in replicas for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(starts) == [5_000.0 + n * INTERVAL for n in range(60)]

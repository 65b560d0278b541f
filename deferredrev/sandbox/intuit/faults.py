"""Injectable faults: forced status codes, delays, dropped connections and "commit then fail" writes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Literal

FaultKind = Literal["status", "delay", "reset", "commit_then_reset", "commit_then_500", "commit_then_hang"]
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "delay", "reset", "commit_then_reset", "commit_then_500", "commit_then_hang")


@dataclass(frozen=True)
class Fault:
    """One fault, consumed by the next ``times`` requests whose path contains ``path`` (and method matches).

    - ``status``: answer ``status`` without handling; 401, 403 and 429 get Intuit's bodies (401 and 429 as XML when
      ``xml``), others a SystemFault (or ``body`` verbatim, e.g. an HTML 503 page).
    - ``delay``: sleep ``seconds`` (real time) and then handle normally. Any kind may also carry ``seconds``. On API
      paths a delay is spent after the bearer check while holding an in-flight (concurrency) slot, and before the
      requestid lookup, so a client that times out and retries with the same requestid still gets one write.
    - ``reset``: close the socket without a response, before doing anything.
    - ``commit_then_reset`` / ``commit_then_500``: handle the request fully (the write happens and a requestid is
      remembered), then drop the connection or answer 500 — the outcome-unknown case.
    - ``commit_then_hang``: handle the request fully, then hold the response for ``seconds`` (real time) before
      sending it — a client that gives up or is killed meanwhile never learns the outcome.

    ``path=None`` matches every request except the ``/_sandbox`` admin API.
    """

    kind: FaultKind = "status"
    status: int = 500
    seconds: float = 0.0
    xml: bool = False
    body: str | None = None
    content_type: str = "text/html;charset=UTF-8"
    path: str | None = None
    method: str | None = None
    times: int = 1

    @classmethod
    def http_status(cls, status: int, **kwargs: Any) -> Fault:
        return cls(kind="status", status=status, **kwargs)

    @classmethod
    def delay(cls, seconds: float, **kwargs: Any) -> Fault:
        return cls(kind="delay", seconds=seconds, **kwargs)

    @classmethod
    def connection_reset(cls, **kwargs: Any) -> Fault:
        return cls(kind="reset", **kwargs)

    @classmethod
    def commit_then_fail(cls, then: Literal["reset", "500"] = "reset", **kwargs: Any) -> Fault:
        return cls(kind="commit_then_reset" if then == "reset" else "commit_then_500", **kwargs)

    @classmethod
    def commit_then_hang(cls, seconds: float, **kwargs: Any) -> Fault:
        return cls(kind="commit_then_hang", seconds=seconds, **kwargs)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        fields = {"kind", "status", "seconds", "xml", "body", "content_type", "path", "method", "times"}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = cls(**data)
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        return fault

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "seconds": self.seconds,
            "xml": self.xml,
            "path": self.path,
            "method": self.method,
            "times": self.times,
        }

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path in path


@dataclass
class FaultQueue:
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> None:
        if fault.times < 1:
            raise ValueError("a fault must apply at least once")
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first pending fault for this request, consuming one of its uses."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    if fault.times <= 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = replace(fault, times=fault.times - 1)
                    return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

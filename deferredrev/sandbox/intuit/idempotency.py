"""``requestid`` idempotency (reference §4): remember each (realm, requestid)'s exact response and replay it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from deferredrev.sandbox.intuit.wire import QboFault, Request, Response, fault_response


@dataclass(frozen=True)
class _Stored:
    fingerprint: str
    status: int
    body: bytes
    content_type: str
    stored_at: datetime


def fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class IdempotencyStore:
    """Replays stored responses; concurrent requests with the same id wait for the first one to finish."""

    def __init__(self, conflict: Literal["replay", "error"], retention: timedelta | None) -> None:
        self.conflict = conflict
        self.retention = retention
        self._results: dict[tuple[str, str], _Stored] = {}
        self._pending: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def _lookup(self, key: tuple[str, str], now: datetime) -> _Stored | None:
        stored = self._results.get(key)
        if stored is not None and self.retention is not None and now - stored.stored_at >= self.retention:
            del self._results[key]
            return None
        return stored

    def _replay(self, stored: _Stored, print_: str, now: datetime) -> Response:
        if stored.fingerprint != print_ and self.conflict == "error":
            fault = QboFault(
                "600",
                "Duplicate Request",
                "RequestId already exists in the system, duplicate request is detected",
                element="requestid",
            )
            return fault_response(fault, now)
        return Response(status=stored.status, body=stored.body, content_type=stored.content_type)

    def run(self, realm: str, request_id: str, request: Request, now: datetime, action: Callable[[], Response]) -> Response:
        key = (realm, request_id)
        print_ = fingerprint(request)
        while True:
            with self._lock:
                stored = self._lookup(key, now)
                if stored is not None:
                    return self._replay(stored, print_, now)
                event = self._pending.get(key)
                if event is None:
                    self._pending[key] = threading.Event()
                    break
            event.wait()
        response: Response | None = None
        try:
            response = action()
            return response
        finally:
            with self._lock:
                if response is not None and response.status < 500:
                    self._results[key] = _Stored(print_, response.status, response.body, response.content_type, now)
                self._pending.pop(key).set()

    def clear(self) -> None:
        with self._lock:
            self._results.clear()

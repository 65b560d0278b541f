"""Refuse a signed Slack request seen before.

Slack's signature only bounds replays to its 5-minute window; a captured request could be sent again inside it.
Slack's own retries are new requests with new timestamps and signatures, so a repeated signature is never
legitimate. The memory is per process (kept for the replay window); every state change behind a request is also
idempotent, so a replay that reaches another replica still changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from slack_sdk.signature import SignatureVerifier

WINDOW_SECONDS = 300.0
MAX_REMEMBERED = 200_000


class ReplayGuard:
    def __init__(self, signing_secret: str, window: float = WINDOW_SECONDS) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._window = window
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, body: bytes, timestamp: str | None, signature: str | None) -> bool:
        """False only for a correctly signed request whose signature was already seen; the rest is Bolt's to judge."""
        if (
            not timestamp
            or not signature
            or not self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        ):
            return True
        now = time.monotonic()
        with self._lock:
            self._forget_older_than(now - self._window)
            if signature in self._seen:
                return False
            self._seen[signature] = now
        return True

    def _forget_older_than(self, cutoff: float) -> None:
        while self._seen and (next(iter(self._seen.values())) < cutoff or len(self._seen) > MAX_REMEMBERED):
            self._seen.popitem(last=False)

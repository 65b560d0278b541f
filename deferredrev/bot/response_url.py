"""Answers through response_url over kept-alive connections.

Bolt's ``respond`` builds a new ``WebhookClient`` for every answer, which opens a new connection through urllib (in
production a new TLS handshake with hooks.slack.com each time): 0.55-0.77 ms of CPU per answer on loopback. Here
each host gets a few idle connections kept for reuse, and the request goes through ``http.client`` directly
(0.27-0.34 ms). A kept connection that the other side closed while it was idle fails before any answer comes back;
that post is sent once more on a fresh connection. Nothing else is retried: Slack counts each post to a
response_url.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.web.internal_utils import get_user_agent
from slack_sdk.webhook import WebhookResponse

IDLE_SECONDS = 20.0  # a kept connection idle longer than this is closed rather than reused
IDLE_PER_HOST = 8
TIMEOUT_SECONDS = 10.0
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

Origin = tuple[str, str, int]


class ResponseUrlPoster:
    """Posts JSON to response_urls, keeping up to ``idle_per_host`` idle connections per origin."""

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
        idle_per_host: int = IDLE_PER_HOST,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._idle_per_host = idle_per_host
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._idle: dict[Origin, deque[tuple[float, http.client.HTTPConnection]]] = {}
        self._user_agent = get_user_agent()  # as slack_sdk's WebhookClient sends it
        self._lock = threading.Lock()

    def post(self, url: str, message: dict[str, Any]) -> WebhookResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("a response_url must be an http(s) URL")
        origin = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = json.dumps(message).encode()
        connection, reused = self._take(origin)
        try:
            try:
                status, headers, answer, keep = self._exchange(connection, path, body)
            except STALE_ERRORS:
                if not reused:
                    raise
                connection.close()
                connection = self._connect(origin)
                status, headers, answer, keep = self._exchange(connection, path, body)
        except BaseException:
            connection.close()
            raise
        if keep:
            self._give_back(origin, connection)
        else:
            connection.close()
        return WebhookResponse(url=url, status_code=status, body=answer, headers=headers)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for kept in idle.values():
            for _, connection in kept:
                connection.close()

    def _exchange(
        self, connection: http.client.HTTPConnection, path: str, body: bytes
    ) -> tuple[int, dict[str, str], str, bool]:
        headers = {
            "Content-Type": "application/json;charset=utf-8",
            "Content-Length": str(len(body)),
            "User-Agent": self._user_agent,
        }
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read().decode("utf-8", errors="replace")
        return response.status, dict(response.getheaders()), answer, not response.will_close

    def _take(self, origin: Origin) -> tuple[http.client.HTTPConnection, bool]:
        now = self._clock()
        stale = []
        found = None
        with self._lock:
            kept = self._idle.get(origin)
            while kept:
                since, connection = kept.pop()
                if now - since <= self._idle_seconds:
                    found = connection
                    break
                stale.append(connection)
        for connection in stale:
            connection.close()
        if found is not None:
            return found, True
        return self._connect(origin), False

    def _give_back(self, origin: Origin, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            kept = self._idle.setdefault(origin, deque())
            if len(kept) < self._idle_per_host:
                kept.append((self._clock(), connection))
                return
        connection.close()

    def _connect(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._ssl_context)
        return http.client.HTTPConnection(host, port, timeout=self._timeout)


class PooledRespond(Respond):
    """Bolt's ``respond`` for one request, posting through a shared :class:`ResponseUrlPoster`."""

    def __init__(self, *, response_url: str | None, poster: ResponseUrlPoster) -> None:
        super().__init__(response_url=response_url)
        self._poster = poster

    def __call__(  # type: ignore[override]
        self, text: str | dict[str, Any] = "", blocks: Sequence[Any] | None = None, **options: Any
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):
            message = _build_message(**text)
        else:
            message = _build_message(text=text, blocks=blocks, **options)
        return self._poster.post(self.response_url, message)

"""Answers through response_url: only to Slack, over kept-alive connections.

**Only to Slack.** A response_url comes in the request's payload, so before anything is posted to one,
:class:`Responder` checks that it points at Slack: ``https://hooks.slack.com``, ``https://hooks.slack-gov.com`` when
the app talks to GovSlack (``SLACK_API_URL`` on slack-gov.com), or the origin of a ``SLACK_API_URL`` that is not
Slack's (the sandbox Slack on loopback, a test double): see :class:`ResponseUrlHosts`. A request whose response_url
points anywhere else is answered by DM instead, and the log names only that URL's scheme and host. Listeners (through
:class:`~deferredrev.bot.listeners.guard.GuardedApp`) and the error handler both get their ``respond`` from
:meth:`Responder.respond_for`, the one place the check is made.

**Kept-alive connections.** Bolt's ``respond`` builds a new ``WebhookClient`` for every answer, which opens a new
connection through urllib (in production a new TLS handshake with hooks.slack.com each time): 0.55-0.77 ms of CPU per
answer on loopback. :class:`ResponseUrlPoster` keeps a few idle connections per host for reuse and sends the request
through ``http.client`` directly (0.27-0.34 ms). A kept connection that the other side closed while it was idle fails
before any answer comes back; that post is sent once more on a fresh connection. Nothing else is retried: Slack
counts each post to a response_url. Behind an egress proxy there is no poster, and Bolt's own ``respond`` (which
honours the proxy) posts the answers that pass the check.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from slack_bolt import BoltContext, Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk import WebClient
from slack_sdk.web.internal_utils import get_user_agent
from slack_sdk.webhook import WebhookResponse

logger = logging.getLogger(__name__)

IDLE_SECONDS = 20.0  # a kept connection idle longer than this is closed rather than reused
IDLE_PER_HOST = 8
TIMEOUT_SECONDS = 10.0
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

Origin = tuple[str, str, int]

SLACK_HOOKS = ("https", "hooks.slack.com", 443)
GOV_SLACK_HOOKS = ("https", "hooks.slack-gov.com", 443)


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


@dataclass(frozen=True)
class ResponseUrlHosts:
    """The origins (scheme, host, port) a response_url may point at."""

    origins: frozenset[Origin]

    @classmethod
    def for_api_url(cls, api_url: str) -> ResponseUrlHosts:
        """Slack's hooks host; GovSlack's too for a Web API on slack-gov.com; and, for a Web API that is not Slack's
        (the sandbox Slack on loopback), that API's own origin, which is where such a stand-in serves response_urls."""
        parts = urlsplit(api_url)
        host = (parts.hostname or "").lower()
        origins = {SLACK_HOOKS}
        if _within(host, "slack-gov.com"):
            origins.add(GOV_SLACK_HOOKS)
        elif not _within(host, "slack.com"):
            origin = _origin(parts)
            if origin is not None:
                origins.add(origin)
        return cls(frozenset(origins))

    def allows(self, url: str) -> bool:
        return _origin(urlsplit(url)) in self.origins


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _origin(parts: SplitResult) -> Origin | None:
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def where(url: str) -> str:
    """What a log may say about a URL: scheme and host, never its path or query (a response_url's path is a
    capability, and a query may carry anything)."""
    parts = urlsplit(url)
    return f"{parts.scheme or '?'}://{parts.hostname or '?'}"


class DirectMessageRespond(Respond):
    """``respond`` for a request whose response_url is not Slack's: the answer goes to the user as a DM (an answer
    that only deletes the original message has nothing to say, and is dropped)."""

    def __init__(self, *, client: WebClient | None, user_id: str | None) -> None:
        super().__init__(response_url=None)
        self._client = client
        self._user_id = user_id

    def __call__(  # type: ignore[override]
        self, text: str | dict[str, Any] = "", blocks: Sequence[Any] | None = None, **options: Any
    ) -> None:
        message = _build_message(**text) if isinstance(text, dict) else _build_message(text=text, blocks=blocks, **options)
        if not (message.get("text") or message.get("blocks")):
            return
        if self._client is None or self._user_id is None:
            logger.warning("an answer was dropped: its response_url is not Slack's and there is no user to DM")
            return
        self._client.chat_postMessage(channel=self._user_id, text=message.get("text") or "", blocks=message.get("blocks"))


class Responder:
    """Builds each request's ``respond``: posting only to Slack's hosts (else a DM), through the shared poster when
    there is one (else Bolt's own ``respond``, which goes through an egress proxy)."""

    def __init__(self, hosts: ResponseUrlHosts, poster: ResponseUrlPoster | None) -> None:
        self._hosts = hosts
        self._poster = poster

    def respond_for(self, context: BoltContext) -> Respond | None:
        """The ``respond`` for this request; None when it has no response_url."""
        url = context.response_url
        if not url:
            return None
        if not self._hosts.allows(url):
            logger.warning("a request's response_url points at %s, not Slack: answering by DM instead", where(url))
            return DirectMessageRespond(client=context.client, user_id=context.user_id)
        if self._poster is not None:
            return PooledRespond(response_url=url, poster=self._poster)
        return Respond(response_url=url, proxy=context.client.proxy, ssl=context.client.ssl)

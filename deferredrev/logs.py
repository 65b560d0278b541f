"""Logging that can never print a token.

Every handler we install formats through :class:`RedactingFormatter`, which scrubs the *final* text (message,
arguments and traceback alike) of:

- secret values known at run time (signing and client secrets, encryption keys, the current tokens of every
  connection the vault has stored or decrypted), registered in a :class:`SecretRegistry`;
- strings shaped like tokens even when we never saw them: Slack tokens, JWTs, bearer headers, Intuit refresh
  tokens, and secret-bearing ``key=value`` pairs in query strings and form bodies (``code=``, ``state=``,
  ``refresh_token=`` ...).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable
from typing import TypeGuard

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8
MAX_TRACKED_OWNERS = 4096  # e.g. 2,048 connections' access and refresh tokens
RETIRED_KEPT = 256  # rotated-out values still redacted, for log lines in flight during a rotation

TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]+"),  # Slack bot/user/refresh tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),  # Slack app-level tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_.-]*"),  # JWT / JWE (Intuit access tokens)
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/=]{8,}"),
    re.compile(r"\bRT1-[A-Za-z0-9-]+"),  # Intuit refresh tokens
    re.compile(r"\bAB1[0-9][A-Za-z0-9]{20,}"),  # older Intuit refresh tokens
    re.compile(
        r"(?i)\b(code|state|access_token|refresh_token|client_secret|token|password|secret|t)"
        r"(=|\"?\s*:\s*\"?)([^&\s\"',;]+)"
    ),
)


class SecretRegistry:
    """Secret values to scrub from logs; thread-safe, and bounded however long the process runs.

    Two kinds of secret:

    - :meth:`add`: values fixed for the life of the process (signing and client secrets, encryption keys). Kept
      forever, so only for a handful of configuration values, never for tokens that rotate.
    - :meth:`track`: the *current* value of something that rotates, keyed by its owner (e.g. one connection's
      refresh token). A newer value replaces the owner's previous one, which stays among the last
      ``retired_kept`` retired values (a log line about it may still be in flight) and is then forgotten. At most
      ``max_owners`` owners are remembered, least recently tracked dropped first (the token store tracks a
      connection's tokens again on every read, so tokens in use stay tracked).

    Matching is plain substring search over the current list, longest first (no regex to rebuild).
    """

    def __init__(
        self, secrets: Iterable[str] = (), *, max_owners: int = MAX_TRACKED_OWNERS, retired_kept: int = RETIRED_KEPT
    ) -> None:
        self._lock = threading.Lock()
        self._static: set[str] = set()
        self._owned: OrderedDict[Hashable, str] = OrderedDict()
        self._retired: deque[str] = deque(maxlen=retired_kept)
        self._max_owners = max_owners
        self._snapshot: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Values that never change while the process runs."""
        fresh = {s for s in secrets if _redactable(s)}
        with self._lock:
            if fresh - self._static:
                self._static |= fresh
                self._rebuild()

    def track(self, owner: Hashable, secret: str | None) -> None:
        """Remember ``secret`` as ``owner``'s current value; the value it replaces joins the recently retired.

        A read that raced a rotation may track the older value last: both stay redacted (one current, one
        retired), and the next read of the stored token makes the newer one current again.
        """
        if not _redactable(secret):
            return
        with self._lock:
            previous = self._owned.get(owner)
            self._owned[owner] = secret
            self._owned.move_to_end(owner)
            if previous == secret:
                return
            if previous is not None:
                self._retire(previous)
            while len(self._owned) > self._max_owners:
                self._owned.popitem(last=False)
            self._rebuild()

    @property
    def size(self) -> int:
        """How many values are redacted now. (Not ``__len__``: an empty registry must not be falsy.)"""
        return len(self._snapshot)

    def redact(self, text: str) -> str:
        for secret in self._snapshot:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact_token_shapes(text)

    def _retire(self, secret: str) -> None:
        if secret in self._retired:
            self._retired.remove(secret)
        self._retired.append(secret)

    def _rebuild(self) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        values = self._static | set(self._owned.values()) | set(self._retired)
        self._snapshot = tuple(sorted(values, key=len, reverse=True))


def _redactable(secret: str | None) -> TypeGuard[str]:
    """Shorter values are left alone: redacting them would mangle ordinary text."""
    return secret is not None and len(secret) >= MIN_SECRET_LENGTH


def redact_token_shapes(text: str) -> str:
    for pattern in TOKEN_PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, registry: SecretRegistry, fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._registry = registry

    def format(self, record: logging.LogRecord) -> str:
        return self._registry.redact(super().format(record))


def configure_logging(registry: SecretRegistry, level: int = logging.INFO) -> logging.Handler:
    """Send all logging to stderr through the redactor, replacing handlers installed earlier on the root logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(registry))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing.formatter, RedactingFormatter):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return handler

"""Logging that can never print a token.

Every handler we install formats through :class:`RedactingFormatter`, which scrubs the *final* text (message,
arguments and traceback alike) of:

- secret values known at run time (signing and client secrets, encryption keys, every token the vault decrypts),
  registered in a :class:`SecretRegistry`;
- strings shaped like tokens even when we never saw them: Slack tokens, JWTs, bearer headers, Intuit refresh
  tokens, and secret-bearing ``key=value`` pairs in query strings and form bodies (``code=``, ``state=``,
  ``refresh_token=`` ...).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8

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
    """Secret values to scrub from logs; thread-safe and append-only while the process runs."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        with self._lock:
            if fresh - self._secrets:
                self._secrets |= fresh
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        return redact_token_shapes(text)


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

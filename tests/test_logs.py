from __future__ import annotations

import logging

import pytest

from deferredrev.logs import REDACTED, RedactingFormatter, SecretRegistry, redact_token_shapes

CANARIES = {
    "slack bot token": "xoxb-1234-5678-canaryBOT",
    "slack refresh token": "xoxe-1-canaryREFRESH",
    "app token": "xapp-1-A111-canaryAPP",
    "intuit access token": "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..canaryJWE",
    "intuit refresh token": "RT1-42-H0-1790000000canaryRT",
    "old intuit refresh token": "AB11790000000canaryAB0123456789",
}


@pytest.mark.parametrize("name", sorted(CANARIES))
def test_token_shaped_strings_are_redacted(name: str) -> None:
    line = f"calling API with {CANARIES[name]} now"
    assert CANARIES[name] not in redact_token_shapes(line)
    assert REDACTED in redact_token_shapes(line)


@pytest.mark.parametrize(
    "text",
    [
        "GET /qbo/callback?code=AB11canaryCODE&state=canarySTATE&realmId=123",
        "POST grant_type=refresh_token&refresh_token=canaryREFRESH",
        '{"access_token": "canaryACCESS", "expires_in": 3600}',
        "Authorization: Bearer canaryBEARERtoken",
        "Authorization: Basic Y2FuYXJ5OmNhbmFyeQ==",
        "GET /qbo/connect?t=canaryTICKET",
    ],
)
def test_secret_bearing_fields_are_redacted(text: str) -> None:
    redacted = redact_token_shapes(text)
    assert "canary" not in redacted.lower()
    assert "Y2FuYXJ5OmNhbmFyeQ==" not in redacted


def test_known_secrets_are_redacted_whatever_their_shape() -> None:
    registry = SecretRegistry(["plain-looking-signing-secret"])
    registry.add("another-secret-value", None, "short")
    assert registry.redact("x plain-looking-signing-secret y another-secret-value") == f"x {REDACTED} y {REDACTED}"
    assert registry.redact("short") == "short"  # too short to redact without mangling ordinary text


def test_formatter_redacts_messages_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    registry = SecretRegistry(["canary-client-secret"])
    formatter = RedactingFormatter(registry)
    logger = logging.getLogger("deferredrev.test")
    try:
        raise RuntimeError(f"refresh failed for {CANARIES['intuit refresh token']} with canary-client-secret")
    except RuntimeError:
        record = logger.makeRecord(
            "deferredrev.test", logging.ERROR, __file__, 1, "token %s failed", (CANARIES["slack bot token"],), None
        )
        import sys

        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "canary" not in text.lower().replace("[redacted]", "")
    assert "RuntimeError" in text


def token(connection: int, rotation: int, size: int = 40) -> str:
    """A token-like secret no shape pattern catches, so only the registry can redact it."""
    stem = f"sekrit{connection:04d}r{rotation:05d}"
    return (stem * (size // len(stem) + 1))[:size]


def test_rotating_tokens_replace_each_other_so_the_registry_stays_bounded() -> None:
    registry = SecretRegistry(["static-signing-secret"], max_owners=200, retired_kept=8)
    for rotation in range(30):
        for connection in range(100):
            registry.track((f"T{connection}", "access"), token(connection, rotation))
    assert registry.size <= 1 + 100 + 8  # not 1 + 3,000
    line = " ".join(token(connection, 29) for connection in range(100))
    assert registry.redact(line) == " ".join([REDACTED] * 100)  # each connection's current token
    assert registry.redact(token(99, 28)) == REDACTED  # just rotated out: a log line about it may be in flight
    assert registry.redact(token(99, 0)) == token(99, 0)  # long gone: no longer held
    assert registry.redact("x static-signing-secret") == f"x {REDACTED}"  # configuration secrets are never dropped


def test_tracking_the_current_value_again_changes_nothing() -> None:
    registry = SecretRegistry(max_owners=2, retired_kept=1)
    registry.track("a", token(1, 1))
    registry.track("b", token(2, 1))
    for _ in range(5):
        registry.track("a", token(1, 1))  # every read of a stored token tracks it again
    registry.track("c", token(3, 1))  # over the cap: the least recently tracked owner ("b") goes
    assert registry.size == 2
    assert registry.redact(token(1, 1)) == REDACTED and registry.redact(token(3, 1)) == REDACTED
    assert registry.redact(token(2, 1)) == token(2, 1)
    registry.track("a", None)
    registry.track("a", "short")
    assert registry.redact(token(1, 1)) == REDACTED  # too short or missing values never replace a token


def test_a_thousand_intuit_sized_tokens_rotating_keep_the_registry_small() -> None:
    registry = SecretRegistry()
    for rotation in range(2):
        for connection in range(1000):
            registry.track((connection, "access"), token(connection, rotation, size=1000))
            registry.track((connection, "refresh"), token(connection + 5000, rotation, size=90))
    assert registry.size <= 2000 + 256
    text = f"401 for {token(7, 1, size=1000)} after refresh with {token(5007, 1, size=90)}"
    assert registry.redact(text) == f"401 for {REDACTED} after refresh with {REDACTED}"

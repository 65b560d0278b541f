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

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from deferredrev.clock import ManualClock
from deferredrev.qbo.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    OAuthCallbackError,
    QboOAuthError,
    QboServerError,
    QboThrottledError,
    QboTransportError,
)
from deferredrev.qbo.oauth import ACCOUNTING_SCOPE, CallbackResult, IntuitEndpoints, IntuitOAuth, parse_callback
from tests.qbo.fakes import FakeIntuitOAuth, json_response

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
ENDPOINTS = IntuitEndpoints(
    authorize_url="https://intuit.test/connect/oauth2",
    token_url="https://intuit.test/oauth2/v1/tokens/bearer",
    revoke_url="https://intuit.test/v2/oauth2/tokens/revoke",
    api_base="https://intuit.test",
)


@pytest.fixture
def intuit() -> FakeIntuitOAuth:
    return FakeIntuitOAuth()


@pytest.fixture
def http(intuit: FakeIntuitOAuth) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(intuit)) as client:
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def make_oauth(http: httpx.Client, clock: ManualClock, *, secret: str = "client-secret-1") -> IntuitOAuth:
    return IntuitOAuth(
        http=http,
        endpoints=ENDPOINTS,
        client_id="client-id-1",
        client_secret=secret,
        redirect_uri="https://app.example/qbo/callback",
        clock=clock,
    )


def test_endpoints_for_environment() -> None:
    sandbox = IntuitEndpoints.for_environment("sandbox")
    assert sandbox == IntuitEndpoints(
        authorize_url="https://appcenter.intuit.com/connect/oauth2",
        token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        api_base="https://sandbox-quickbooks.api.intuit.com",
    )
    assert IntuitEndpoints.for_environment("production").api_base == "https://quickbooks.api.intuit.com"
    local = IntuitEndpoints.for_environment(
        "sandbox", token_url="http://127.0.0.1:1/token", api_base="http://127.0.0.1:1/v3/"
    )
    assert local.token_url == "http://127.0.0.1:1/token"
    assert local.api_base == "http://127.0.0.1:1"
    assert local.authorize_url == sandbox.authorize_url
    with pytest.raises(ValueError):
        IntuitEndpoints.for_environment("staging")


def test_authorization_url(http: httpx.Client, clock: ManualClock) -> None:
    url = make_oauth(http, clock).authorization_url("state-xyz")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == ENDPOINTS.authorize_url
    assert parse_qs(parts.query) == {
        "client_id": ["client-id-1"],
        "response_type": ["code"],
        "scope": [ACCOUNTING_SCOPE],
        "redirect_uri": ["https://app.example/qbo/callback"],
        "state": ["state-xyz"],
    }
    with pytest.raises(ValueError):
        make_oauth(http, clock).authorization_url("")


def test_exchange_code(http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth) -> None:
    tokens = make_oauth(http, clock).exchange_code("code-1", "9130350000000001")
    assert tokens.realm_id == "9130350000000001"
    assert tokens.access_token == "eyJaccess1.EMULATED"
    assert tokens.access_expires_at == NOW + timedelta(seconds=3600)
    assert tokens.refresh_expires_at == NOW + timedelta(seconds=8726400)
    assert tokens.hard_expires_at == NOW + timedelta(seconds=156032154)
    (sent,) = intuit.requests
    assert sent.method == "POST"
    assert str(sent.url) == ENDPOINTS.token_url
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"client-id-1:client-secret-1").decode()
    assert parse_qs(sent.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": ["code-1"],
        "redirect_uri": ["https://app.example/qbo/callback"],
    }
    assert "code-1" not in str(sent.url)
    # Codes are single use: a second exchange is refused.
    with pytest.raises(InvalidGrantError) as caught:
        make_oauth(http, clock).exchange_code("code-1", "9130350000000001")
    assert caught.value.error == "invalid_grant"
    assert caught.value.status == 400


def test_refresh_sends_hard_expiry_header_and_returns_rotated_token(
    http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth
) -> None:
    oauth = make_oauth(http, clock)
    first = oauth.exchange_code("code-1", "1")
    clock.advance(timedelta(hours=2))
    second = oauth.refresh(first.refresh_token)
    sent = intuit.requests[-1]
    assert sent.headers["x-include-refresh-token-hard-expires-in"] == "true"
    assert parse_qs(sent.content.decode()) == {"grant_type": ["refresh_token"], "refresh_token": [first.refresh_token]}
    assert second.refresh_token != first.refresh_token
    assert second.realm_id is None
    assert second.access_expires_at == NOW + timedelta(hours=2, seconds=3600)
    assert second.hard_expires_at == NOW + timedelta(hours=2, seconds=156032154)


def test_refresh_keeps_token_when_intuit_does_not_rotate(
    http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth
) -> None:
    intuit.rotate = False
    oauth = make_oauth(http, clock)
    first = oauth.exchange_code("code-1", "1")
    assert oauth.refresh(first.refresh_token).refresh_token == first.refresh_token


def test_refresh_without_hard_expiry_field(http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth) -> None:
    intuit.script.append(json_response(200, {"access_token": "a" * 20, "refresh_token": "r" * 20, "expires_in": 3600}))
    tokens = make_oauth(http, clock).refresh("RT1-old-token")
    assert tokens.hard_expires_at is None and tokens.refresh_expires_at is None


def test_invalid_grant(http: httpx.Client, clock: ManualClock) -> None:
    with pytest.raises(InvalidGrantError) as caught:
        make_oauth(http, clock).refresh("RT1-unknown-refresh-token")
    assert caught.value.error_description == "Incorrect or invalid refresh token"
    assert "RT1-unknown" not in str(caught.value)


def test_invalid_client(http: httpx.Client, clock: ManualClock) -> None:
    with pytest.raises(InvalidClientError) as caught:
        make_oauth(http, clock, secret="wrong-secret-value").exchange_code("code-1", "1")
    assert caught.value.status == 401
    assert "wrong-secret-value" not in repr(caught.value)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (json_response(400, {"error": "invalid_request"}), QboOAuthError),
        (json_response(400, {"error": "unsupported_grant_type"}), QboOAuthError),
        (json_response(503, {}), QboServerError),
        (httpx.Response(502, content=b"<html>bad gateway</html>"), QboServerError),
        (json_response(429, {}, **{"Retry-After": "3"}), QboThrottledError),
        (json_response(200, {"token_type": "bearer"}), QboOAuthError),
        (httpx.Response(200, content=b"not json"), QboOAuthError),
    ],
)
def test_token_endpoint_errors(
    http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth, response: httpx.Response, expected: type[Exception]
) -> None:
    intuit.script.append(response)
    with pytest.raises(expected) as caught:
        make_oauth(http, clock).refresh("RT1-some-refresh-token")
    assert type(caught.value) is expected
    if isinstance(caught.value, QboThrottledError):
        assert caught.value.retry_after == 3.0


def test_transport_error_on_refresh_is_outcome_unknown(
    http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth
) -> None:
    intuit.script.append(httpx.ReadTimeout("timed out"))
    with pytest.raises(QboTransportError) as caught:
        make_oauth(http, clock).refresh("RT1-some-refresh-token")
    assert caught.value.outcome_unknown
    intuit.script.append(httpx.ConnectError("refused"))
    with pytest.raises(QboTransportError) as caught:
        make_oauth(http, clock).refresh("RT1-some-refresh-token")
    assert not caught.value.outcome_unknown


def test_revoke(http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth) -> None:
    oauth = make_oauth(http, clock)
    tokens = oauth.exchange_code("code-1", "1")
    oauth.revoke(tokens.refresh_token)
    sent = intuit.requests[-1]
    assert str(sent.url) == ENDPOINTS.revoke_url
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["authorization"].startswith("Basic ")
    assert json.loads(sent.content) == {"token": tokens.refresh_token}
    assert intuit.revoked == [tokens.refresh_token]
    with pytest.raises(InvalidGrantError):
        oauth.refresh(tokens.refresh_token)
    intuit.script.append(json_response(400, {"error": "invalid_request"}))
    with pytest.raises(QboOAuthError):
        oauth.revoke("whatever-token")


def test_parse_callback_success() -> None:
    result = parse_callback({"code": "AB11-code", "state": "s1", "realmId": "9130350000000001"})
    assert result == CallbackResult(code="AB11-code", state="s1", realm_id="9130350000000001")
    assert "AB11-code" not in repr(result)


@pytest.mark.parametrize(
    ("query", "expected", "state"),
    [
        ({"error": "access_denied", "state": "s1"}, AccessDeniedError, "s1"),
        ({"error": "access_denied", "error_description": "User denied", "state": "s1"}, AccessDeniedError, "s1"),
        ({"error": "invalid_scope", "state": "s1"}, OAuthCallbackError, "s1"),
        ({"error": "<script>", "state": "s1"}, OAuthCallbackError, "s1"),
        ({"code": "c", "state": "s1"}, OAuthCallbackError, "s1"),
        ({"code": "c", "realmId": "1"}, OAuthCallbackError, None),
        ({"state": "s1", "realmId": "1"}, OAuthCallbackError, "s1"),
        ({"code": "c", "state": "s1", "realmId": "1/../2"}, OAuthCallbackError, "s1"),
        ({}, OAuthCallbackError, None),
    ],
)
def test_parse_callback_errors(query: dict[str, str], expected: type[QboOAuthError], state: str | None) -> None:
    with pytest.raises(expected) as caught:
        parse_callback(query)
    assert type(caught.value) is expected
    assert getattr(caught.value, "state") == state  # noqa: B009
    assert "<script>" not in str(caught.value)
    assert caught.value.user_message


def test_unconfigured_credentials_fail_without_calling_intuit(
    http: httpx.Client, clock: ManualClock, intuit: FakeIntuitOAuth
) -> None:
    oauth = IntuitOAuth(
        http=http, endpoints=ENDPOINTS, client_id="", client_secret="", redirect_uri="https://a/cb", clock=clock
    )
    with pytest.raises(InvalidClientError):
        oauth.authorization_url("state")
    with pytest.raises(InvalidClientError):
        oauth.refresh("RT1-some-refresh-token")
    assert intuit.requests == []

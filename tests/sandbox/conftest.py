"""Fixtures for the Intuit sandbox tests: a started sandbox on a fixed manual clock, and connected API clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from deferredrev.clock import ManualClock
from deferredrev.sandbox.intuit import US_REALM, AutoConsent, IntuitSandbox, RateLimits, SandboxConfig

REDIRECT_URI = "http://127.0.0.1:8765/qbo/callback"
ACCOUNTING = "com.intuit.quickbooks.accounting"
START = datetime(2026, 4, 1, 16, 0, tzinfo=UTC)

# One pooled client for the whole session: building an httpx.Client (SSL context) per call is slow.
HTTP = httpx.Client(timeout=10)
MakeSandbox = Callable[..., IntuitSandbox]
Connect = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session", autouse=True)
def _close_http_client() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture
def make_intuit() -> Iterator[MakeSandbox]:
    """Build and start sandboxes with config overrides; rate limits are off unless a test passes its own."""
    started: list[IntuitSandbox] = []

    def make(**overrides: Any) -> IntuitSandbox:
        base = SandboxConfig(redirect_uris=(REDIRECT_URI,), rate_limits=RateLimits(enabled=False))
        sb = IntuitSandbox(config=replace(base, **overrides), clock=ManualClock(START)).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def intuit(make_intuit: MakeSandbox) -> IntuitSandbox:
    return make_intuit()


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def authorize_params(sb: IntuitSandbox, scope: str = ACCOUNTING, state: str = "state-123") -> dict[str, str]:
    return {"client_id": sb.client_id, "response_type": "code", "scope": scope, "redirect_uri": REDIRECT_URI, "state": state}


def get_code(sb: IntuitSandbox, realm_id: str = US_REALM, scope: str = ACCOUNTING) -> str:
    sb.auto_consent = AutoConsent(realm_id=realm_id, decision="allow")
    params = callback_params(HTTP.get(sb.authorize_url, params=authorize_params(sb, scope)))
    return params["code"]


def exchange(sb: IntuitSandbox, code: str, **headers: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    return HTTP.post(sb.token_url, data=data, auth=(sb.client_id, sb.client_secret), headers=headers)


def refresh(sb: IntuitSandbox, refresh_token: str, **headers: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return HTTP.post(sb.token_url, data=data, auth=(sb.client_id, sb.client_secret), headers=headers)


@pytest.fixture
def connect_intuit() -> Connect:
    """Run the whole consent + code exchange for a realm and return the token response."""

    def run(sb: IntuitSandbox, realm_id: str = US_REALM, scope: str = ACCOUNTING) -> dict[str, Any]:
        response = exchange(sb, get_code(sb, realm_id, scope))
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    return run


def api_client(sb: IntuitSandbox, access_token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    return httpx.Client(base_url=sb.api_url, headers=headers, params={"minorversion": "75"}, timeout=10)


@pytest.fixture
def qbo_api(intuit: IntuitSandbox, connect_intuit: Connect) -> Iterator[httpx.Client]:
    """An httpx client connected to the seeded US company."""
    with api_client(intuit, connect_intuit(intuit)["access_token"]) as client:
        yield client

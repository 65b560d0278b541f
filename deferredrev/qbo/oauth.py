"""Intuit OAuth 2.0 over an injected ``httpx.Client``: authorization URL, code exchange, refresh, revoke.

Tokens only ever travel in request bodies and headers, never in URLs, and never reach a log line or an
exception message. Nothing here stores tokens: :meth:`IntuitOAuth.refresh` returns whatever refresh token Intuit
sent (it may be a new one) and the caller must persist it before doing anything else.

:func:`parse_callback` is pure: it turns the query string of the redirect back from Intuit into a
:class:`CallbackResult` or the right :class:`~deferredrev.qbo.errors.QboOAuthError`. Checking ``state`` against
the one-time value issued for this browser is the caller's job (it owns the state store).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from deferredrev.clock import Clock
from deferredrev.qbo.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    OAuthCallbackError,
    QboError,
    QboOAuthError,
    QboServerError,
    QboThrottledError,
    QboTransportError,
    request_never_sent,
)
from deferredrev.qbo.models import TokenSet

__all__ = ["ACCOUNTING_SCOPE", "CallbackResult", "IntuitEndpoints", "IntuitOAuth", "parse_callback"]

logger = logging.getLogger(__name__)

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CALLBACK_ERRORS = frozenset(
    {
        "access_denied",
        "invalid_scope",
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "server_error",
        "temporarily_unavailable",
    }
)
_OAUTH_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
_INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
_INTUIT_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
_INTUIT_API_BASE = {
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
    "production": "https://quickbooks.api.intuit.com",
}


@dataclass(frozen=True)
class IntuitEndpoints:
    """Where Intuit's OAuth endpoints and the Accounting API live. ``api_base`` has no ``/v3`` suffix."""

    authorize_url: str
    token_url: str
    revoke_url: str
    api_base: str

    @classmethod
    def for_environment(
        cls,
        environment: Literal["sandbox", "production"] | str,
        *,
        authorize_url: str | None = None,
        token_url: str | None = None,
        revoke_url: str | None = None,
        api_base: str | None = None,
    ) -> IntuitEndpoints:
        """Intuit's published endpoints for ``environment`` (OAuth URLs are the same for both; only the API host
        differs), each replaceable by an override (e.g. ``QBO_TOKEN_URL``, or the local sandbox)."""
        env = str(environment).lower()
        if env not in _INTUIT_API_BASE:
            raise ValueError("environment must be 'sandbox' or 'production'")
        return cls(
            authorize_url=authorize_url or _INTUIT_AUTHORIZE_URL,
            token_url=token_url or _INTUIT_TOKEN_URL,
            revoke_url=revoke_url or _INTUIT_REVOKE_URL,
            api_base=(api_base or _INTUIT_API_BASE[env]).rstrip("/").removesuffix("/v3"),
        )


@dataclass(frozen=True)
class CallbackResult:
    """A successful authorization callback. ``code`` is secret and single-use: exchange it once, log it never."""

    code: str
    state: str
    realm_id: str

    def __repr__(self) -> str:
        return f"CallbackResult(code=<hidden>, state=<hidden>, realm_id={self.realm_id!r})"

    __str__ = __repr__


def parse_callback(query: Mapping[str, str]) -> CallbackResult:
    """Read the redirect's query parameters: ``code``, ``state``, ``realmId`` — or ``error`` (+ description).

    Raises :class:`AccessDeniedError` for ``error=access_denied`` and :class:`OAuthCallbackError` for any other
    error (an ``error`` outside the documented codes is reported as ``unknown_error``, never echoed) or a
    malformed callback. ``state`` is carried on both so the caller can consume it.
    """
    state = (query.get("state") or "").strip() or None
    error = (query.get("error") or "").strip()
    secrets = tuple(v for v in (query.get("code"),) if v)
    if error:
        code = error if error in CALLBACK_ERRORS else "unknown_error"
        description = query.get("error_description")
        if code == "access_denied":
            raise AccessDeniedError(
                "QuickBooks authorization was declined (access_denied)",
                error=code,
                error_description=description,
                state=state,
                secrets=secrets,
            )
        raise OAuthCallbackError(
            f"QuickBooks authorization failed ({code})",
            error=code,
            error_description=description,
            state=state,
            secrets=secrets,
        )
    code_value = (query.get("code") or "").strip()
    realm_id = (query.get("realmId") or "").strip()
    missing = [name for name, value in (("code", code_value), ("state", state), ("realmId", realm_id)) if not value]
    if missing:
        raise OAuthCallbackError(
            f"QuickBooks authorization callback is missing {', '.join(missing)}", error="invalid_callback", state=state
        )
    if not realm_id.isdigit():
        raise OAuthCallbackError("QuickBooks authorization callback has a malformed realmId", state=state)
    assert state is not None
    return CallbackResult(code=code_value, state=state, realm_id=realm_id)


class IntuitOAuth:
    """Intuit's OAuth 2.0 endpoints, with confidential-client (HTTP Basic) authentication.

    Building one does no I/O and never fails; without a client id and secret every call raises
    :class:`InvalidClientError` before contacting Intuit. No call here retries by itself: a failed code exchange
    must not be repeated blindly (a second exchange of the same code poisons the tokens), and the caller of
    :meth:`refresh` owns the lock and the token store.
    """

    def __init__(
        self,
        *,
        http: httpx.Client,
        endpoints: IntuitEndpoints,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        clock: Clock,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self._http = http
        self._endpoints = endpoints
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._clock = clock
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"IntuitOAuth(client_id={self._client_id!r}, token_url={self._endpoints.token_url!r})"

    @property
    def endpoints(self) -> IntuitEndpoints:
        return self._endpoints

    def authorization_url(self, state: str) -> str:
        """Where to send the browser: Intuit's consent page, asking for the accounting scope only."""
        if not state:
            raise ValueError("state is required (a one-time, unguessable value bound to the browser)")
        self._check_configured()
        params = {
            "client_id": self._client_id,
            "response_type": "code",
            "scope": ACCOUNTING_SCOPE,
            "redirect_uri": self._redirect_uri,
            "state": state,
        }
        separator = "&" if "?" in self._endpoints.authorize_url else "?"
        return f"{self._endpoints.authorize_url}{separator}{urlencode(params)}"

    def exchange_code(self, code: str, realm_id: str) -> TokenSet:
        """Trade an authorization code (single-use) for tokens for ``realm_id``."""
        if not code:
            raise ValueError("code is required")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self._redirect_uri}
        return replace(self._token_request(form, secrets=(code,), operation="exchange"), realm_id=realm_id)

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token, and whichever refresh token Intuit returned (persist it before anything else).

        Always asks for ``x_refresh_token_hard_expires_in`` so the 5-year hard expiry is known.
        """
        if not refresh_token:
            raise ValueError("refresh_token is required")
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_request(form, secrets=(refresh_token,), operation="refresh")

    def revoke(self, token: str) -> None:
        """Revoke a refresh (or access) token at Intuit, which disconnects the app from the company."""
        if not token:
            raise ValueError("token is required")
        response = self._post(
            self._endpoints.revoke_url,
            content=json.dumps({"token": token}).encode(),
            content_type="application/json",
            secrets=(token,),
            operation="revoke",
        )
        if response.status_code != 200:
            raise self._error(response, secrets=(token,), operation="revoke")

    # ----------------------------------------------------------------------------------------------------------

    def _token_request(self, form: Mapping[str, str], *, secrets: tuple[str, ...], operation: str) -> TokenSet:
        sent_at = self._clock.now()  # expiries count from before the request: never later than Intuit's
        response = self._post(
            self._endpoints.token_url,
            content=urlencode(form).encode(),
            content_type="application/x-www-form-urlencoded",
            secrets=secrets,
            operation=operation,
            extra_headers={HARD_EXPIRY_HEADER: "true"},
        )
        if response.status_code != 200:
            raise self._error(response, secrets=secrets, operation=operation)
        data = _json_object(response)
        access = data.get("access_token") if data else None
        refresh = data.get("refresh_token") if data else None
        expires_in = _seconds(data.get("expires_in")) if data else None
        if data is None or not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            raise QboOAuthError(
                f"Intuit's token endpoint answered {operation} without usable tokens",
                status=response.status_code,
                intuit_tid=response.headers.get("intuit_tid"),
            )
        refresh_in = _seconds(data.get("x_refresh_token_expires_in"))
        hard_in = _seconds(data.get("x_refresh_token_hard_expires_in"))
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            access_expires_at=sent_at + timedelta(seconds=expires_in if expires_in is not None else 3600),
            refresh_expires_at=sent_at + timedelta(seconds=refresh_in) if refresh_in is not None else None,
            hard_expires_at=sent_at + timedelta(seconds=hard_in) if hard_in is not None else None,
        )

    def _post(
        self,
        url: str,
        *,
        content: bytes,
        content_type: str,
        secrets: tuple[str, ...],
        operation: str,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        self._check_configured()
        headers = {
            "Authorization": self._basic_auth(),
            "Content-Type": content_type,
            "Accept": "application/json",
            **(extra_headers or {}),
        }
        started = time.monotonic()
        try:
            response = self._http.post(url, content=content, headers=headers, timeout=self._timeout)
        except httpx.TransportError as exc:
            logger.warning("intuit oauth %s failed: %s", operation, type(exc).__name__)
            raise QboTransportError(
                f"Intuit {operation} request failed: {type(exc).__name__}: {exc}",
                outcome_unknown=not request_never_sent(exc),
                secrets=(*secrets, self._client_secret),
            ) from None
        logger.info(
            "intuit oauth %s -> %s in %.0f ms intuit_tid=%s",
            operation,
            response.status_code,
            (time.monotonic() - started) * 1000,
            response.headers.get("intuit_tid", "-"),
        )
        return response

    def _check_configured(self) -> None:
        if not self._client_id or not self._client_secret:
            raise InvalidClientError(
                "QuickBooks client id / secret are not configured (QBO_CLIENT_ID, QBO_CLIENT_SECRET)",
                error="invalid_client",
            )

    def _basic_auth(self) -> str:
        raw = f"{self._client_id}:{self._client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def _error(self, response: httpx.Response, *, secrets: tuple[str, ...], operation: str) -> QboError:
        status = response.status_code
        tid = response.headers.get("intuit_tid")
        data = _json_object(response) or {}
        error = data.get("error")
        error_code = error if isinstance(error, str) and _OAUTH_ERROR_CODE.match(error) else None
        description = data.get("error_description")
        description = description if isinstance(description, str) else None
        scrub_too = (*secrets, self._client_secret)
        common: dict[str, Any] = {"status": status, "intuit_tid": tid, "secrets": scrub_too}
        if error_code == "invalid_grant":
            return InvalidGrantError(
                f"Intuit rejected the {operation}: invalid_grant", error=error_code, error_description=description, **common
            )
        if error_code == "invalid_client" or (status == 401 and error_code is None):
            return InvalidClientError(
                f"Intuit rejected the client credentials during {operation}",
                error=error_code or "invalid_client",
                error_description=description,
                **common,
            )
        if status == 429:
            return QboThrottledError(f"Intuit throttled the {operation}", retry_after=_retry_after(response), **common)
        if status >= 500:
            return QboServerError(f"Intuit's OAuth service failed during {operation} (HTTP {status})", **common)
        return QboOAuthError(
            f"Intuit rejected the {operation}: {error_code or f'HTTP {status}'}",
            error=error_code,
            error_description=description,
            **common,
        )


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None

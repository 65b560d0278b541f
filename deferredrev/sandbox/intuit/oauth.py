"""OAuth 2.0 state: clients, authorization codes, grants (one per connection), refresh and access tokens.

No I/O here; routes in ``routes_oauth`` translate HTTP to these calls. Times come from the sandbox's clock.
"""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deferredrev.sandbox.intuit.config import ACCOUNTING_SCOPE, SandboxConfig
from deferredrev.sandbox.intuit.idtoken import IdTokenSigner

DEFAULT_USERS = {"admin": True, "bookkeeper": False}
_ALNUM = string.ascii_letters + string.digits


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


class BearerError(Exception):
    """The bearer token can't be used for this call; ``status`` is 401 (3200) or 403 (3100)."""

    def __init__(self, detail: str, status: int = 401) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def invalid_grant(description: str = "Incorrect or invalid refresh token") -> OAuthError:
    return OAuthError(400, "invalid_grant", description)


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class AuthRequest:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str


@dataclass
class AuthCode:
    request: AuthRequest
    realm_id: str
    user: str
    expires_at: datetime
    used: bool = False
    grant_id: int | None = None


@dataclass
class Grant:
    id: int
    client_id: str
    realm_id: str
    user: str
    user_sub: str
    scopes: tuple[str, ...]
    authorized_at: datetime
    active_until: datetime
    current_refresh: str
    revoked: bool = False


@dataclass
class RefreshToken:
    grant_id: int
    issued_at: datetime
    superseded_at: datetime | None = None


@dataclass
class AccessToken:
    grant_id: int
    expires_at: datetime


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))


class OAuthState:
    def __init__(self, config: SandboxConfig, signer: IdTokenSigner) -> None:
        self.config = config
        self.signer = signer
        self.users = dict(DEFAULT_USERS)
        self.clients: dict[str, Client] = {}
        self.pending: dict[str, AuthRequest] = {}
        self._codes: dict[str, AuthCode] = {}
        self._grants: dict[int, Grant] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._access: dict[str, AccessToken] = {}
        self._lock = threading.RLock()
        self.register_client(config.client_id, config.client_secret, config.redirect_uris)

    def register_client(self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] = ()) -> Client:
        with self._lock:
            client = self.clients.setdefault(client_id, Client(client_id, client_secret))
            client.client_secret = client_secret
            client.redirect_uris.update(redirect_uris)
            return client

    def register_redirect_uri(self, uri: str, client_id: str | None = None) -> None:
        with self._lock:
            self.clients[client_id or self.config.client_id].redirect_uris.add(uri)

    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> Client:
        client = self.clients.get(client_id or "")
        if client is None or client_secret is None or not secrets.compare_digest(client.client_secret, client_secret):
            raise OAuthError(401, "invalid_client")
        return client

    # Authorization codes -------------------------------------------------------------------------------------------

    def add_pending(self, request: AuthRequest) -> str:
        pending_id = secrets.token_urlsafe(16)
        with self._lock:
            self.pending[pending_id] = request
        return pending_id

    def take_pending(self, pending_id: str) -> AuthRequest | None:
        with self._lock:
            return self.pending.pop(pending_id, None)

    def issue_code(self, request: AuthRequest, realm_id: str, user: str, now: datetime) -> str:
        code = "AB11" + "".join(secrets.choice(_ALNUM) for _ in range(46))
        with self._lock:
            self._codes[code] = AuthCode(request, realm_id, user, now + self.config.auth_code_lifetime)
        return code

    def exchange_code(self, client: Client, code: str, redirect_uri: str | None, now: datetime) -> Grant:
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.request.client_id != client.client_id:
                raise invalid_grant("Invalid authorization code")
            if record.used:
                if self.config.revoke_on_code_reuse and record.grant_id is not None:
                    self._grants[record.grant_id].revoked = True
                raise invalid_grant("Authorization code has already been used")
            if now >= record.expires_at:
                raise invalid_grant("Authorization code has expired")
            if redirect_uri != record.request.redirect_uri:
                raise invalid_grant("redirect_uri does not match the authorization request")
            record.used = True
            grant = self._new_grant(client.client_id, record, now)
            record.grant_id = grant.id
            return grant

    def _new_grant(self, client_id: str, code: AuthCode, now: datetime) -> Grant:
        grant_id = len(self._grants) + 1
        sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"intuit-sandbox-user:{code.user}"))
        refresh = self._new_refresh_value(grant_id, now)
        grant = Grant(
            grant_id,
            client_id,
            code.realm_id,
            code.user,
            sub,
            code.request.scopes,
            now,
            now + self.config.refresh_token_lifetime,
            refresh,
        )
        self._grants[grant_id] = grant
        return grant

    def _new_refresh_value(self, grant_id: int, now: datetime) -> str:
        value = f"RT1-{grant_id % 100}-H0-{int(now.timestamp())}" + "".join(secrets.choice(_ALNUM) for _ in range(20))
        self._refresh[value] = RefreshToken(grant_id, now)
        return value

    # Refresh ---------------------------------------------------------------------------------------------------------

    def refresh(self, client: Client, value: str, now: datetime) -> Grant:
        with self._lock:
            token = self._refresh.get(value)
            grant = self._grants.get(token.grant_id) if token is not None else None
            if token is None or grant is None or grant.client_id != client.client_id or grant.revoked:
                raise invalid_grant()
            if now >= grant.authorized_at + self.config.refresh_token_hard_lifetime:
                raise invalid_grant("The refresh token has reached its maximum lifetime; reconnect the company")
            if now >= grant.active_until:
                raise invalid_grant("The refresh token has expired after inactivity")
            if token.superseded_at is not None and now >= token.superseded_at + self.config.previous_refresh_token_grace:
                raise invalid_grant()
            self._maybe_rotate(grant, now)
            grant.active_until = now + self.config.refresh_token_lifetime
            return grant

    def _maybe_rotate(self, grant: Grant, now: datetime) -> None:
        after = self.config.rotate_refresh_token_after
        current = self._refresh[grant.current_refresh]
        if after is None or now - current.issued_at < after:
            return
        current.superseded_at = now
        grant.current_refresh = self._new_refresh_value(grant.id, now)

    def token_response(self, grant: Grant, now: datetime, *, include_hard: bool, issuer: str) -> dict[str, Any]:
        """Mint a fresh access token for ``grant`` and build the §1.4 token response."""
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(96)
        with self._lock:
            self._access[access] = AccessToken(grant.id, now + self.config.access_token_lifetime)
        hard_deadline = grant.authorized_at + self.config.refresh_token_hard_lifetime
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": _seconds(self.config.access_token_lifetime),
            "refresh_token": grant.current_refresh,
            "x_refresh_token_expires_in": _seconds(min(grant.active_until, hard_deadline) - now),
        }
        if include_hard:
            body["x_refresh_token_hard_expires_in"] = _seconds(hard_deadline - now)
        if "openid" in grant.scopes:
            body["id_token"] = self._id_token(grant, now, issuer)
        return body

    def _id_token(self, grant: Grant, now: datetime, issuer: str) -> str:
        issued = int(now.timestamp())
        claims = {
            "sub": grant.user_sub,
            "aud": [grant.client_id],
            "realmid": grant.realm_id,
            "auth_time": issued,
            "iss": issuer,
            "exp": issued + 3600,
            "iat": issued,
        }
        return self.signer.sign(claims)

    # Revocation and bearer checks ----------------------------------------------------------------------------------

    def _revoke_connection(self, grant: Grant) -> None:
        for other in self._grants.values():
            if other.client_id == grant.client_id and other.realm_id == grant.realm_id:
                other.revoked = True

    def revoke(self, client: Client, value: str) -> bool:
        """Revoke the connection (every grant of this app on that realm) the token belongs to."""
        with self._lock:
            record = self._refresh.get(value) or self._access.get(value)
            grant = self._grants.get(record.grant_id) if record is not None else None
            if grant is None or grant.client_id != client.client_id:
                return False
            self._revoke_connection(grant)
            return True

    def revoke_realm(self, realm_id: str) -> int:
        with self._lock:
            grants = [g for g in self._grants.values() if g.realm_id == realm_id and not g.revoked]
            for grant in grants:
                grant.revoked = True
            return len(grants)

    def check_bearer(self, authorization: str | None, realm_id: str | None, now: datetime) -> Grant:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise BearerError("Authorization header missing or not a Bearer token")
        with self._lock:
            token = self._access.get(value.strip())
            grant = self._grants.get(token.grant_id) if token is not None else None
            if token is None or grant is None:
                raise BearerError("Malformed bearer token or token not recognised")
            if grant.revoked:
                raise BearerError("Token revoked")
            if now >= token.expires_at:
                raise BearerError("Token expired")
            if realm_id is not None and grant.realm_id != realm_id:
                raise BearerError(f"Token not valid for realm {realm_id}")
            return grant

    def check_api_access(self, authorization: str | None, realm_id: str, now: datetime) -> Grant:
        grant = self.check_bearer(authorization, realm_id, now)
        if ACCOUNTING_SCOPE not in grant.scopes:
            raise BearerError("message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403", 403)
        return grant

    def active_connections(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted({(g.client_id, g.realm_id) for g in self._grants.values() if not g.revoked})

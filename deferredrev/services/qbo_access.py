"""Access to a workspace's QuickBooks company: API clients whose tokens come from the vault, and the one refresh
procedure every caller (API 401s, the background sweep) goes through.

Refreshing is safe across threads and replicas:

1. an in-process lock per workspace single-flights refreshes inside one process;
2. a lease on the connection row (``lease_owner``/``lease_until``, taken with a conditional UPDATE) lets only one
   process call Intuit at a time; the others wait for the row's ``version`` to move and use the new tokens;
3. the write of the new tokens is fenced by ``version``: a process that paused past its lease cannot overwrite
   newer tokens;
4. an ``invalid_grant`` is believed only after re-reading the row: if the version moved, someone else refreshed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update

from deferredrev.clock import Clock
from deferredrev.qbo.client import Backoff, QboClient
from deferredrev.qbo.errors import InvalidGrantError
from deferredrev.qbo.models import TokenSet
from deferredrev.qbo.oauth import IntuitOAuth
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import ConnectionStatus, QboConnection
from deferredrev.storage.repositories import audit, connection_for
from deferredrev.storage.tokens import NewTokens, StoredTokens, TokenStore

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
WAIT_FOR_OTHER_REFRESH = 30.0
BROWSER_RETRIES = 1
BROWSER_MAX_WAIT = 5.0  # seconds


def connected(connection: QboConnection | None, team_id: str) -> QboConnection:
    """The workspace's connection, if it is usable; otherwise why not, as :class:`NotConnectedError`."""
    if connection is None:
        raise NotConnectedError(team_id, "not connected")
    if connection.status != ConnectionStatus.CONNECTED.value:
        raise NotConnectedError(team_id, connection.status)
    return connection


class NotConnectedError(Exception):
    """The workspace has no usable QuickBooks connection (never connected, disconnected, or expired)."""

    def __init__(self, team_id: str, status: str) -> None:
        super().__init__(f"QuickBooks is {status} for this workspace")
        self.team_id = team_id
        self.status = status


class ConnectionExpiredError(NotConnectedError):
    """Intuit refused the refresh token for good: an admin must reconnect."""

    def __init__(self, team_id: str, reason: str) -> None:
        super().__init__(team_id, ConnectionStatus.EXPIRED.value)
        self.reason = reason


@dataclass(frozen=True)
class RefreshOutcome:
    tokens: StoredTokens
    refreshed_here: bool


ExpiredCallback = Callable[[str, str], None]


def to_new_tokens(tokens: TokenSet) -> NewTokens:
    return NewTokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        access_expires_at=tokens.access_expires_at,
        refresh_expires_at=tokens.refresh_expires_at,
        hard_expires_at=tokens.hard_expires_at,
    )


def _expires_before(tokens: StoredTokens, moment: datetime) -> bool:
    return tokens.access_expires_at is not None and tokens.access_expires_at < moment


class TokenRefresher:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        tokens: TokenStore,
        oauth: IntuitOAuth,
        clock: Clock,
        on_expired: ExpiredCallback | None = None,
        owner: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._oauth = oauth
        self._clock = clock
        self._on_expired = on_expired
        self.owner = owner or f"proc-{uuid.uuid4().hex[:12]}"
        self.lease = LEASE
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()

    def current(self, team_id: str) -> StoredTokens:
        with self._sessions() as session:
            stored = self._tokens.open(connected(connection_for(session, team_id), team_id))
        if stored is None:
            raise NotConnectedError(team_id, ConnectionStatus.DISCONNECTED.value)
        return stored

    def refresh(
        self,
        team_id: str,
        *,
        unless_newer_than: StoredTokens | None = None,
        only_if_expiring_before: datetime | None = None,
    ) -> RefreshOutcome:
        """Refresh the workspace's tokens once, however many threads and processes ask at the same moment.

        ``unless_newer_than``: the tokens the caller saw; if the row has moved on since, return the newer ones.
        ``only_if_expiring_before``: refresh only an access token expiring before then (the sweep's horizon). It is
        checked on the version the lease is then taken on, so a replica that refreshed a moment ago, after this
        caller listed the connection as due, is never followed by a second refresh.
        """
        with self._lock_for(team_id):
            seen = self.current(team_id)
            if unless_newer_than is not None and seen.version != unless_newer_than.version:
                return RefreshOutcome(seen, refreshed_here=False)
            if only_if_expiring_before is not None and not _expires_before(seen, only_if_expiring_before):
                return RefreshOutcome(seen, refreshed_here=False)
            if not self._take_lease(team_id, seen.version):
                return RefreshOutcome(self._wait_for_newer(team_id, seen.version), refreshed_here=False)
            try:
                return self._refresh_holding_lease(team_id, seen)
            finally:
                self._release_lease(team_id)

    def _refresh_holding_lease(self, team_id: str, seen: StoredTokens) -> RefreshOutcome:
        try:
            fresh = self._oauth.refresh(seen.refresh_token)
        except InvalidGrantError as error:
            latest = self.current(team_id)
            if latest.version != seen.version:
                return RefreshOutcome(latest, refreshed_here=False)
            self.mark_expired(team_id, reason=_invalid_grant_reason(error))
            raise ConnectionExpiredError(team_id, _invalid_grant_reason(error)) from None
        now = self._clock.now()
        with self._sessions.begin() as session:
            stored = self._tokens.store_if_version(
                session, team_id=team_id, expected_version=seen.version, tokens=to_new_tokens(fresh), now=now
            )
        if not stored:
            logger.warning("refresh for team %s lost its fence (lease expired while paused); using newer tokens", team_id)
        return RefreshOutcome(self.current(team_id), refreshed_here=stored)

    def mark_expired(self, team_id: str, *, reason: str, only_if_access_lapsed: bool = False) -> bool:
        """Set the connection Expired; True when this call changed the state (so alerts go out once).

        ``only_if_access_lapsed``: leave it connected while its access token is still valid (checked under the row
        lock), e.g. when only this process failed to read the tokens and a replica that can may still refresh them.
        """
        now = self._clock.now()
        with self._sessions.begin() as session:
            connection = connection_for(session, team_id, for_update=True)
            if connection is None or connection.status != ConnectionStatus.CONNECTED.value:
                return False
            lapsed = connection.access_expires_at is None or connection.access_expires_at <= now
            if only_if_access_lapsed and not lapsed:
                return False
            connection.status = ConnectionStatus.EXPIRED.value
            connection.status_reason = reason
            connection.updated_at = now
            audit(session, action="connection.expired", now=now, team_id=team_id, actor="system", reason=reason)
        if self._on_expired is not None:
            self._on_expired(team_id, reason)
        return True

    def _take_lease(self, team_id: str, version: int) -> bool:
        now = self._clock.now()
        with self._sessions.begin() as session:
            result = session.execute(
                update(QboConnection)
                .where(
                    QboConnection.team_id == team_id,
                    QboConnection.version == version,
                    or_(
                        QboConnection.lease_until.is_(None),
                        QboConnection.lease_until < now,
                        QboConnection.lease_owner == self.owner,
                    ),
                )
                .values(lease_owner=self.owner, lease_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _release_lease(self, team_id: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(QboConnection)
                .where(QboConnection.team_id == team_id, QboConnection.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def _wait_for_newer(self, team_id: str, version: int) -> StoredTokens:
        deadline = time.monotonic() + WAIT_FOR_OTHER_REFRESH
        while time.monotonic() < deadline:
            latest = self.current(team_id)
            if latest.version != version:
                return latest
            if self._lease_is_free(team_id):
                # Only if still the version we waited on: the holder may have stored its refresh and released the
                # lease between the two reads above, and refreshing again would be a second refresh for one due time.
                return self.refresh(team_id, unless_newer_than=latest).tokens
            time.sleep(0.05)
        raise NotConnectedError(team_id, "busy refreshing; try again in a minute")

    def _lease_is_free(self, team_id: str) -> bool:
        now = self._clock.now()
        with self._sessions() as session:
            connection = connection_for(session, team_id)
            return connection is None or connection.lease_until is None or connection.lease_until < now

    def _lock_for(self, team_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(team_id, threading.RLock())


def _invalid_grant_reason(error: InvalidGrantError) -> str:
    return "QuickBooks refused our refresh token (the connection was revoked, unused for 100 days, or hit its 5-year limit)"


class ConnectionTokenSource:
    """The :class:`qbo.client.TokenSource` for one workspace: vault tokens, refreshed when expired or rejected."""

    def __init__(self, refresher: TokenRefresher, team_id: str, clock: Clock, margin: timedelta = timedelta(seconds=60)):
        self._refresher = refresher
        self._team_id = team_id
        self._clock = clock
        self._margin = margin
        self._seen: StoredTokens | None = None

    def access_token(self) -> str:
        stored = self._refresher.current(self._team_id)
        expires = stored.access_expires_at
        if expires is not None and expires - self._margin <= self._clock.now():
            stored = self._refresher.refresh(self._team_id, unless_newer_than=stored).tokens
        self._seen = stored
        return stored.access_token

    def refresh_access_token(self, rejected: str) -> str:
        seen = self._seen if self._seen is not None and self._seen.access_token == rejected else None
        outcome = self._refresher.refresh(self._team_id, unless_newer_than=seen)
        self._seen = outcome.tokens
        return outcome.tokens.access_token


class QboGateway:
    """Builds API clients for a workspace's connected company."""

    def __init__(
        self, *, http: httpx.Client, api_base: str, refresher: TokenRefresher, clock: Clock, backoff: Backoff | None = None
    ) -> None:
        self._http = http
        self._api_base = api_base
        self.refresher = refresher
        self._clock = clock
        self.backoff = backoff or Backoff()

    def client_for(self, team_id: str, realm_id: str) -> QboClient:
        return QboClient(
            http=self._http,
            api_base=self._api_base,
            realm_id=realm_id,
            tokens=ConnectionTokenSource(self.refresher, team_id, self._clock),
            backoff=self.backoff,
        )

    def client_with_token(self, realm_id: str, access_token: str) -> QboClient:
        """A client for a token not stored yet: right after the code exchange, while the browser waits on the callback,
        so it retries once at most and never waits out a long ``Retry-After`` (a 429 asks for a minute)."""
        return QboClient(
            http=self._http,
            api_base=self._api_base,
            realm_id=realm_id,
            tokens=FixedTokenSource(access_token),
            backoff=replace(self.backoff, max_wait=min(self.backoff.max_wait, BROWSER_MAX_WAIT)),
            max_retries=BROWSER_RETRIES,
        )


class FixedTokenSource:
    def __init__(self, access_token: str) -> None:
        self._access_token = access_token

    def access_token(self) -> str:
        return self._access_token

    def refresh_access_token(self, rejected: str) -> str:
        return self._access_token

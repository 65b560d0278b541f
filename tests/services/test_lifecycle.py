"""The background sweep over several workspaces: one unreadable token row must not stop the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from deferredrev.clock import ManualClock
from deferredrev.logs import SecretRegistry
from deferredrev.qbo.models import TokenSet
from deferredrev.services.lifecycle import UNREADABLE_TOKENS_REASON, ConnectionLifecycle
from deferredrev.services.ports import ConnectedNotice, ExpiryNotice
from deferredrev.services.qbo_access import TokenRefresher
from deferredrev.settings import Plan
from deferredrev.storage.models import AuditEvent, QboConnection
from deferredrev.storage.repositories import get_or_create_workspace
from deferredrev.storage.tokens import NewTokens, TokenStore
from deferredrev.storage.vault import TokenVault
from tests.conftest import make_key

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TEAMS = {"T1": "111", "T2": "222", "T3": "333"}
BROKEN = "T2"


class FakeOAuth:
    """Intuit's token endpoint: every refresh issues new tokens with an hour-long access token."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self.refreshed: list[str] = []

    def refresh(self, refresh_token: str) -> TokenSet:
        self.refreshed.append(refresh_token)
        n = len(self.refreshed)
        return TokenSet(
            access_token=f"canary-access-rotated-{n:04d}",
            refresh_token=f"canary-refresh-rotated-{n:04d}",
            access_expires_at=self._clock.now() + timedelta(hours=1),
            refresh_expires_at=self._clock.now() + timedelta(days=100),
        )


@dataclass
class RecordingNotifier:
    expired: list[ExpiryNotice] = field(default_factory=list)
    warned: list[ExpiryNotice] = field(default_factory=list)

    def connected(self, notice: ConnectedNotice) -> None:
        pass

    def connect_failed(self, team_id: str, user_id: str, message: str) -> None:
        pass

    def disconnected(self, team_id: str, targets: Sequence[str], actor: str | None, company_name: str) -> None:
        pass

    def connection_expired(self, notice: ExpiryNotice) -> None:
        self.expired.append(notice)

    def hard_expiry_warning(self, notice: ExpiryNotice) -> None:
        self.warned.append(notice)


def connect(sessions, store: TokenStore, team: str, realm: str) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        get_or_create_workspace(session, team, default_plan=Plan.GROWTH, now=NOW)
        connection = QboConnection(
            team_id=team, realm_id=realm, status="connected", version=0, connected_by=f"U0ADMIN{team}", company_name=team
        )
        session.add(connection)
        tokens = NewTokens(
            access_token=f"canary-access-{team}-initial",
            refresh_token=f"canary-refresh-{team}-initial",
            access_expires_at=NOW + timedelta(hours=1),
            refresh_expires_at=NOW + timedelta(days=100),
            hard_expires_at=None,
        )
        store.seal(connection, tokens, now=NOW)


def damage(sessions, how: str) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        rows = {c.team_id: c for c in session.scalars(select(QboConnection))}
        broken = rows[BROKEN]
        if how == "damaged":
            blob = bytearray(broken.refresh_token or b"")
            blob[-1] ^= 0x01
            broken.refresh_token = bytes(blob)
        elif how == "copied from another row":
            broken.access_token = rows["T1"].access_token


@pytest.mark.parametrize("how", ["damaged", "copied from another row", "key removed from the keyring"])
def test_one_unreadable_row_does_not_stop_the_sweep_for_the_others(
    sessions,  # type: ignore[no-untyped-def]
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(NOW)
    key = make_key("k1")
    store = TokenStore(TokenVault([key]), SecretRegistry())
    for team, realm in TEAMS.items():
        if team == BROKEN and how == "key removed from the keyring":
            connect(sessions, TokenStore(TokenVault([make_key("gone"), key]), SecretRegistry()), team, realm)
        else:
            connect(sessions, store, team, realm)
    damage(sessions, how)
    oauth = FakeOAuth(clock)
    notifier = RecordingNotifier()
    refresher = TokenRefresher(
        sessions=sessions,
        tokens=store,
        oauth=oauth,  # type: ignore[arg-type]
        clock=clock,
        on_expired=lambda team, reason: lifecycle.on_expired(team, reason),
    )
    lifecycle = ConnectionLifecycle(sessions=sessions, refresher=refresher, notifier=notifier, clock=clock)

    clock.advance(timedelta(minutes=56))  # every access token is due
    report = lifecycle.sweep()
    assert (report.due, report.refreshed, report.failed, report.expired) == (3, 2, 1, 0)
    assert sorted(oauth.refreshed) == ["canary-refresh-T1-initial", "canary-refresh-T3-initial"]
    # Its access token is still valid: a replica that can read the row may yet refresh it, so no alarm yet.
    assert status_of(sessions) == {"T1": "connected", "T2": "connected", "T3": "connected"}
    assert notifier.expired == []

    clock.advance(timedelta(minutes=5))  # the broken row's access token has lapsed; nobody refreshed it
    report = lifecycle.sweep()
    assert (report.due, report.refreshed, report.failed, report.expired) == (1, 0, 0, 1)
    assert status_of(sessions) == {"T1": "connected", "T2": "expired", "T3": "connected"}
    [notice] = notifier.expired
    assert notice.team_id == BROKEN and notice.reason == UNREADABLE_TOKENS_REASON
    assert notice.admin_ids == [f"U0ADMIN{BROKEN}"]
    with sessions() as session:
        broken = session.scalars(select(QboConnection).where(QboConnection.team_id == BROKEN)).one()
        assert broken.status_reason == UNREADABLE_TOKENS_REASON and broken.last_alert == "expired"
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.team_id == BROKEN)).all()
    assert actions.count("connection.expired") == 1 and actions.count("alert.expired") == 1

    clock.advance(timedelta(minutes=56))  # the healthy ones keep being refreshed; the expired one is left alone
    report = lifecycle.sweep()
    assert (report.due, report.refreshed, report.failed, report.expired) == (2, 2, 0, 0)
    assert len(notifier.expired) == 1

    logged = caplog.text
    assert f"team {BROKEN} (realm {TEAMS[BROKEN]}) cannot be read" in logged
    assert ("UnknownKeyError" if how == "key removed from the keyring" else "DecryptionError") in logged
    assert "canary" not in logged


def status_of(sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return {c.team_id: c.status for c in session.scalars(select(QboConnection))}

"""Keeping connections alive, and telling admins when one cannot be.

The sweep (run every minute by the scheduler in every replica) refreshes each connected workspace whose access
token expires within :data:`REFRESH_MARGIN`. An access token lives an hour, so a connected workspace rotates its
refresh token many times a day and the 100-day rolling expiry never comes near. The sweep never refreshes a token
that is not about to expire, and API calls never refresh by themselves unless QuickBooks rejects the token.

Refreshes go through :class:`TokenRefresher`, which is safe across threads and replicas. Alerts go out once per
state change: when a connection turns Expired, and when a known 5-year hard expiry is 30, 7 and 1 day(s) away
(``last_alert`` remembers which went out).

One workspace never stops the sweep for the others: a connection whose stored tokens cannot be decrypted (damaged
row, ciphertext copied from another row, key removed from the keyring) is logged, skipped, and turned Expired with the
usual alert once its access token has lapsed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from deferredrev.clock import Clock
from deferredrev.qbo.errors import QboError
from deferredrev.services.ports import ExpiryNotice, Notifier
from deferredrev.services.qbo_access import NotConnectedError, TokenRefresher
from deferredrev.settings import ConfiguredAdmins
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import ConnectionStatus, QboConnection, Workspace
from deferredrev.storage.repositories import audit
from deferredrev.storage.vault import VaultError

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
WARNING_DAYS = (30, 7, 1)
UNREADABLE_TOKENS_REASON = (
    "DeferredRev can no longer read its stored QuickBooks sign-in for this company "
    "(the stored credentials are damaged or their encryption key was removed)"
)


@dataclass(frozen=True)
class SweepReport:
    due: int
    refreshed: int
    expired: int
    failed: int
    warned: int


class ConnectionLifecycle:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        refresher: TokenRefresher,
        notifier: Notifier,
        clock: Clock,
        configured_admins: ConfiguredAdmins | None = None,
        margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self._sessions = sessions
        self._refresher = refresher
        self._notifier = notifier
        self._clock = clock
        self._configured_admins = configured_admins or ConfiguredAdmins()
        self._margin = margin

    def sweep(self) -> SweepReport:
        horizon = self._clock.now() + self._margin
        due = self._due_connections(horizon)
        refreshed = expired = failed = 0
        for team_id, realm_id in due:
            try:
                # Still due is checked again on the version the refresh leases: another replica may have refreshed
                # since the list was read.
                outcome = self._refresher.refresh(team_id, only_if_expiring_before=horizon)
            except NotConnectedError as error:
                expired += error.status == ConnectionStatus.EXPIRED.value
                continue
            except QboError as error:
                failed += 1
                logger.warning("refresh for team %s failed, will retry next sweep: %s", team_id, error.__class__.__name__)
                continue
            except VaultError as error:
                # Only this workspace's row is unreadable (damaged, copied from another row, or its key is not in
                # our keyring): it must not stop the sweep for every other workspace.
                if self._expire_unreadable(team_id, realm_id, error):
                    expired += 1
                else:
                    failed += 1
                continue
            refreshed += outcome.refreshed_here
        warned = self._warn_of_hard_expiry()
        return SweepReport(due=len(due), refreshed=refreshed, expired=expired, failed=failed, warned=warned)

    def _due_connections(self, horizon: datetime) -> list[tuple[str, str]]:
        """(team, realm) of each connection to refresh now."""
        with self._sessions() as session:
            rows = session.execute(
                select(QboConnection.team_id, QboConnection.realm_id).where(
                    QboConnection.status == ConnectionStatus.CONNECTED.value,
                    QboConnection.access_token.is_not(None),
                    QboConnection.access_expires_at < horizon,
                )
            ).all()
        return [(team_id, realm_id) for team_id, realm_id in rows]

    def _expire_unreadable(self, team_id: str, realm_id: str, error: VaultError) -> bool:
        """Expire (and alert about) a connection whose stored tokens this process cannot decrypt.

        Not before its access token has lapsed, though: until then a replica holding a key this one lacks (during a
        key rotation) may still refresh it. Once lapsed, nobody has, and an admin must reconnect. The vault's error
        messages name the row and key id, never a token or key, so they are logged as they are.
        """
        logger.error(
            "stored QuickBooks tokens for team %s (realm %s) cannot be read: %s: %s",
            team_id,
            realm_id,
            error.__class__.__name__,
            error,
        )
        if self._refresher.mark_expired(team_id, reason=UNREADABLE_TOKENS_REASON, only_if_access_lapsed=True):
            return True
        logger.warning("team %s stays connected until its access token lapses; will retry next sweep", team_id)
        return False

    def on_expired(self, team_id: str, reason: str) -> None:
        """Called once when a connection turns Expired (the refresher guarantees once per state change)."""
        notice = self._notice(team_id, reason=reason, days_left=None)
        if notice is not None and self._claim_alert(team_id, "expired"):
            self._notifier.connection_expired(notice)

    def _warn_of_hard_expiry(self) -> int:
        now = self._clock.now()
        with self._sessions() as session:
            rows = session.scalars(
                select(QboConnection).where(
                    QboConnection.status == ConnectionStatus.CONNECTED.value,
                    QboConnection.hard_expires_at.is_not(None),
                    QboConnection.hard_expires_at < now + timedelta(days=max(WARNING_DAYS) + 1),
                )
            ).all()
        warned = 0
        for connection in rows:
            assert connection.hard_expires_at is not None
            level = _warning_level(connection.hard_expires_at, now)
            if level is None or not _is_new_level(connection.last_alert, level):
                continue
            days_left = max(0, (connection.hard_expires_at - now).days)
            notice = self._notice(
                connection.team_id, reason="QuickBooks limits a connection to five years", days_left=days_left
            )
            if notice is not None and self._claim_alert(connection.team_id, f"warn{level}", previous=connection.last_alert):
                self._notifier.hard_expiry_warning(notice)
                warned += 1
        return warned

    def _claim_alert(self, team_id: str, alert: str, previous: str | None = None) -> bool:
        """Record that ``alert`` went out, exactly once across replicas (conditional update on the last alert)."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            condition = QboConnection.last_alert.is_(None) if previous is None else QboConnection.last_alert == previous
            if alert == "expired":
                condition = QboConnection.last_alert.is_distinct_from("expired")
            result = session.execute(
                update(QboConnection)
                .where(QboConnection.team_id == team_id, condition)
                .values(last_alert=alert)
                .execution_options(synchronize_session=False)
            )
            claimed = bool(result.rowcount)  # type: ignore[attr-defined]
            if claimed:
                audit(session, action=f"alert.{alert}", now=now, team_id=team_id, actor="system")
        return claimed

    def _notice(self, team_id: str, *, reason: str, days_left: int | None) -> ExpiryNotice | None:
        with self._sessions() as session:
            connection = session.scalars(select(QboConnection).where(QboConnection.team_id == team_id)).one_or_none()
            workspace = session.get(Workspace, team_id)
        if connection is None:
            return None
        admins: Sequence[str] = sorted(
            {*self._configured_admins.of_team(team_id), *([connection.connected_by] if connection.connected_by else [])}
        )
        return ExpiryNotice(
            team_id=team_id,
            admin_ids=admins,
            alert_channel=workspace.alert_channel if workspace else None,
            company_name=connection.company_name or connection.realm_id,
            reason=reason,
            days_left=days_left,
        )


def _warning_level(hard_expires_at: datetime, now: datetime) -> int | None:
    left = hard_expires_at - now
    levels = [days for days in WARNING_DAYS if left <= timedelta(days=days)]
    return min(levels) if levels else None


def _is_new_level(last_alert: str | None, level: int) -> bool:
    if last_alert is None or not last_alert.startswith("warn"):
        return last_alert != "expired"
    return int(last_alert[4:]) > level

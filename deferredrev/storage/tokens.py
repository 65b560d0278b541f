"""The token store: the only code that reads or writes token ciphertexts.

Plaintext tokens exist only in memory, in :class:`StoredTokens`, whose ``repr`` hides them. Writes are fenced
by the connection's ``version``: a writer that read version *v* can only store tokens while the row is still at
*v*, so a process that paused past its lease cannot overwrite newer tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from deferredrev.logs import SecretRegistry
from deferredrev.storage.models import QboConnection
from deferredrev.storage.vault import TokenIdentity, TokenKind, TokenVault


@dataclass(frozen=True)
class StoredTokens:
    team_id: str
    realm_id: str
    version: int
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    hard_expires_at: datetime | None


@dataclass(frozen=True)
class NewTokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    hard_expires_at: datetime | None


class TokenStore:
    def __init__(self, vault: TokenVault, secrets: SecretRegistry) -> None:
        self._vault = vault
        self._secrets = secrets

    def seal(self, connection: QboConnection, tokens: NewTokens, *, now: datetime) -> None:
        """Encrypt ``tokens`` into ``connection`` (a row the caller owns in its session) and bump the version."""
        self._track(connection.team_id, connection.realm_id, tokens.access_token, tokens.refresh_token)
        connection.access_token = self._vault.encrypt(tokens.access_token, _identity(connection, TokenKind.ACCESS))
        connection.refresh_token = self._vault.encrypt(tokens.refresh_token, _identity(connection, TokenKind.REFRESH))
        connection.access_expires_at = tokens.access_expires_at
        connection.refresh_expires_at = tokens.refresh_expires_at
        if tokens.hard_expires_at is not None:
            connection.hard_expires_at = tokens.hard_expires_at
        connection.refreshed_at = now
        connection.version = (connection.version or 0) + 1

    def open(self, connection: QboConnection) -> StoredTokens | None:
        """Decrypt the tokens of ``connection``; ``None`` when it holds none (disconnected)."""
        if connection.access_token is None or connection.refresh_token is None:
            return None
        access = self._vault.decrypt(connection.access_token, _identity(connection, TokenKind.ACCESS))
        refresh = self._vault.decrypt(connection.refresh_token, _identity(connection, TokenKind.REFRESH))
        self._track(connection.team_id, connection.realm_id, access, refresh)
        return StoredTokens(
            team_id=connection.team_id,
            realm_id=connection.realm_id,
            version=connection.version,
            access_token=access,
            refresh_token=refresh,
            access_expires_at=connection.access_expires_at,
            refresh_expires_at=connection.refresh_expires_at,
            hard_expires_at=connection.hard_expires_at,
        )

    def store_if_version(
        self, session: Session, *, team_id: str, expected_version: int, tokens: NewTokens, now: datetime
    ) -> bool:
        """Store rotated tokens only if nobody else stored newer ones since ``expected_version`` was read."""
        connection = session.scalars(select(QboConnection).where(QboConnection.team_id == team_id)).one()
        identity = (connection.team_id, connection.realm_id)
        # Tracked even if the fence refuses the write: Intuit issued these tokens, so they must not reach a log.
        self._track(*identity, tokens.access_token, tokens.refresh_token)
        values = {
            "access_token": self._vault.encrypt(tokens.access_token, TokenIdentity(*identity, TokenKind.ACCESS)),
            "refresh_token": self._vault.encrypt(tokens.refresh_token, TokenIdentity(*identity, TokenKind.REFRESH)),
            "access_expires_at": tokens.access_expires_at,
            "refresh_expires_at": tokens.refresh_expires_at,
            "refreshed_at": now,
            "version": expected_version + 1,
            "updated_at": now,
        }
        if tokens.hard_expires_at is not None:
            values["hard_expires_at"] = tokens.hard_expires_at
        result = session.execute(
            update(QboConnection)
            .where(QboConnection.team_id == team_id, QboConnection.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _track(self, team_id: str, realm_id: str, access: str, refresh: str) -> None:
        """Register the connection's current tokens with the log redactor; they replace the ones they rotate out (only
        the current tokens of each connection stay registered, so the redactor does not grow with every refresh)."""
        self._secrets.track(TokenIdentity(team_id, realm_id, TokenKind.ACCESS), access)
        self._secrets.track(TokenIdentity(team_id, realm_id, TokenKind.REFRESH), refresh)

    def forget(self, connection: QboConnection) -> None:
        connection.access_token = None
        connection.refresh_token = None
        connection.access_expires_at = None
        connection.refresh_expires_at = None
        connection.version = (connection.version or 0) + 1

    def rotate_all(self, session: Session) -> int:
        """Re-encrypt every stored token under the primary key; returns how many rows changed.

        Safe while the service runs: each row is rewritten only if its ``version`` is still the one read, so a
        refresh that stores new tokens in between is never overwritten; that row is read again and retried.
        """
        touched = 0
        for connection_id in session.scalars(select(QboConnection.id)).all():
            touched += self._rotate_row(session, connection_id)
        return touched

    def _rotate_row(self, session: Session, connection_id: int) -> bool:
        while True:
            connection = session.get(QboConnection, connection_id, populate_existing=True)
            if connection is None:
                return False
            values: dict[str, bytes] = {}
            for kind, column in ((TokenKind.ACCESS, "access_token"), (TokenKind.REFRESH, "refresh_token")):
                blob = getattr(connection, column)
                if blob is not None and self._vault.needs_rotation(blob):
                    values[column] = self._vault.reencrypt(blob, _identity(connection, kind))
            if not values:
                return False
            result = session.execute(
                update(QboConnection)
                .where(QboConnection.id == connection_id, QboConnection.version == connection.version)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return True


def _identity(connection: QboConnection, kind: TokenKind) -> TokenIdentity:
    return TokenIdentity(team_id=connection.team_id, realm_id=connection.realm_id, kind=kind)

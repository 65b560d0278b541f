from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from deferredrev.logs import REDACTED, SecretRegistry
from deferredrev.settings import Plan
from deferredrev.storage.models import QboConnection
from deferredrev.storage.repositories import get_or_create_workspace
from deferredrev.storage.tokens import NewTokens, TokenStore
from deferredrev.storage.vault import DecryptionError, TokenVault
from tests.conftest import make_key

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def tokens(suffix: str) -> NewTokens:
    return NewTokens(
        access_token=f"eyJcanaryaccess{suffix}.payload",
        refresh_token=f"RT1-canary-refresh-{suffix}",
        access_expires_at=NOW + timedelta(hours=1),
        refresh_expires_at=NOW + timedelta(days=100),
        hard_expires_at=NOW + timedelta(days=5 * 365),
    )


def connect(sessions, store: TokenStore, team: str, realm: str, suffix: str) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        get_or_create_workspace(session, team, default_plan=Plan.GROWTH, now=NOW)
        connection = QboConnection(team_id=team, realm_id=realm, status="connected", version=0)
        session.add(connection)
        store.seal(connection, tokens(suffix), now=NOW)


def test_tokens_are_stored_encrypted_and_read_back(sessions, engine) -> None:  # type: ignore[no-untyped-def]
    store = TokenStore(TokenVault([make_key("k1")]), SecretRegistry())
    connect(sessions, store, "T1", "111", "a")
    with engine.connect() as raw:
        stored = raw.execute(text("SELECT access_token, refresh_token FROM qbo_connections")).one()
    for column in stored:
        assert b"canary" not in bytes(column)
    with sessions() as session:
        opened = store.open(session.scalars(select(QboConnection)).one())
    assert opened is not None
    assert opened.refresh_token == "RT1-canary-refresh-a"
    assert opened.hard_expires_at == NOW + timedelta(days=5 * 365)
    assert "canary" not in repr(opened)


def test_ciphertext_copied_to_another_tenant_fails(sessions) -> None:  # type: ignore[no-untyped-def]
    store = TokenStore(TokenVault([make_key("k1")]), SecretRegistry())
    connect(sessions, store, "T1", "111", "a")
    connect(sessions, store, "T2", "222", "b")
    with sessions.begin() as session:
        first, second = session.scalars(select(QboConnection).order_by(QboConnection.team_id)).all()
        second.refresh_token = first.refresh_token
    with sessions() as session, pytest.raises(DecryptionError):
        store.open(session.scalars(select(QboConnection).where(QboConnection.team_id == "T2")).one())


def test_version_fence_refuses_stale_writer(sessions) -> None:  # type: ignore[no-untyped-def]
    store = TokenStore(TokenVault([make_key("k1")]), SecretRegistry())
    connect(sessions, store, "T1", "111", "a")
    with sessions() as session:
        version = session.scalars(select(QboConnection)).one().version
    with sessions.begin() as session:
        assert store.store_if_version(session, team_id="T1", expected_version=version, tokens=tokens("b"), now=NOW)
    with sessions.begin() as session:  # a paused writer that read the old version loses
        assert not store.store_if_version(session, team_id="T1", expected_version=version, tokens=tokens("c"), now=NOW)
    with sessions() as session:
        opened = store.open(session.scalars(select(QboConnection)).one())
    assert opened is not None and opened.refresh_token == "RT1-canary-refresh-b"
    assert opened.version == version + 1


def test_rotation_reencrypts_every_row_under_the_primary(sessions) -> None:  # type: ignore[no-untyped-def]
    old, new = make_key("old"), make_key("new")
    connect(sessions, TokenStore(TokenVault([old]), SecretRegistry()), "T1", "111", "a")
    connect(sessions, TokenStore(TokenVault([old]), SecretRegistry()), "T2", "222", "b")
    rotated_vault = TokenVault([new, old])
    store = TokenStore(rotated_vault, SecretRegistry())
    with sessions() as session:  # old rows still decrypt before rotation
        assert store.open(session.scalars(select(QboConnection).where(QboConnection.team_id == "T1")).one()) is not None
    with sessions.begin() as session:
        assert store.rotate_all(session) == 2
    with sessions.begin() as session:
        assert store.rotate_all(session) == 0
    only_new = TokenStore(TokenVault([new]), SecretRegistry())
    with sessions() as session:
        for connection in session.scalars(select(QboConnection)):
            assert rotated_vault.key_id_of(connection.refresh_token or b"") == "new"
            opened = only_new.open(connection)
            assert opened is not None and opened.refresh_token.startswith("RT1-canary-refresh-")


def test_forget_drops_tokens_but_keeps_the_row(sessions) -> None:  # type: ignore[no-untyped-def]
    store = TokenStore(TokenVault([make_key("k1")]), SecretRegistry())
    connect(sessions, store, "T1", "111", "a")
    with sessions.begin() as session:
        store.forget(session.scalars(select(QboConnection)).one())
    with sessions() as session:
        connection = session.scalars(select(QboConnection)).one()
        assert store.open(connection) is None
        assert connection.realm_id == "111"


def test_rotation_never_overwrites_tokens_stored_meanwhile(sessions) -> None:  # type: ignore[no-untyped-def]
    old, new = make_key("old"), make_key("new")
    connect(sessions, TokenStore(TokenVault([old]), SecretRegistry()), "T1", "111", "a")
    running_service = TokenStore(TokenVault([old]), SecretRegistry())  # still configured with the old key only
    rotator = TokenStore(TokenVault([new, old]), SecretRegistry())
    with sessions.begin() as session:
        connection = session.scalars(select(QboConnection)).one()
        seen_version = connection.version
        # The service refreshes between the rotator's read and its write.
        with sessions.begin() as other:
            assert running_service.store_if_version(
                other, team_id="T1", expected_version=seen_version, tokens=tokens("b"), now=NOW
            )
        assert rotator.rotate_all(session) == 1
    with sessions() as session:
        opened = rotator.open(session.scalars(select(QboConnection)).one())
    assert opened is not None and opened.refresh_token == "RT1-canary-refresh-b"


def test_only_each_connections_current_tokens_stay_registered_for_redaction(sessions) -> None:  # type: ignore[no-untyped-def]
    registry = SecretRegistry(retired_kept=2)
    store = TokenStore(TokenVault([make_key("k1")]), registry)

    def plain(n: int) -> NewTokens:  # shapes no pattern knows, so only the registry redacts them
        return NewTokens(
            access_token=f"plain-access-{n:04d}-canary",
            refresh_token=f"plain-refresh-{n:04d}-canary",
            access_expires_at=NOW + timedelta(hours=1),
            refresh_expires_at=None,
            hard_expires_at=None,
        )

    with sessions.begin() as session:
        get_or_create_workspace(session, "T1", default_plan=Plan.GROWTH, now=NOW)
        connection = QboConnection(team_id="T1", realm_id="111", status="connected", version=0)
        session.add(connection)
        store.seal(connection, plain(0), now=NOW)
    for n in range(1, 200):  # each refresh rotates both tokens
        with sessions() as session:
            version = session.scalars(select(QboConnection)).one().version
            assert store.open(session.scalars(select(QboConnection)).one()) is not None
        with sessions.begin() as session:
            assert store.store_if_version(session, team_id="T1", expected_version=version, tokens=plain(n), now=NOW)
    assert registry.size <= 2 + 2  # the current access and refresh token, and the last two rotated out
    latest = plain(199)
    assert registry.redact(f"{latest.access_token} {latest.refresh_token}") == f"{REDACTED} {REDACTED}"
    assert registry.redact(plain(0).refresh_token) == plain(0).refresh_token  # long gone: Intuit no longer takes it

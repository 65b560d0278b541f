"""Token lifecycle against the sandbox Intuit with its controllable clock: background refresh, rotation, expiry,
alerts once per state change, reconnect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from deferredrev.sandbox.intuit import SandboxConfig
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.lifecycle import REFRESH_MARGIN
from deferredrev.services.qbo_access import TokenRefresher
from deferredrev.storage.models import AuditEvent, QboConnection
from tests.e2e.harness import ADMIN, TEAM, Stack, running_stack


def stored(stack: Stack) -> tuple[QboConnection, str]:
    with stack.server.runtime.sessions() as session:
        connection = session.scalars(select(QboConnection)).one()
        tokens = stack.server.runtime.tokens.open(connection)
    return connection, tokens.refresh_token if tokens else ""


def refresh_failures(stack: Stack) -> int:
    return stack.intuit.requests.count(path_contains="/tokens/bearer", status=400)


def expiry_dms(stack: Stack, user: str = ADMIN) -> int:
    return sum("has expired" in str(m.blocks) for m in stack.slack.dms(user))


def test_sweep_refreshes_only_when_due_and_persists_rotation(connected: Stack) -> None:
    stack = connected
    lifecycle = stack.server.app.lifecycle
    _, first_refresh_token = stored(stack)
    stack.clock.advance(timedelta(minutes=30))
    assert lifecycle.sweep().refreshed == 0  # not due: the access token has 30 minutes left
    stack.clock.advance(timedelta(minutes=26))
    assert lifecycle.sweep().refreshed == 1
    assert lifecycle.sweep().refreshed == 0  # refreshed once, not again
    stack.clock.advance(timedelta(hours=25))  # the sandbox rotates the refresh token value after 24 h
    assert lifecycle.sweep().refreshed == 1
    connection, rotated = stored(stack)
    assert rotated != first_refresh_token
    stack.clock.advance(timedelta(hours=25))  # the old value is dead now: we never use it
    for _ in range(3):
        stack.clock.advance(timedelta(minutes=56))
        lifecycle.sweep()
    assert refresh_failures(stack) == 0
    assert stored(stack)[0].status == "connected"
    assert stored(stack)[0].hard_expires_at is not None


def test_a_connection_listed_as_due_is_not_refreshed_again_after_another_replica_did(connected: Stack) -> None:
    app = connected.server.app
    connected.clock.advance(timedelta(minutes=56))  # inside the refresh margin of the hour-long access token
    horizon = connected.clock.now() + REFRESH_MARGIN  # replica A lists the connection as due, then pauses
    replica_b = TokenRefresher(
        sessions=app.runtime.sessions, tokens=app.runtime.tokens, oauth=app.oauth, clock=connected.clock, owner="b"
    )
    calls = connected.intuit.token_endpoint_calls.count("refresh_token")
    assert replica_b.refresh(TEAM, only_if_expiring_before=horizon).refreshed_here
    late = app.refresher.refresh(TEAM, only_if_expiring_before=horizon)  # replica A resumes with its old list
    assert not late.refreshed_here
    assert connected.intuit.token_endpoint_calls.count("refresh_token") == calls + 1
    assert late.tokens.access_expires_at is not None and late.tokens.access_expires_at > horizon


def test_a_hundred_days_pass_without_expiry(database_url: str, now: datetime) -> None:
    config = SandboxConfig(access_token_lifetime=timedelta(days=1))
    with running_stack(database_url, now=now, intuit_config=config) as stack:
        stack.connect()
        for _ in range(105):
            stack.clock.advance(timedelta(hours=23, minutes=56))
            stack.server.app.lifecycle.sweep()
        connection, _ = stored(stack)
        assert connection.status == "connected"
        assert refresh_failures(stack) == 0
        assert expiry_dms(stack) == 0
        stack.command("status")
        assert "Connected" in stack.ephemeral_text(contains="DeferredRev status")


def test_revoked_connection_turns_expired_with_one_alert_per_admin(connected: Stack) -> None:
    stack = connected
    stack.workspace.add_user("U0OWNER01", "olu", is_owner=True)
    stack.intuit.disconnect_from_quickbooks(US_REALM)
    stack.clock.advance(timedelta(minutes=57))
    for _ in range(3):
        stack.server.app.lifecycle.sweep()
        stack.clock.advance(timedelta(minutes=10))
    connection, _ = stored(stack)
    assert connection.status == "expired" and connection.status_reason
    stack.slack.wait_for_dm(ADMIN, contains="has expired")
    stack.slack.wait_for_dm("U0OWNER01", contains="has expired")
    assert expiry_dms(stack) == 1 and expiry_dms(stack, "U0OWNER01") == 1
    stack.command("status")
    assert "Expired" in stack.ephemeral_text(contains="DeferredRev status")
    # Reconnect clears the alert and restores the connection; mappings and history stay.
    dm_channel = stack.slack.dm_channel(ADMIN)
    stack.driver.click(ADMIN, action_id="qbo_reconnect", channel=dm_channel)
    link_message = stack.slack.wait_for_ephemeral(dm_channel, ADMIN, contains="Reconnect QuickBooks")
    link = next(e["url"] for b in link_message.blocks for e in b.get("elements", []) if e.get("url"))
    stack.browser_connect(link)
    stack.slack.wait_for_dm(ADMIN, contains="Reconnected")
    connection, _ = stored(stack)
    assert connection.status == "connected" and connection.last_alert is None
    with stack.server.runtime.sessions() as session:
        alerts = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "alert.expired")).all()
    assert len(alerts) == 1


def test_unreadable_stored_tokens_turn_expired_with_one_alert(connected: Stack) -> None:
    stack = connected
    with stack.server.runtime.sessions.begin() as session:  # e.g. the row was damaged by a bad restore
        connection = session.scalars(select(QboConnection)).one()
        blob = bytearray(connection.refresh_token or b"")
        blob[-1] ^= 0x01
        connection.refresh_token = bytes(blob)
    stack.clock.advance(timedelta(minutes=56))
    report = stack.server.app.lifecycle.sweep()
    assert report.failed == 1 and stored_status(stack) == "connected"  # not yet: its access token is still valid
    stack.clock.advance(timedelta(minutes=5))
    assert stack.server.app.lifecycle.sweep().expired == 1
    assert stored_status(stack) == "expired"
    stack.slack.wait_for_dm(ADMIN, contains="has expired")
    for _ in range(2):
        stack.clock.advance(timedelta(minutes=10))
        stack.server.app.lifecycle.sweep()
    assert expiry_dms(stack) == 1


def stored_status(stack: Stack) -> str:
    with stack.server.runtime.sessions() as session:
        return session.scalars(select(QboConnection.status)).one()


@pytest.fixture
def short_lived(database_url: str, now: datetime) -> Iterator[Stack]:
    config = SandboxConfig(refresh_token_hard_lifetime=timedelta(days=31), access_token_lifetime=timedelta(hours=6))
    with running_stack(database_url, now=now, intuit_config=config) as stack:
        yield stack


def test_warnings_before_the_hard_expiry_then_expired(short_lived: Stack) -> None:
    stack = short_lived
    stack.connect()
    for _ in range(4 * 33):
        stack.clock.advance(timedelta(hours=5, minutes=56))
        stack.server.app.lifecycle.sweep()
    dms = [str(m.blocks) for m in stack.slack.dms(ADMIN)]
    warnings = [d for d in dms if "five years" in d]
    assert len(warnings) == 3, warnings
    assert expiry_dms(stack) == 1
    assert stored(stack)[0].status == "expired"

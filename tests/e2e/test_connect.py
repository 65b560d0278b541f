"""Connecting QuickBooks from Slack, end to end over HTTP with both sandboxes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text

from deferredrev.sandbox.intuit.config import AutoConsent
from deferredrev.sandbox.intuit.faults import Fault
from deferredrev.sandbox.intuit.seed import BIG_REALM, US_REALM
from deferredrev.settings import Plan
from deferredrev.storage.models import AccountMapping, AuditEvent, OAuthState, QboConnection, UsedConnectTicket
from deferredrev.storage.repositories import set_plan
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, Stack, outcome_of, running_stack


def save_mapping(stack: Stack) -> None:
    with stack.server.runtime.sessions.begin() as session:
        session.add(
            AccountMapping(
                team_id=TEAM, realm_id=US_REALM, deferred_revenue_account_id="1", deferred_revenue_account_name="Deferred",
                revenue_account_id="2", revenue_account_name="Services",
            )
        )  # fmt: skip


def test_admin_connects_and_status_reads_connected(stack: Stack) -> None:
    result = stack.connect()
    assert outcome_of(result) == "connected"
    assert result.headers["cache-control"] == "no-store"
    assert result.headers["referrer-policy"] == "no-referrer"
    assert result.content == b"" or b"<html" not in result.content.lower()
    dm = stack.slack.wait_for_dm(ADMIN, contains="Connected to Sandbox Company_US_1")
    assert "mappings" in dm.text or "mappings" in str(dm.blocks)
    page = stack.browser.get(stack.url + result.headers["location"])
    assert page.status_code == 200 and "QuickBooks is connected" in page.text
    stack.command("status")
    status = stack.ephemeral_text(contains="DeferredRev status")
    assert "Connected" in status and "Sandbox Company_US_1" in status


def test_tokens_are_stored_encrypted(stack: Stack) -> None:
    stack.connect()
    with stack.server.runtime.engine.connect() as raw:
        access, refresh = raw.execute(text("SELECT access_token, refresh_token FROM qbo_connections")).one()
    with stack.server.runtime.sessions() as session:
        connection = session.scalars(select(QboConnection)).one()
        opened = stack.server.runtime.tokens.open(connection)
    assert opened is not None
    assert opened.access_token.encode() not in bytes(access)
    assert opened.refresh_token.encode() not in bytes(refresh)
    assert connection.realm_id == US_REALM and connection.status == "connected"


def test_non_admin_is_refused_and_nothing_changes(stack: Stack) -> None:
    stack.command("connect", user=MEMBER)
    assert "Only Slack workspace admins" in stack.ephemeral_text(MEMBER, contains="admins")
    stack.command("mappings", user=MEMBER)
    assert "change account mappings" in stack.ephemeral_text(MEMBER, contains="mappings")
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).first() is None


def test_starter_plan_is_told_about_the_plan(database_url: str, now: datetime) -> None:
    from tests.e2e.harness import running_stack

    with running_stack(database_url, now=now, DEFERREDREV_DEFAULT_PLAN="starter") as stack:
        stack.command("connect")
        assert "Growth plan" in stack.ephemeral_text(contains="Growth")


def test_connect_when_already_connected_says_so(stack: Stack) -> None:
    stack.connect()
    stack.command("connect")
    assert "Already connected" in stack.ephemeral_text(contains="Already connected")


def test_denied_consent_gets_a_clear_page_and_message(stack: Stack) -> None:
    result = stack.browser_connect(stack.connect_link(), decision="deny")
    assert outcome_of(result) == "denied"
    stack.slack.wait_for_dm(ADMIN, contains="company admin")
    page = stack.browser.get(stack.url + result.headers["location"])
    assert "not granted" in page.text


def test_non_admin_quickbooks_user_gets_access_denied_page(stack: Stack) -> None:
    result = stack.browser_connect(stack.connect_link(), decision="non_admin")
    assert outcome_of(result) == "denied"


def test_replayed_callback_changes_nothing(stack: Stack) -> None:
    link = stack.connect_link()
    from deferredrev.sandbox.intuit.config import AutoConsent

    stack.intuit.auto_consent = AutoConsent(realm_id=US_REALM)
    start = stack.open_link(link)
    cookie = start.headers["set-cookie"].split(";", 1)[0]
    callback = stack.browser.get(start.headers["location"]).headers["location"]
    first = stack.browser.get(callback, headers={"cookie": cookie})
    assert outcome_of(first) == "connected"
    with stack.server.runtime.sessions() as session:
        version = session.scalars(select(QboConnection)).one().version
    exchanges = stack.intuit.token_endpoint_calls.count("authorization_code")
    replay = stack.browser.get(callback, headers={"cookie": cookie})
    assert outcome_of(replay) == "used_link"
    assert stack.intuit.token_endpoint_calls.count("authorization_code") == exchanges
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().version == version


def test_callback_without_the_browser_cookie_is_refused(stack: Stack) -> None:
    from deferredrev.sandbox.intuit.config import AutoConsent

    stack.intuit.auto_consent = AutoConsent(realm_id=US_REALM)
    start = stack.open_link(stack.connect_link())
    callback = stack.browser.get(start.headers["location"]).headers["location"]
    result = stack.browser.get(callback)  # another browser: no cookie
    assert outcome_of(result) == "wrong_browser"
    assert "authorization_code" not in stack.intuit.token_endpoint_calls
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).first() is None


def test_forged_or_expired_links_and_states(stack: Stack) -> None:
    bad_ticket = stack.browser.get(stack.url + "/qbo/connect?t=forged.ticket")
    assert bad_ticket.status_code == 302 and outcome_of(bad_ticket) == "expired_link"
    no_ticket = stack.browser.get(stack.url + "/qbo/connect")
    assert no_ticket.status_code == 302 and outcome_of(no_ticket) == "expired_link"
    unknown_state = stack.browser.get(stack.url + "/qbo/callback?code=abc&state=nope&realmId=1")
    assert outcome_of(unknown_state) == "used_link"
    link = stack.connect_link()
    from datetime import timedelta

    page = stack.browser.get(link)
    stack.clock.advance(timedelta(minutes=11))
    expired = stack.browser.get(link)
    assert outcome_of(expired) == "expired_link"
    assert outcome_of(stack.press_continue(page)) == "expired_link"  # a page left open too long


def test_disconnect_then_reconnect_keeps_mappings(connected: Stack) -> None:
    stack = connected
    save_mapping(stack)
    stack.command("disconnect")
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Disconnect")
    stack.driver.click(ADMIN, action_id="disconnect_confirm", channel=CHANNEL)
    stack.slack.wait_for_message(CHANNEL, contains="disconnected")
    revokes = stack.intuit.requests.count(path_contains="revoke")
    assert revokes == 1
    with stack.server.runtime.sessions() as session:
        connection = session.scalars(select(QboConnection)).one()
        assert connection.status == "disconnected" and connection.access_token is None and connection.refresh_token is None
    stack.connect(reconnect=True)
    stack.slack.wait_for_dm(ADMIN, contains="Reconnected")
    stack.command("status")
    status = stack.ephemeral_text(contains="Deferred Revenue account")
    assert "Deferred" in status and "Services" in status
    with stack.server.runtime.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("connect.completed") == 2 and "connection.disconnected" in actions


def test_reconnect_to_another_company_warns(connected: Stack) -> None:
    stack = connected
    save_mapping(stack)
    stack.connect(realm=BIG_REALM, reconnect=True)
    stack.slack.wait_for_dm(ADMIN, contains="different company")


def connection_status(stack: Stack) -> str:
    with stack.server.runtime.sessions() as session:
        return session.scalars(select(QboConnection)).one().status


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_disconnect_from_inside_quickbooks(connected: Stack) -> None:
    stack = connected
    stack.intuit.disconnect_from_quickbooks(US_REALM)
    page = stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
    assert page.status_code == 200 and "disconnected" in page.text
    eventually(lambda: connection_status(stack) == "disconnected")  # checked in the background


def test_forged_disconnect_landing_does_not_disconnect(connected: Stack) -> None:
    stack = connected
    page = stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
    assert page.status_code == 200
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().status == "connected"


def test_a_403_at_the_disconnect_landing_keeps_the_connection(connected: Stack, caplog: pytest.LogCaptureFixture) -> None:
    """A 403 also means a lapsed subscription or a missing permission: no proof the grant is gone."""
    stack = connected
    caplog.set_level(logging.WARNING, logger="deferredrev.services.connections")
    stack.intuit.inject(Fault.http_status(403, path="companyinfo"))
    page = stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
    assert page.status_code == 200
    eventually(lambda: "connection.remote_check_forbidden" in audit_actions(stack))

    assert connection_status(stack) == "connected"
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().refresh_token is not None
    assert any("403" in r.getMessage() and "kept" in r.getMessage() for r in caplog.records)
    assert stack.server.app.gateway.client_for(TEAM, US_REALM).company_info().company_name  # still works


def test_a_401_that_outlives_a_refresh_at_the_disconnect_landing_disconnects(connected: Stack) -> None:
    stack = connected
    refreshes = stack.intuit.token_endpoint_calls.count("refresh_token")
    stack.intuit.inject(Fault.http_status(401, path="companyinfo", times=2))
    stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
    eventually(lambda: connection_status(stack) == "disconnected")
    assert stack.intuit.token_endpoint_calls.count("refresh_token") == refreshes + 1  # refreshed, then refused again


def test_a_401_that_a_refresh_cures_is_no_proof_of_a_disconnect(connected: Stack) -> None:
    stack = connected
    stack.intuit.inject(Fault.http_status(401, path="companyinfo", times=1))
    assert stack.server.app.connections.disconnected_from_quickbooks(US_REALM) == []
    assert connection_status(stack) == "connected"


def test_reconnect_landing_page_points_to_slack(stack: Stack) -> None:
    page = stack.browser.get(stack.url + "/qbo/reconnect")
    assert page.status_code == 200 and "/deferredrev reconnect" in page.text
    assert page.headers["cache-control"] == "no-store"


# --- connect links work once ----------------------------------------------------------------------------------------


def test_a_connect_link_works_once(stack: Stack) -> None:
    link = stack.connect_link()
    old_page = stack.browser.get(link)
    assert outcome_of(stack.browser_connect(link, realm=US_REALM)) == "connected"
    authorizations = stack.intuit.requests.count(path_contains="authorize")
    stack.intuit.auto_consent = AutoConsent(realm_id=BIG_REALM)  # someone holding the old link tries another company
    again = stack.browser.get(link)
    assert again.status_code == 302 and outcome_of(again) == "reused_link"  # said at once, before any button
    assert "set-cookie" not in again.headers
    page = stack.browser.get(stack.url + again.headers["location"])
    assert "This link was already used" in page.text and "Run /deferredrev connect in Slack for a new one." in page.text
    with stack.server.runtime.sessions() as session:
        assert "connect.link_reused" not in session.scalars(select(AuditEvent.action)).all()  # a GET writes nothing
    pressed = stack.press_continue(old_page)  # the page was still open in another tab
    assert pressed.status_code == 302 and outcome_of(pressed) == "reused_link"
    assert "set-cookie" not in pressed.headers
    assert stack.intuit.requests.count(path_contains="authorize") == authorizations
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().realm_id == US_REALM
        assert "connect.link_reused" in session.scalars(select(AuditEvent.action)).all()


def test_opening_the_link_shows_the_workspace_and_uses_nothing_up(stack: Stack) -> None:
    link = stack.connect_link()  # the workspace's name is read from Slack when the link is made
    first = stack.browser.get(link)
    assert first.status_code == 200
    assert "Connect QuickBooks to Acme Finance" in first.text and TEAM in first.text
    assert f"Slack user with ID <strong>{ADMIN}</strong>" in first.text
    assert "If you didn't ask for this link in your own Slack workspace, close this page." in first.text
    assert '<form method="post" action="/qbo/connect">' in first.text and "Continue to Intuit</button>" in first.text
    second = stack.browser.get(link)  # a link scanner, a prefetch, a second look: nothing is used up
    assert second.status_code == 200 and "Continue to Intuit" in second.text
    assert stack.intuit.requests.count(path_contains="authorize") == 0
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(UsedConnectTicket)).first() is None
        assert session.scalars(select(OAuthState)).first() is None
        assert "connect.started" not in session.scalars(select(AuditEvent.action)).all()
    pressed = stack.press_continue(second)
    assert pressed.status_code == 302 and pressed.headers["location"].startswith(stack.intuit.authorize_url)
    assert pressed.content == b"" and pressed.headers["cache-control"] == "no-store"
    assert pressed.headers["set-cookie"].startswith("deferredrev_qbo_browser=")
    again = stack.press_continue(first)
    assert again.status_code == 302 and outcome_of(again) == "reused_link"


def test_the_page_names_the_team_id_when_the_workspace_has_no_name(stack: Stack) -> None:
    ticket = stack.server.app.connections.connect_ticket(TEAM, ADMIN)  # made without asking Slack for the name
    page = stack.browser.get(f"{stack.url}/qbo/connect?t={ticket}")
    words = " ".join(page.text.split())
    assert f"Connect QuickBooks to {TEAM}" in words and f"the Slack workspace with team ID <strong>{TEAM}</strong>" in words


def test_a_link_opened_in_several_browsers_at_once_gets_through_once(stack: Stack) -> None:
    for _ in range(3):
        link = stack.connect_link()
        barrier = threading.Barrier(4)

        def open_link(_: int, link: str = link, barrier: threading.Barrier = barrier) -> httpx.Response:
            with httpx.Client(timeout=10, follow_redirects=False) as browser:
                page = browser.get(link)
                barrier.wait()
                return stack.press_continue(page, browser=browser)

        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(open_link, range(4)))
        assert all(r.status_code == 302 for r in responses)
        to_intuit = [r for r in responses if r.headers["location"].startswith(stack.intuit.authorize_url)]
        assert len(to_intuit) == 1
        assert sorted(outcome_of(r) for r in responses if r not in to_intuit) == ["reused_link"] * 3


def test_starter_plan_is_told_at_once_and_the_link_stays_unused(database_url: str, now: datetime) -> None:
    with running_stack(database_url, now=now, DEFERREDREV_DEFAULT_PLAN="starter") as stack:
        ticket = stack.server.app.connections.connect_ticket(TEAM, ADMIN)
        link = f"{stack.url}/qbo/connect?t={ticket}"
        assert outcome_of(stack.browser.get(link)) == "plan"
        assert outcome_of(stack.browser.get(link)) == "plan"  # not "reused_link": nothing was started


def test_a_plan_refused_at_the_button_leaves_the_link_unused(stack: Stack) -> None:
    page = stack.browser.get(stack.connect_link())
    with stack.server.runtime.sessions.begin() as session:  # the plan changes while the page is open
        set_plan(session, TEAM, Plan.STARTER, now=stack.clock.now())
    assert outcome_of(stack.press_continue(page)) == "plan"
    assert outcome_of(stack.press_continue(page)) == "plan"  # not "reused_link": nothing was started
    with stack.server.runtime.sessions.begin() as session:
        set_plan(session, TEAM, Plan.GROWTH, now=stack.clock.now())
    assert stack.press_continue(page).headers["location"].startswith(stack.intuit.authorize_url)


# --- reconnecting to another company ----------------------------------------------------------------------------------


def test_reconnect_to_another_company_revokes_the_old_grant(connected: Stack) -> None:
    stack = connected
    assert US_REALM in {realm for _, realm in stack.intuit.oauth.active_connections()}
    stack.connect(realm=BIG_REALM, reconnect=True)
    stack.slack.wait_for_dm(ADMIN, contains="different company")
    active = {realm for _, realm in stack.intuit.oauth.active_connections()}
    assert US_REALM not in active and BIG_REALM in active
    assert stack.intuit.requests.count(path_contains="revoke") == 1
    assert stack.server.app.gateway.client_for(TEAM, BIG_REALM).company_info().company_name  # the new grant works


def test_reconnect_to_the_same_company_revokes_nothing(connected: Stack) -> None:
    stack = connected
    stack.connect(reconnect=True)
    stack.slack.wait_for_dm(ADMIN, contains="Reconnected")
    assert stack.intuit.requests.count(path_contains="revoke") == 0
    assert stack.server.app.gateway.client_for(TEAM, US_REALM).company_info().company_name


# --- tokens that no longer decrypt ------------------------------------------------------------------------------------


def damage_tokens(stack: Stack, damage: str) -> None:
    """``ciphertext``: flip a byte (DecryptionError); ``key``: name a key id not in the keyring (UnknownKeyError)."""
    with stack.server.runtime.sessions.begin() as session:
        connection = session.scalars(select(QboConnection)).one()
        for column in ("access_token", "refresh_token"):
            blob = bytearray(getattr(connection, column))
            if damage == "ciphertext":
                blob[-1] ^= 0xFF
            else:
                blob[3 : 3 + blob[2]] = b"z" * blob[2]
            setattr(connection, column, bytes(blob))


@pytest.mark.parametrize("damage", ["ciphertext", "key"])
def test_disconnect_forgets_tokens_that_no_longer_decrypt(connected: Stack, damage: str) -> None:
    stack = connected
    damage_tokens(stack, damage)
    stack.command("disconnect")
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Disconnect")
    stack.driver.click(ADMIN, action_id="disconnect_confirm", channel=CHANNEL)
    stack.slack.wait_for_message(CHANNEL, contains="disconnected")
    dm = stack.slack.wait_for_dm(ADMIN, contains="couldn't revoke")
    assert "Apps › Connected apps" in dm.text
    key = stack.settings.encryption_keys[0]
    assert key.key_id not in dm.text and "zzz" not in dm.text  # nothing about keys or ciphertexts
    assert stack.intuit.requests.count(path_contains="revoke") == 0
    with stack.server.runtime.sessions() as session:
        connection = session.scalars(select(QboConnection)).one()
        assert connection.status == "disconnected"
        assert connection.access_token is None and connection.refresh_token is None


def test_disconnect_tells_the_admin_when_the_revoke_fails(connected: Stack) -> None:
    stack = connected
    stack.intuit.inject(Fault.http_status(503, path="revoke"))
    stack.command("disconnect")
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Disconnect")
    stack.driver.click(ADMIN, action_id="disconnect_confirm", channel=CHANNEL)
    stack.slack.wait_for_dm(ADMIN, contains="couldn't revoke")
    assert connection_status(stack) == "disconnected"


def test_disconnect_landing_keeps_tokens_this_replica_cannot_read(connected: Stack) -> None:
    """Anyone can open the landing page, and during a key rotation another replica may still read the tokens: an
    unreadable row proves nothing about Intuit, so the page never forgets them (the refresh sweep expires them once
    nobody could have refreshed them)."""
    stack = connected
    damage_tokens(stack, "key")
    thread = stack.server.app.connections.check_remote_disconnect(US_REALM)
    assert thread is not None
    thread.join(10)
    assert connection_status(stack) == "connected"
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().refresh_token is not None


# --- the unauthenticated disconnect landing ---------------------------------------------------------------------------


def test_disconnect_landing_checks_a_company_at_most_once_per_interval(connected: Stack) -> None:
    stack = connected
    checks = stack.intuit.requests.count(path_contains="companyinfo")
    stack.intuit.inject(Fault(kind="delay", seconds=2.0, path="companyinfo"))
    for attempt in range(5):
        page = stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
        assert page.status_code == 200
        if attempt == 0:  # the page answered while the check was still waiting on Intuit
            assert stack.intuit.requests.count(path_contains="companyinfo") == checks
    eventually(lambda: stack.intuit.requests.count(path_contains="companyinfo") == checks + 1)
    stack.clock.advance(timedelta(minutes=6))
    stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
    eventually(lambda: stack.intuit.requests.count(path_contains="companyinfo") == checks + 2)
    time.sleep(0.2)
    assert stack.intuit.requests.count(path_contains="companyinfo") == checks + 2
    assert connection_status(stack) == "connected"  # Intuit still accepts the tokens: a forged landing changes nothing


# --- Intuit's errors and missing keys ---------------------------------------------------------------------------------


def test_intuit_error_code_reaches_the_admin(stack: Stack) -> None:
    stack.intuit.auto_consent = AutoConsent(realm_id=US_REALM)
    start = stack.open_link(stack.connect_link())
    cookie = start.headers["set-cookie"].split(";", 1)[0]
    state = httpx.URL(start.headers["location"]).params["state"]
    result = stack.browser.get(
        stack.url + "/qbo/callback", params={"error": "invalid_scope", "state": state}, headers={"cookie": cookie}
    )
    assert outcome_of(result) == "intuit_error"
    dm = stack.slack.wait_for_dm(ADMIN, contains="did not complete")
    assert "(invalid_scope)" in dm.text and "None" not in dm.text


def test_without_intuit_keys_the_link_explains_the_setup(
    database_url: str, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="deferredrev.wiring")
    with running_stack(database_url, now=now, QBO_CLIENT_ID="", QBO_CLIENT_SECRET="") as stack:
        warnings = [r.getMessage() for r in caplog.records if r.name == "deferredrev.wiring"]
        assert any("QBO_CLIENT_ID and QBO_CLIENT_SECRET are not set" in w for w in warnings), warnings
        start = stack.browser.get(stack.connect_link())  # said at once, before any button
        assert start.status_code == 302 and outcome_of(start) == "not_configured"
        page = stack.browser.get(stack.url + start.headers["location"])
        assert page.status_code == 200
        assert "whoever runs DeferredRev must set QBO_CLIENT_ID and QBO_CLIENT_SECRET" in page.text
        assert stack.intuit.requests.count(path_contains="authorize") == 0


def test_startup_names_a_missing_intuit_key_without_values(
    database_url: str, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="deferredrev.wiring")
    with running_stack(database_url, now=now, QBO_CLIENT_SECRET="") as stack:
        warnings = [r.getMessage() for r in caplog.records if r.name == "deferredrev.wiring"]
        assert any("QBO_CLIENT_SECRET is not set" in w for w in warnings), warnings
        assert stack.settings.qbo_client_id and all(stack.settings.qbo_client_id not in w for w in warnings)


def test_a_head_request_does_not_use_up_the_link(stack: Stack) -> None:
    link = stack.connect_link()
    assert stack.browser.head(link).status_code == 204
    assert outcome_of(stack.browser_connect(link)) == "connected"


# --- the company on the callback is confirmed before anything is stored -----------------------------------------------


def consent_callback(stack: Stack, *, reconnect: bool = False) -> tuple[str, str]:
    """Consent for US_REALM at the sandbox Intuit: the callback URL Intuit sends the browser to, and our cookie."""
    stack.intuit.auto_consent = AutoConsent(realm_id=US_REALM)
    start = stack.open_link(stack.connect_link(reconnect=reconnect))
    cookie = start.headers["set-cookie"].split(";", 1)[0]
    return stack.browser.get(start.headers["location"]).headers["location"], cookie


def with_realm(callback: str, realm: str) -> str:
    return str(httpx.URL(callback).copy_set_param("realmId", realm))


def audit_actions(stack: Stack) -> list[str]:
    with stack.server.runtime.sessions() as session:
        return list(session.scalars(select(AuditEvent.action)).all())


@pytest.mark.parametrize("claimed", [BIG_REALM, "9341453999999999"], ids=["another-company", "no-such-company"])
def test_a_callback_whose_realm_was_tampered_with_connects_nothing_and_revokes_the_grant(stack: Stack, claimed: str) -> None:
    callback, cookie = consent_callback(stack)  # the tokens are for US_REALM
    result = stack.browser.get(with_realm(callback, claimed), headers={"cookie": cookie})

    assert result.status_code == 302 and outcome_of(result) == "wrong_company"
    page = stack.browser.get(stack.url + result.headers["location"])
    assert "nothing was connected and that access was revoked" in page.text
    stack.slack.wait_for_dm(ADMIN, contains="didn't confirm the company")
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).first() is None
    assert "connect.company_unconfirmed" in audit_actions(stack) and "connect.completed" not in audit_actions(stack)
    assert stack.intuit.requests.count(path_contains="revoke") == 1
    assert stack.intuit.oauth.active_connections() == []  # the grant for the real company is gone too


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http_status(503, path="companyinfo", times=5),
        Fault.http_status(429, path="companyinfo", times=5),
        Fault.connection_reset(path="companyinfo", times=5),
    ],
    ids=["5xx", "429", "reset"],
)
def test_a_company_quickbooks_could_not_confirm_is_not_stored(stack: Stack, fault: Fault) -> None:
    stack.intuit.inject(fault)
    callback, cookie = consent_callback(stack)
    result = stack.browser.get(callback, headers={"cookie": cookie})

    assert outcome_of(result) == "intuit_error"
    stack.slack.wait_for_dm(ADMIN, contains="didn't answer when DeferredRev checked the company")
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).first() is None
    assert stack.intuit.requests.count(path_contains="revoke") == 1  # nobody uses that company: the grant goes
    assert stack.intuit.oauth.active_connections() == []


def test_a_reconnect_quickbooks_could_not_confirm_leaves_the_connection_as_it_was(connected: Stack) -> None:
    stack = connected
    with stack.server.runtime.sessions() as session:
        version = session.scalars(select(QboConnection)).one().version
    stack.intuit.inject(Fault.http_status(503, path="companyinfo", times=5))
    callback, cookie = consent_callback(stack, reconnect=True)
    assert outcome_of(stack.browser.get(callback, headers={"cookie": cookie})) == "intuit_error"

    stack.intuit.clear_faults()
    with stack.server.runtime.sessions() as session:
        connection = session.scalars(select(QboConnection)).one()
        assert (connection.status, connection.realm_id, connection.version) == ("connected", US_REALM, version)
    assert stack.intuit.requests.count(path_contains="revoke") == 0  # revoking would disconnect it too
    assert stack.server.app.gateway.client_for(TEAM, US_REALM).company_info().company_name

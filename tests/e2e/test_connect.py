"""Connecting QuickBooks from Slack, end to end over HTTP with both sandboxes."""

from __future__ import annotations

from sqlalchemy import select, text

from deferredrev.sandbox.intuit.seed import BIG_REALM, US_REALM
from deferredrev.storage.models import AccountMapping, AuditEvent, QboConnection
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, Stack, outcome_of


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


def test_starter_plan_is_told_about_the_plan(database_url: str) -> None:
    from tests.e2e.harness import running_stack

    with running_stack(database_url, DEFERREDREV_DEFAULT_PLAN="starter") as stack:
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
    start = stack.browser.get(link)
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
    start = stack.browser.get(stack.connect_link())
    callback = stack.browser.get(start.headers["location"]).headers["location"]
    result = stack.browser.get(callback)  # another browser: no cookie
    assert outcome_of(result) == "wrong_browser"
    assert "authorization_code" not in stack.intuit.token_endpoint_calls
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).first() is None


def test_forged_or_expired_links_and_states(stack: Stack) -> None:
    bad_ticket = stack.browser.get(stack.url + "/qbo/connect?t=forged.ticket")
    assert bad_ticket.status_code == 302 and outcome_of(bad_ticket) == "expired_link"
    unknown_state = stack.browser.get(stack.url + "/qbo/callback?code=abc&state=nope&realmId=1")
    assert outcome_of(unknown_state) == "used_link"
    link = stack.connect_link()
    from datetime import timedelta

    stack.clock.advance(timedelta(minutes=11))
    expired = stack.browser.get(link)
    assert outcome_of(expired) == "expired_link"


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


def test_disconnect_from_inside_quickbooks(connected: Stack) -> None:
    stack = connected
    stack.intuit.disconnect_from_quickbooks(US_REALM)
    page = stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
    assert page.status_code == 200 and "disconnected" in page.text
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().status == "disconnected"


def test_forged_disconnect_landing_does_not_disconnect(connected: Stack) -> None:
    stack = connected
    page = stack.browser.get(stack.url + f"/qbo/disconnect?realmId={US_REALM}")
    assert page.status_code == 200
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().status == "connected"


def test_reconnect_landing_page_points_to_slack(stack: Stack) -> None:
    page = stack.browser.get(stack.url + "/qbo/reconnect")
    assert page.status_code == 200 and "/deferredrev reconnect" in page.text
    assert page.headers["cache-control"] == "no-store"

"""Forged, unsigned, stale and replayed Slack requests; secrets never in logs or responses."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from sqlalchemy import select

from deferredrev.storage.models import AuditEvent, QboConnection, UsedConnectTicket
from tests.e2e.harness import ADMIN, BOT_TOKEN, CHANNEL, SIGNING_SECRET, Stack, outcome_of, ticket_on
from tests.hit_recorder import hit_recorder


def audit_count(stack: Stack) -> int:
    with stack.server.runtime.sessions() as session:
        return len(session.scalars(select(AuditEvent.id)).all())


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda d, body: d.forged_headers(body), id="forged"),
        pytest.param(lambda d, body: d.stale_headers(body, age_seconds=301), id="stale"),
        pytest.param(lambda d, body: d.signed_headers(body, timestamp=int(time.time()) + 301), id="future"),
        pytest.param(lambda d, body: {"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"),
        pytest.param(
            lambda d, body: {**d.signed_headers(body), "X-Slack-Request-Timestamp": "not-a-number"}, id="garbage-timestamp"
        ),
    ],
)
def test_bad_signatures_get_401_and_change_nothing(stack: Stack, make_headers) -> None:  # type: ignore[no-untyped-def]
    body = stack.driver.slash_body(ADMIN, CHANNEL, "connect")
    before_calls, before_audit = len(stack.slack.calls()), audit_count(stack)
    response = stack.driver.raw_post(body, make_headers(stack.driver, body))
    assert response.status_code == 401
    time.sleep(0.2)
    assert len(stack.slack.calls()) == before_calls
    assert audit_count(stack) == before_audit


def test_tampered_body_is_refused(stack: Stack) -> None:
    body = stack.driver.slash_body(ADMIN, CHANNEL, "status")
    headers = stack.driver.signed_headers(body)
    response = stack.driver.raw_post(body.replace("status", "connect"), headers)
    assert response.status_code == 401


def test_replayed_and_double_clicked_disconnect_acts_once(connected: Stack) -> None:
    stack = connected
    stack.command("disconnect")
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Disconnect")
    stack.driver.click(ADMIN, action_id="disconnect_confirm", channel=CHANNEL)
    stack.slack.wait_for_message(CHANNEL, contains="disconnected")
    with stack.server.runtime.sessions() as session:
        version = session.scalars(select(QboConnection)).one().version
    assert stack.driver.last_sent is not None
    body, _ = stack.driver.last_sent
    assert stack.driver.replay_last().status_code == 401  # the same signed request again: a replay
    double_click = stack.driver.post_signed(body, timestamp=int(time.time()) + 1)  # a second click: freshly signed
    assert double_click.status_code == 200
    time.sleep(0.3)
    assert stack.intuit.requests.count(path_contains="revoke") == 1
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().version == version
    disconnected_posts = [m for m in stack.slack.messages(CHANNEL) if "disconnected" in m.text]
    assert len(disconnected_posts) == 1


def test_canary_secrets_never_reach_logs_or_responses(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stack.connect()
    stack.slack.wait_for_dm(ADMIN, contains="Connected")
    stack.command("status")
    stack.ephemeral_text(contains="DeferredRev status")
    with stack.server.runtime.sessions() as session:
        tokens = stack.server.runtime.tokens.open(session.scalars(select(QboConnection)).one())
    assert tokens is not None
    canaries = [tokens.access_token, tokens.refresh_token, SIGNING_SECRET, BOT_TOKEN, stack.intuit.client_secret]
    slack_payloads = " ".join(str(call.args) for call in stack.slack.calls())
    for canary in canaries:
        assert canary not in slack_payloads
    from deferredrev.logs import RedactingFormatter

    formatter = RedactingFormatter(stack.secrets)
    rendered = "\n".join(formatter.format(record) for record in caplog.records)
    for canary in canaries:
        assert canary not in rendered
    for path in ("/healthz", "/readyz", "/qbo/result?outcome=connected", "/qbo/disconnect"):
        page = stack.browser.get(stack.url + path).text
        assert not any(canary in page for canary in canaries)


def test_unused_methods_are_refused(stack: Stack) -> None:
    for method, path in (
        ("TRACE", "/slack/events"),
        ("TRACE", "/qbo/callback"),
        ("TRACE", "/qbo/connect"),
        ("PUT", "/qbo/connect"),
        ("PUT", "/healthz"),
        ("GET", "/slack/events"),
    ):
        assert stack.browser.request(method, stack.url + path).status_code == 405, (method, path)


def test_security_headers_on_every_page(stack: Stack) -> None:
    for path in ("/healthz", "/qbo/result?outcome=connected", "/qbo/reconnect"):
        response = stack.browser.get(stack.url + path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"


# --- the connect page -------------------------------------------------------------------------------------------------


def name_workspace(stack: Stack, name: str) -> None:
    stack.workspace.name = name  # what Slack's auth.test answers when the connect link is made


def test_connect_page_is_not_cached_leaks_nothing_and_holds_the_ticket_only_in_its_form(stack: Stack) -> None:
    link = stack.connect_link()
    ticket = httpx.URL(link).params["t"]
    page = stack.browser.get(link)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store" and page.headers["pragma"] == "no-cache"
    assert page.headers["referrer-policy"] == "no-referrer" and '<meta name="referrer" content="no-referrer">' in page.text
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.text.count(ticket) == 1 and ticket_on(page) == ticket
    assert f'<input type="hidden" name="t" value="{ticket}">' in page.text
    assert all(ticket not in value for _, value in page.headers.multi_items())  # its cookie is a one-way hash
    assert "src=" not in page.text and "href=" not in page.text and "http" not in page.text  # nothing to leak it to
    cookie = page.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie and "path=/qbo/connect" in cookie
    pressed = stack.press_continue(page)
    assert ticket not in pressed.headers["location"] and ticket not in pressed.headers["set-cookie"]


def test_connect_page_escapes_the_workspace_name(stack: Stack) -> None:
    name_workspace(stack, '<script>alert("pwned")</script> & <b>Co</b>')
    page = stack.browser.get(stack.connect_link())
    assert page.status_code == 200
    assert "<script>" not in page.text and "<b>" not in page.text
    escaped = "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;"
    assert f"<title>Connect QuickBooks to {escaped} · DeferredRev</title>" in page.text
    assert f"<strong>{escaped}</strong>" in page.text


def test_a_ticket_posted_from_another_site_gets_the_page_not_intuit(stack: Stack) -> None:
    """Consent phishing without our page: another site's form posts the sender's ticket straight to us. Without the
    page's SameSite=Strict cookie (a browser never sends it with a request another site starts) the POST answers
    with the page and its warning, and nothing is used up."""
    name_workspace(stack, "Mallory's Workspace")
    link = stack.connect_link()
    ticket = httpx.URL(link).params["t"]
    other_page = stack.browser.get(stack.connect_link())  # the cookie of another link's page doesn't count either
    other_cookie = other_page.headers["set-cookie"].split(";", 1)[0]
    for headers in ({}, {"cookie": other_cookie}, {"cookie": "deferredrev_qbo_confirm=forged"}):
        answer = stack.browser.post(stack.url + "/qbo/connect", data={"t": ticket}, headers=headers)
        assert answer.status_code == 200 and "Connect QuickBooks to Mallory&#39;s Workspace" in answer.text
        assert "close this page" in answer.text and answer.headers["cache-control"] == "no-store"
        assert ticket_on(answer) == ticket
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(UsedConnectTicket)).first() is None
    assert stack.intuit.requests.count(path_contains="authorize") == 0
    pressed = stack.press_continue(answer)  # a person reads it and continues: now it works
    assert pressed.headers["location"].startswith(stack.intuit.authorize_url)
    forged = stack.browser.post(stack.url + "/qbo/connect", data={"t": "forged.ticket"})
    assert forged.status_code == 302 and outcome_of(forged) == "expired_link"


def test_a_response_url_that_is_not_slacks_gets_nothing_and_the_answer_comes_by_dm(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A correctly signed command whose response_url points at another server on the same loopback host: the answer
    (here a connect link, worth something to whoever gets it) goes to the user as a DM, never to that server."""
    caplog.set_level(logging.WARNING)
    with hit_recorder() as elsewhere:
        fields = dict(parse_qsl(stack.driver.slash_body(ADMIN, CHANNEL, "connect")))
        fields["response_url"] = elsewhere.url
        assert stack.driver.post_signed(urlencode(fields)).status_code == 200
        dm = stack.slack.wait_for_dm(ADMIN, contains="QuickBooks")
        assert "/qbo/connect?t=" in str(dm.blocks)
        assert elsewhere.paths == []
        assert stack.slack.ephemerals(CHANNEL, ADMIN) == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "not Slack" in logged and "canary" not in logged and "capability" not in logged

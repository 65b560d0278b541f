"""Canary tokens pushed through every error path: they must never surface in an exception (message, repr,
attributes, formatted traceback including chained causes) or in any log line, at any level, from any logger."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from deferredrev.clock import ManualClock
from deferredrev.qbo.client import Backoff, QboClient
from deferredrev.qbo.errors import QboError
from deferredrev.qbo.models import BatchItem, JournalEntryLine, JournalEntryRequest, PostingType, TokenSet
from deferredrev.qbo.oauth import IntuitEndpoints, IntuitOAuth, parse_callback
from tests.qbo.fakes import REALM, TID, json_response

ACCESS = "canaryAccessToken0123456789abcdefXYZ"
FRESH = "canaryFreshAccess0123456789abcdefXYZ"
REFRESH = "canaryRefreshToken0123456789abcdefXYZ"
CODE = "canaryAuthCode0123456789abcdefXYZ"
SECRET = "canaryClientSecret0123456789abcdefXYZ"
CANARIES = (ACCESS, FRESH, REFRESH, CODE, SECRET)


def leaks(text: str) -> list[str]:
    found = []
    for canary in CANARIES:
        for size in (len(canary), 16, 10):
            if canary[:size] in text or canary[-size:] in text:
                found.append(canary)
                break
    return found


def assert_clean(error: BaseException) -> None:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [str(v) for v in vars(error).values()]
    if isinstance(error, QboError):
        texts.append(error.user_message)
    for text in texts:
        assert leaks(text) == [], text


def echoing(status: int, content_type: str, template: str) -> Callable[[httpx.Request], httpx.Response]:
    """A server that repeats whatever secret it was sent (header or body) in its error body."""

    def handler(request: httpx.Request) -> httpx.Response:
        secret = request.headers.get("authorization", "").split(" ", 1)[-1] + " " + request.content.decode(errors="replace")
        body = template.replace("{s}", secret).replace("{p}", secret[:12])
        return httpx.Response(status, content=body.encode(), headers={"content-type": content_type, "intuit_tid": TID})

    return handler


UPPER = '{"Fault": {"Error": [{"Message": "bad {s}", "Detail": "Token expired: {p}…", "code": "6000", "element": "{s}"}]}}'
LOWER = (
    '{"fault": {"error": [{"message": "{s}", "detail": "Token expired: {p}", "code": "3200"}], "type": "AUTHENTICATION"}}'
)
XML = (
    '<IntuitResponse><Fault type="SERVICE"><Error code="3001" element="{s}">'
    "<Message>{s}</Message><Detail>{p}</Detail></Error></Fault></IntuitResponse>"
)
HTML = "<html><body>Service unavailable for {s}</body></html>"

SERVERS = {
    "400-json": echoing(400, "application/json", UPPER),
    "401-lowercase": echoing(401, "application/json", LOWER),
    "401-xml": echoing(401, "application/xml", XML),
    "429-xml": echoing(429, "application/json", XML),
    "503-html": echoing(503, "text/html", HTML),
    "500-json": echoing(500, "application/json", UPPER.replace("6000", "10000")),
}


class Tokens:
    def access_token(self) -> str:
        return ACCESS

    def refresh_access_token(self, rejected: str) -> str:
        return FRESH


def timeout_with_secret(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout(f"timed out talking to {request.url} with {request.headers['authorization']}", request=request)


def entry() -> JournalEntryRequest:
    lines = (
        JournalEntryLine(posting_type=PostingType.DEBIT, account_id="1", account_name="A", amount=Decimal("1.00")),
        JournalEntryLine(posting_type=PostingType.CREDIT, account_id="2", account_name="B", amount=Decimal("1.00")),
    )
    return JournalEntryRequest(doc_number="D1", txn_date=date(2026, 3, 31), private_note=None, lines=lines)


@pytest.fixture(autouse=True)
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert leaks(caplog.text) == []
    for record in caplog.records:
        assert leaks(record.getMessage()) == []


def api(handler: Callable[[httpx.Request], httpx.Response]) -> QboClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return QboClient(
        http=http,
        api_base="https://qbo.test",
        realm_id=REALM,
        tokens=Tokens(),
        max_retries=1,
        backoff=Backoff(base=0),
        sleep=lambda s: None,
    )


@pytest.mark.parametrize("server", list(SERVERS), ids=list(SERVERS))
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.company_info(),
        lambda c: c.create_journal_entry(entry(), request_id="r1"),
        lambda c: c.delete_journal_entry("1", "0"),
        lambda c: list(c.accounts(name_prefix="x")),
    ],
    ids=["read", "write-with-requestid", "plain-write", "query"],
)
def test_api_errors_never_carry_tokens(server: str, call: Callable[[QboClient], object]) -> None:
    with pytest.raises(QboError) as caught:
        call(api(SERVERS[server]))
    assert_clean(caught.value)


def test_batch_item_faults_never_carry_tokens() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].split(" ", 1)[1]
        item_fault = {"Message": f"bad {token}", "Detail": f"Token expired: {token[:12]}", "code": "6000", "element": token}
        return json_response(
            200, {"BatchItemResponse": [{"bId": "b1", "Fault": {"type": "ValidationFault", "Error": [item_fault]}}]}
        )

    (result,) = api(handler).batch([BatchItem.create_journal_entry("b1", entry())], request_id="r")
    assert result.error is not None
    assert_clean(result.error)


@pytest.mark.parametrize("call", [lambda c: c.company_info(), lambda c: c.create_journal_entry(entry(), request_id="r1")])
def test_transport_errors_never_carry_tokens(call: Callable[[QboClient], object]) -> None:
    with pytest.raises(QboError) as caught:
        call(api(timeout_with_secret))
    assert_clean(caught.value)


# -- OAuth ----------------------------------------------------------------------------------------------------


def oauth(handler: Callable[[httpx.Request], httpx.Response]) -> IntuitOAuth:
    return IntuitOAuth(
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        endpoints=IntuitEndpoints.for_environment(
            "sandbox", authorize_url="https://i.test/a", token_url="https://i.test/t", revoke_url="https://i.test/r"
        ),
        client_id="client-id",
        client_secret=SECRET,
        redirect_uri="https://app.test/cb",
        clock=ManualClock(datetime(2026, 4, 1, tzinfo=UTC)),
    )


OAUTH_SERVERS = {
    "invalid-grant": echoing(400, "application/json", '{"error": "invalid_grant", "error_description": "{s} / {p}"}'),
    "invalid-client": echoing(401, "application/json", '{"error": "invalid_client", "error_description": "{s}"}'),
    "other-error": echoing(400, "application/json", '{"error": "invalid_request", "error_description": "{s}"}'),
    "html-500": echoing(500, "text/html", HTML),
    "xml-429": echoing(429, "application/xml", XML),
    "200-garbage": echoing(200, "text/plain", "{s}"),
    "timeout": timeout_with_secret,
}


@pytest.mark.parametrize("server", list(OAUTH_SERVERS), ids=list(OAUTH_SERVERS))
@pytest.mark.parametrize(
    "call",
    [lambda o: o.refresh(REFRESH), lambda o: o.exchange_code(CODE, "1"), lambda o: o.revoke(REFRESH)],
    ids=["refresh", "exchange", "revoke"],
)
def test_oauth_errors_never_carry_tokens(server: str, call: Callable[[IntuitOAuth], object]) -> None:
    try:
        call(oauth(OAUTH_SERVERS[server]))
    except QboError as error:
        assert_clean(error)
    else:
        assert server == "200-garbage"  # revoke treats any 200 as done


def test_oauth_success_logs_and_objects_never_show_tokens() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, {"access_token": FRESH, "refresh_token": REFRESH, "expires_in": 3600})

    tokens = oauth(handler).refresh(REFRESH)
    assert isinstance(tokens, TokenSet)
    assert leaks(repr(tokens)) == [] and leaks(str(tokens)) == [] and leaks(f"{tokens!r}") == []
    assert leaks(repr(oauth(handler))) == []


def test_callback_objects_never_show_the_code() -> None:
    result = parse_callback({"code": CODE, "state": "st", "realmId": "1"})
    assert leaks(repr(result)) == [] and leaks(str(result)) == []
    with pytest.raises(QboError) as caught:
        parse_callback({"error": "access_denied", "error_description": f"denied {CODE}", "code": CODE, "state": "st"})
    assert_clean(caught.value)
    with pytest.raises(QboError) as caught:
        parse_callback({"error": f"bad{CODE}", "state": "st"})
    assert_clean(caught.value)

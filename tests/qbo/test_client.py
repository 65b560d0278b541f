from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from deferredrev.qbo.client import Backoff, QboClient
from deferredrev.qbo.errors import (
    QboAuthError,
    QboBusinessValidationError,
    QboClosedPeriodError,
    QboDuplicateDocNumberError,
    QboError,
    QboInactiveAccountError,
    QboNotFoundError,
    QboServerError,
    QboThrottledError,
    QboTransportError,
)
from deferredrev.qbo.models import BatchItem, JournalEntryLine, JournalEntryRequest, PostingType
from tests.qbo.fakes import (
    REALM,
    CommitThenFail,
    FakeQbo,
    FakeTokens,
    auth_fault,
    fault,
    json_response,
    make_account,
    server_error,
    throttled,
)


def je(
    doc: str = "REVREC-2026-03", when: date = date(2026, 3, 31), debit: str = "92", credit: str = "79"
) -> JournalEntryRequest:
    return JournalEntryRequest(
        doc_number=doc,
        txn_date=when,
        private_note="March recognition",
        lines=(
            JournalEntryLine(
                posting_type=PostingType.DEBIT, account_id=debit, account_name="Deferred Revenue", amount=Decimal("1250.00")
            ),
            JournalEntryLine(
                posting_type=PostingType.CREDIT, account_id=credit, account_name="Services", amount=Decimal("1250.00")
            ),
        ),
    )


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def qbo() -> FakeQbo:
    fake = FakeQbo()
    fake.accounts = [
        make_account(92, name="Deferred Revenue", account_type="Other Current Liability"),
        make_account(79, name="Services"),
        make_account(80, name="Old Revenue", active=False),
    ]
    return fake


@pytest.fixture
def http(qbo: FakeQbo) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(qbo)) as client:
        yield client


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(http: httpx.Client, tokens: FakeTokens, sleeps: Sleeps, **kwargs: object) -> QboClient:
    options: dict[str, object] = {"backoff": Backoff(base=1.0, cap=8.0, throttle_delay=60.0), "rand": lambda: 1.0}
    options.update(kwargs)
    return QboClient(http=http, api_base="https://qbo.test", realm_id=REALM, tokens=tokens, sleep=sleeps, **options)  # type: ignore[arg-type]


@pytest.fixture
def client(http: httpx.Client, tokens: FakeTokens, sleeps: Sleeps) -> QboClient:
    return make_client(http, tokens, sleeps)


# -- request shape -------------------------------------------------------------------------------------------


def test_every_request_carries_minorversion_accept_and_bearer(client: QboClient, qbo: FakeQbo) -> None:
    info = client.company_info()
    assert info.company_name == "Sandbox Co" and info.realm_id == REALM
    (sent,) = qbo.requests
    assert sent.method == "GET"
    assert sent.url.path == f"/v3/company/{REALM}/companyinfo/{REALM}"
    assert dict(sent.url.params) == {"minorversion": "75"}
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["authorization"] == "Bearer access-1"


def test_api_base_with_v3_suffix_is_accepted(http: httpx.Client, tokens: FakeTokens, sleeps: Sleeps, qbo: FakeQbo) -> None:
    client = QboClient(http=http, api_base="https://qbo.test/v3/", realm_id=REALM, tokens=tokens, sleep=sleeps)
    client.preferences()
    assert qbo.requests[0].url.path == f"/v3/company/{REALM}/preferences"


def test_preferences(client: QboClient) -> None:
    prefs = client.preferences()
    assert prefs.book_close_date == date(2025, 12, 31)
    assert prefs.warn_duplicate_doc_number
    assert prefs.home_currency == "USD"


def test_query_is_posted_as_application_text(client: QboClient, qbo: FakeQbo) -> None:
    response = client.query("SELECT count(*) FROM Account WHERE Active = true")
    assert response == {"totalCount": 2}
    sent = qbo.requests[0]
    assert (sent.method, sent.url.path, sent.headers["content-type"]) == (
        "POST",
        f"/v3/company/{REALM}/query",
        "application/text",
    )
    assert sent.content == b"SELECT count(*) FROM Account WHERE Active = true"
    assert "SELECT" not in str(sent.url)


def test_create_journal_entry(client: QboClient, qbo: FakeQbo) -> None:
    entry = client.create_journal_entry(je(), request_id="8f8c1a0e-posting-1")
    sent = qbo.requests[0]
    assert sent.url.path == f"/v3/company/{REALM}/journalentry"
    assert dict(sent.url.params) == {"minorversion": "75", "requestid": "8f8c1a0e-posting-1"}
    assert sent.headers["content-type"] == "application/json"
    assert b'"Amount":1250.00' in sent.content
    assert entry.id == "100" and entry.sync_token == "0" and entry.total == Decimal("1250.00")
    assert entry.doc_number == "REVREC-2026-03"
    assert client.journal_entry("100") == entry
    assert client.find_journal_entries("REVREC-2026-03") == [entry]
    assert client.find_journal_entries("nope") == []


def test_delete_journal_entry(client: QboClient, qbo: FakeQbo) -> None:
    entry = client.create_journal_entry(je(), request_id="r1")
    client.delete_journal_entry(entry.id, entry.sync_token)
    sent = qbo.requests[-1]
    assert dict(sent.url.params) == {"minorversion": "75", "operation": "delete"}
    assert json.loads(sent.content) == {"Id": entry.id, "SyncToken": "0"}
    with pytest.raises(QboNotFoundError):
        client.journal_entry(entry.id)


def test_request_id_validation(client: QboClient) -> None:
    with pytest.raises(ValueError):
        client.create_journal_entry(je(), request_id="")
    with pytest.raises(ValueError):
        client.create_journal_entry(je(), request_id="x" * 51)


# -- typed errors with context --------------------------------------------------------------------------------


def test_closed_period_names_the_date(client: QboClient) -> None:
    with pytest.raises(QboClosedPeriodError) as caught:
        client.create_journal_entry(je(when=date(2025, 12, 31)), request_id="r1")
    assert caught.value.user_message.startswith("The books are closed for 2025-12-31")


def test_inactive_account_names_the_accounts(client: QboClient) -> None:
    with pytest.raises(QboInactiveAccountError) as caught:
        client.create_journal_entry(je(credit="80"), request_id="r1")
    assert "Deferred Revenue, Services" in caught.value.user_message
    assert "/deferredrev mappings" in caught.value.user_message


def test_duplicate_doc_number(client: QboClient) -> None:
    client.create_journal_entry(je(), request_id="r1")
    with pytest.raises(QboDuplicateDocNumberError):
        client.create_journal_entry(je(), request_id="r2")


def test_account_not_found_on_read(client: QboClient) -> None:
    assert client.account("92").name == "Deferred Revenue"
    with pytest.raises(QboNotFoundError):
        client.account("12345")


def test_200_with_fault_is_an_error(client: QboClient, qbo: FakeQbo) -> None:
    qbo.script.append(fault(200, "6000", "A business validation error has occurred"))
    with pytest.raises(QboBusinessValidationError):
        client.company_info()
    qbo.script.append(httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(QboError, match="not a JSON object"):
        client.company_info()


# -- pagination -----------------------------------------------------------------------------------------------


def test_accounts_pages_until_a_short_page(client: QboClient, qbo: FakeQbo) -> None:
    qbo.accounts = [make_account(i) for i in range(1, 2501)]
    accounts = list(client.accounts())
    assert [a.id for a in accounts] == [str(i) for i in range(1, 2501)]
    starts = [int(str(r.content).split("STARTPOSITION ")[1].split()[0]) for r in qbo.requests]
    assert starts == [1, 1001, 2001]
    assert all(b"MAXRESULTS 1000" in r.content for r in qbo.requests)


def test_accounts_exact_multiple_needs_one_empty_page(client: QboClient, qbo: FakeQbo) -> None:
    qbo.accounts = [make_account(i) for i in range(1, 7)]
    assert len(list(client.accounts(page_size=3))) == 6
    assert len(qbo.requests) == 3


def test_accounts_filters_and_prefix_with_percent(client: QboClient, qbo: FakeQbo) -> None:
    qbo.accounts = [
        make_account(1, name="100% Recurring"),
        make_account(2, name="100 Other"),
        make_account(3, name="Deferred", account_type="Other Current Liability"),
        make_account(4, name="100% gone", active=False),
    ]
    assert [a.id for a in client.accounts(name_prefix="100% r")] == ["1"]
    assert b"Name LIKE '100%'" in qbo.requests[-1].content
    assert [a.id for a in client.accounts(types=["Other Current Liability"])] == ["3"]
    assert [a.id for a in client.accounts(name_prefix="100%", active_only=False)] == ["1", "4"]
    assert b"Active IN (true, false)" in qbo.requests[-1].content


# -- retry policy ---------------------------------------------------------------------------------------------


def test_401_refreshes_once_and_retries(client: QboClient, qbo: FakeQbo, tokens: FakeTokens) -> None:
    qbo.valid_tokens = {"access-2"}
    entry = client.create_journal_entry(je(), request_id="r1")
    assert entry.id == "100"
    assert tokens.rejected == ["access-1"]
    assert [r.headers["authorization"] for r in qbo.requests] == ["Bearer access-1", "Bearer access-2"]
    assert [r.url.params["requestid"] for r in qbo.requests] == ["r1", "r1"]


def test_401_retry_applies_to_plain_writes_too(client: QboClient, qbo: FakeQbo, tokens: FakeTokens) -> None:
    entry = client.create_journal_entry(je(), request_id="r1")
    qbo.valid_tokens = {"access-2"}
    client.delete_journal_entry(entry.id, entry.sync_token)
    assert tokens.rejected == ["access-1"]
    assert qbo.entries == {}


def test_second_401_raises_auth_error(client: QboClient, qbo: FakeQbo, tokens: FakeTokens, sleeps: Sleeps) -> None:
    qbo.valid_tokens = set()
    with pytest.raises(QboAuthError) as caught:
        client.company_info()
    assert caught.value.code == "3200"
    assert tokens.rejected == ["access-1"]
    assert len(qbo.requests) == 2
    assert sleeps == []


def test_refresh_failure_propagates(client: QboClient, qbo: FakeQbo, tokens: FakeTokens) -> None:
    tokens.fresh = []
    qbo.valid_tokens = set()
    with pytest.raises(IndexError):
        client.company_info()


@pytest.mark.parametrize(
    "failure",
    [
        server_error,
        lambda: throttled(xml=True),
        lambda: httpx.Response(503, content=b"<html>down</html>"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
    ],
    ids=["500", "429-xml", "503-html", "read-timeout", "reset"],
)
def test_reads_are_retried(client: QboClient, qbo: FakeQbo, sleeps: Sleeps, failure: object) -> None:
    for _ in range(2):
        qbo.script.append(failure() if callable(failure) else failure)  # type: ignore[arg-type]
    assert client.company_info().company_name == "Sandbox Co"
    assert len(qbo.requests) == 3
    assert len(sleeps) == 2


def test_backoff_is_exponential_with_full_jitter_and_bounded(
    qbo: FakeQbo, http: httpx.Client, tokens: FakeTokens, sleeps: Sleeps
) -> None:
    client = make_client(http, tokens, sleeps, backoff=Backoff(base=1.0, cap=5.0), rand=lambda: 1.0)
    qbo.script.extend(server_error() for _ in range(10))
    with pytest.raises(QboServerError):
        client.company_info()
    assert len(qbo.requests) == 5  # 1 + max_retries (4)
    assert sleeps == [1.0, 2.0, 4.0, 5.0]
    jittered = Sleeps()
    client = make_client(http, tokens, jittered, backoff=Backoff(base=1.0, cap=5.0), rand=lambda: 0.5, max_retries=2)
    qbo.script.extend(server_error() for _ in range(3))
    with pytest.raises(QboServerError):
        client.company_info()
    assert jittered == [0.5, 1.0]


def test_throttle_waits_the_configured_delay(
    client: QboClient, qbo: FakeQbo, sleeps: Sleeps, http: httpx.Client, tokens: FakeTokens
) -> None:
    qbo.script.append(throttled())
    client.company_info()
    assert sleeps == [75.0]  # 60 s plus up to 25 % jitter (rand = 1.0)
    scaled = Sleeps()
    make_client(
        http, tokens, scaled, backoff=Backoff(throttle_delay=1.0, throttle_jitter=0), rand=lambda: 0.3
    ).company_info()
    qbo.script.append(throttled())
    make_client(
        http, tokens, scaled, backoff=Backoff(throttle_delay=1.0, throttle_jitter=0), rand=lambda: 0.3
    ).company_info()
    assert scaled == [1.0]


def test_retry_after_is_honoured(client: QboClient, qbo: FakeQbo, sleeps: Sleeps) -> None:
    qbo.script.append(throttled(headers={"Retry-After": "7"}))
    qbo.script.append(
        json_response(503, {}, **{"Retry-After": "Wed, 01 Apr 2026 09:00:03 GMT", "Date": "Wed, 01 Apr 2026 09:00:00 GMT"})
    )
    client.company_info()
    assert sleeps == [7.0, 3.0]


@pytest.mark.parametrize(
    ("retry_after", "date", "expected"),
    [
        ("Wed, 01 Apr 2026 09:00:04 -0000", "Wed, 01 Apr 2026 09:00:00 GMT", 4.0),  # -0000: no zone, taken as UTC
        ("Wed, 01 Apr 2026 09:00:04 GMT", "Wed, 01 Apr 2026 09:00:00 -0000", 4.0),
        ("Wed, 01 Apr 2026 11:00:04 +0200", "Wed, 01 Apr 2026 09:00:00 GMT", 4.0),
        ("Wed, 01 Apr 2026 08:59:00 GMT", "Wed, 01 Apr 2026 09:00:00 GMT", 0.0),  # already past: go now
    ],
)
def test_retry_after_dates_in_any_zone(
    client: QboClient, qbo: FakeQbo, sleeps: Sleeps, retry_after: str, date: str, expected: float
) -> None:
    qbo.script.append(json_response(503, {}, **{"Retry-After": retry_after, "Date": date}))
    client.company_info()
    assert sleeps == [expected]


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "Wed, 01 Apr 2026 09:00:04 GMT"},  # no Date to measure it against
        {"Retry-After": "soon", "Date": "Wed, 01 Apr 2026 09:00:00 GMT"},
        {"Retry-After": "Wed, 01 Apr 2026 09:00:04 GMT", "Date": "yesterday"},
        {"Retry-After": "Fri, 31 Dec 9999 23:00:00 -1200", "Date": "Wed, 01 Apr 2026 09:00:00 GMT"},  # past year 9999
        {"Retry-After": "nan"},
        {"Retry-After": "inf"},
    ],
)
def test_unusable_retry_after_falls_back_to_the_default_delay(
    http: httpx.Client, tokens: FakeTokens, qbo: FakeQbo, headers: dict[str, str]
) -> None:
    sleeps = Sleeps()
    client = make_client(http, tokens, sleeps, backoff=Backoff(throttle_delay=1.0, throttle_jitter=0), rand=lambda: 0.3)
    qbo.script.append(throttled(headers=headers))
    client.company_info()
    assert sleeps == [1.0]


def test_too_long_retry_after_raises_instead_of_sleeping(client: QboClient, qbo: FakeQbo, sleeps: Sleeps) -> None:
    qbo.script.append(throttled(headers={"Retry-After": "3600"}))
    with pytest.raises(QboThrottledError) as caught:
        client.company_info()
    assert caught.value.retry_after == 3600.0
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [server_error, throttled, lambda: httpx.ReadTimeout("slow")],
    ids=["500", "429", "timeout"],
)
def test_plain_writes_are_never_retried(client: QboClient, qbo: FakeQbo, sleeps: Sleeps, failure: object) -> None:
    entry = client.create_journal_entry(je(), request_id="r1")
    qbo.script.append(failure())  # type: ignore[operator]
    with pytest.raises(QboError) as caught:
        client.delete_journal_entry(entry.id, entry.sync_token)
    assert len(qbo.requests) == 2
    assert sleeps == []
    assert caught.value.retryable
    if not isinstance(caught.value, QboThrottledError):
        assert caught.value.outcome_unknown


def test_connect_error_on_plain_write_is_not_outcome_unknown(client: QboClient, qbo: FakeQbo) -> None:
    qbo.script.append(httpx.ConnectError("refused"))
    with pytest.raises(QboTransportError) as caught:
        client.delete_journal_entry("1", "0")
    assert not caught.value.outcome_unknown


def test_write_with_request_id_committed_then_failed_is_retried_without_duplicate(
    client: QboClient, qbo: FakeQbo, sleeps: Sleeps
) -> None:
    qbo.script.append(CommitThenFail(httpx.ReadTimeout("lost the answer")))
    qbo.script.append(CommitThenFail(server_error()))
    entry = client.create_journal_entry(je(), request_id="posting-42")
    assert len(qbo.entries) == 1
    assert entry.id == "100"
    assert len(qbo.requests) == 3
    assert len(sleeps) == 2


def test_write_with_request_id_gives_up_after_bounded_attempts(client: QboClient, qbo: FakeQbo, sleeps: Sleeps) -> None:
    qbo.script.extend(httpx.ReadTimeout("slow") for _ in range(10))
    with pytest.raises(QboTransportError) as caught:
        client.create_journal_entry(je(), request_id="r1")
    assert caught.value.outcome_unknown
    assert len(qbo.requests) == 5
    assert len(sleeps) == 4


def test_non_retryable_errors_are_not_retried(client: QboClient, qbo: FakeQbo, sleeps: Sleeps) -> None:
    with pytest.raises(QboClosedPeriodError):
        client.create_journal_entry(je(when=date(2025, 1, 1)), request_id="r1")
    assert len(qbo.requests) == 1 and sleeps == []


def test_401_then_throttle_then_success(client: QboClient, qbo: FakeQbo, tokens: FakeTokens, sleeps: Sleeps) -> None:
    qbo.valid_tokens = {"access-1", "access-2"}
    qbo.script.extend([auth_fault(), throttled(), server_error()])
    assert client.company_info().company_name == "Sandbox Co"
    assert tokens.rejected == ["access-1"]
    assert len(sleeps) == 2


# -- batch ----------------------------------------------------------------------------------------------------


def test_batch_returns_results_in_item_order_with_per_item_errors(client: QboClient, qbo: FakeQbo) -> None:
    items = [
        BatchItem.create_journal_entry("je1", je("D1")),
        BatchItem.create_journal_entry("je2", je("D2", when=date(2025, 6, 30))),
        BatchItem.create_journal_entry("je3", je("D3", credit="80")),
        BatchItem.select("q1", "SELECT * FROM Account WHERE Active = true"),
    ]
    results = client.batch(items, request_id="batch-1")
    assert [r.bid for r in results] == ["je1", "je2", "je3", "q1"]
    assert results[0].ok and results[0].journal_entry is not None and results[0].journal_entry.doc_number == "D1"
    assert isinstance(results[1].error, QboClosedPeriodError)
    assert "2025-06-30" in results[1].error.user_message
    assert isinstance(results[2].error, QboInactiveAccountError)
    assert results[3].query_response is not None and len(results[3].query_response["Account"]) == 2
    sent = qbo.requests[0]
    assert sent.url.path == f"/v3/company/{REALM}/batch"
    assert sent.url.params["requestid"] == "batch-1"


def test_batch_limits(client: QboClient) -> None:
    with pytest.raises(ValueError, match="1 to 30"):
        client.batch([BatchItem.select(f"q{i}", "SELECT * FROM Account") for i in range(31)], request_id="b")
    with pytest.raises(ValueError):
        client.batch([], request_id="b")
    with pytest.raises(ValueError, match="unique"):
        client.batch([BatchItem.select("q", "x"), BatchItem.select("q", "y")], request_id="b")
    with pytest.raises(ValueError):
        client.batch([BatchItem.select("q", "x")], request_id="x" * 37)
    with pytest.raises(ValueError, match="10 characters"):
        client.batch([BatchItem.select("q" * 11, "x")], request_id="b")


def test_batch_missing_item_result(client: QboClient, qbo: FakeQbo) -> None:
    qbo.script.append(json_response(200, {"BatchItemResponse": [], "time": "t"}))
    (result,) = client.batch([BatchItem.create_journal_entry("je1", je())], request_id="b")
    assert result.error is not None and result.error.outcome_unknown


def test_a_batch_items_server_fault_leaves_its_create_in_doubt_but_not_a_validation_fault(
    client: QboClient, qbo: FakeQbo
) -> None:
    def fault(bid: str, code: str, kind: str) -> dict[str, Any]:
        return {"bId": bid, "Fault": {"type": kind, "Error": [{"Message": "m", "Detail": "d", "code": code}]}}

    body = {"BatchItemResponse": [fault("je1", "10000", "SystemFault"), fault("je2", "6000", "ValidationFault")]}
    qbo.script.append(json_response(200, {**body, "time": "t"}))
    server, validation = client.batch(
        [BatchItem.create_journal_entry("je1", je("D1")), BatchItem.create_journal_entry("je2", je("D2"))],
        request_id="b",
    )
    assert isinstance(server.error, QboServerError) and server.error.outcome_unknown
    assert validation.error is not None and not validation.error.outcome_unknown


def test_batch_is_retried_with_its_request_id(client: QboClient, qbo: FakeQbo, sleeps: Sleeps) -> None:
    qbo.script.append(CommitThenFail(httpx.ReadTimeout("lost")))
    (result,) = client.batch([BatchItem.create_journal_entry("je1", je())], request_id="b1")
    assert result.ok
    assert len(qbo.entries) == 1


# -- logging --------------------------------------------------------------------------------------------------


def test_logs_entity_status_tid_but_no_data(client: QboClient, qbo: FakeQbo, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    qbo.script.append(server_error())
    client.create_journal_entry(je(doc="SECRETDOC"), request_id="r1")
    client.query("SELECT * FROM Account WHERE Name = 'Confidential Customer'")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("deferredrev")]
    assert any("qbo POST journalentry -> 500" in m and "intuit_tid=" in m for m in messages)
    assert any("retrying in" in m for m in messages)
    assert any("qbo POST query -> 200" in m for m in messages)
    assert "Confidential" not in caplog.text
    assert "SECRETDOC" not in caplog.text
    assert "1250" not in caplog.text


def test_constructor_validates(http: httpx.Client, tokens: FakeTokens) -> None:
    with pytest.raises(ValueError):
        QboClient(http=http, api_base="https://x", realm_id="../1", tokens=tokens)
    with pytest.raises(ValueError):
        QboClient(http=http, api_base="https://x", realm_id="1", tokens=tokens, max_retries=-1)
    with pytest.raises(ValueError):
        Backoff(base=-1)

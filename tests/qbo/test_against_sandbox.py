"""The qbo client against the sandbox Intuit over real HTTP on loopback: OAuth, paging, faults, retries, throttling."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from deferredrev.clock import ManualClock
from deferredrev.qbo import query as q
from deferredrev.qbo.client import Backoff, QboClient
from deferredrev.qbo.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    QboAuthError,
    QboBusinessValidationError,
    QboClosedPeriodError,
    QboDuplicateDocNumberError,
    QboInactiveAccountError,
    QboNotFoundError,
    QboQueryError,
    QboServerError,
    QboStaleObjectError,
    QboThrottledError,
    QboTransportError,
)
from deferredrev.qbo.models import BatchItem, JournalEntryLine, JournalEntryRequest, PostingType, TokenSet
from deferredrev.qbo.oauth import ACCOUNTING_SCOPE, IntuitEndpoints, IntuitOAuth, parse_callback
from deferredrev.sandbox.intuit import (
    BIG_REALM,
    CLOSED_REALM,
    US_REALM,
    AutoConsent,
    Fault,
    IntuitSandbox,
    RateLimits,
    SandboxConfig,
)

REDIRECT = "http://127.0.0.1:3000/qbo/callback"
START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
FAST = Backoff(base=0.01, cap=0.05, throttle_delay=0.05, throttle_jitter=0.5)

SandboxFactory = Callable[..., IntuitSandbox]


@pytest.fixture
def make_sandbox() -> Iterator[SandboxFactory]:
    started: list[IntuitSandbox] = []

    def make(realm: str = US_REALM, **config: object) -> IntuitSandbox:
        options: dict[str, object] = {"redirect_uris": (REDIRECT,), "auto_consent": AutoConsent(realm_id=realm)}
        options.update(config)
        sandbox = IntuitSandbox(SandboxConfig(**options), clock=ManualClock(START)).start()  # type: ignore[arg-type]
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def oauth_for(sb: IntuitSandbox, http: httpx.Client, *, secret: str | None = None) -> IntuitOAuth:
    return IntuitOAuth(
        http=http,
        endpoints=IntuitEndpoints.for_environment(
            "sandbox", authorize_url=sb.authorize_url, token_url=sb.token_url, revoke_url=sb.revoke_url, api_base=sb.api_url
        ),
        client_id=sb.client_id,
        client_secret=secret or sb.client_secret,
        redirect_uri=REDIRECT,
        clock=sb.clock,
    )


def authorize(sb: IntuitSandbox, http: httpx.Client, oauth: IntuitOAuth, state: str = "state-0123456789") -> dict[str, str]:
    """The browser's part: follow Intuit's consent (auto-approved) back to our redirect URI; its query string."""
    url = oauth.authorization_url(state)
    assert dict(parse_qsl(urlsplit(url).query))["scope"] == ACCOUNTING_SCOPE
    response = http.get(url, follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return dict(parse_qsl(urlsplit(location).query))


def connect(sb: IntuitSandbox, http: httpx.Client) -> tuple[IntuitOAuth, TokenSet]:
    oauth = oauth_for(sb, http)
    callback = parse_callback(authorize(sb, http, oauth))
    assert callback.state == "state-0123456789"
    return oauth, oauth.exchange_code(callback.code, callback.realm_id)


class SandboxTokens:
    """A TokenSource like services/ will write: refresh under a lock, keep whatever refresh token comes back."""

    def __init__(self, oauth: IntuitOAuth, tokens: TokenSet) -> None:
        self.oauth = oauth
        self.tokens = tokens
        self.refreshes = 0
        self._lock = threading.Lock()

    def access_token(self) -> str:
        return self.tokens.access_token

    def refresh_access_token(self, rejected: str) -> str:
        with self._lock:
            if self.tokens.access_token == rejected:
                self.tokens = self.oauth.refresh(self.tokens.refresh_token)
                self.refreshes += 1
            return self.tokens.access_token


def client_for(
    sb: IntuitSandbox, http: httpx.Client, *, backoff: Backoff = FAST, max_retries: int = 4
) -> tuple[QboClient, SandboxTokens]:
    oauth, tokens = connect(sb, http)
    assert tokens.realm_id is not None
    source = SandboxTokens(oauth, tokens)
    client = QboClient(
        http=http, api_base=sb.api_url, realm_id=tokens.realm_id, tokens=source, backoff=backoff, max_retries=max_retries
    )
    return client, source


def account_id(client: QboClient, name: str) -> str:
    matches = [a for a in client.accounts(name_prefix=name, active_only=False) if a.name == name]
    assert len(matches) == 1, name
    return matches[0].id


def entry(
    doc: str, debit: str, credit: str, *, when: date = date(2026, 3, 31), amount: str = "1250.00"
) -> JournalEntryRequest:
    lines = (
        JournalEntryLine(
            posting_type=PostingType.DEBIT, account_id=debit, account_name=None, amount=Decimal(amount), description=doc
        ),
        JournalEntryLine(
            posting_type=PostingType.CREDIT, account_id=credit, account_name=None, amount=Decimal(amount), description=doc
        ),
    )
    return JournalEntryRequest(doc_number=doc, txn_date=when, private_note=f"posting {doc}", lines=lines)


def deferred_and_services(client: QboClient) -> tuple[str, str]:
    return account_id(client, "Deferred Revenue"), account_id(client, "Services")


# -- OAuth --------------------------------------------------------------------------------------------------------


def test_oauth_dance_then_company_and_preferences(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, source = client_for(sb, http)
    tokens = source.tokens
    assert tokens.realm_id == US_REALM
    assert tokens.access_expires_at == START + timedelta(hours=1)
    assert tokens.refresh_expires_at is not None and tokens.refresh_expires_at > START + timedelta(days=99)
    assert tokens.hard_expires_at is not None and tokens.hard_expires_at > START + timedelta(days=4 * 365)
    info = client.company_info()
    assert (info.realm_id, info.company_name, info.country) == (US_REALM, "Sandbox Company_US_1", "USA")
    prefs = client.preferences()
    assert prefs.warn_duplicate_doc_number and prefs.book_close_date is None and prefs.home_currency == "USD"
    assert all(
        "minorversion" in r.query and r.query["minorversion"] == "75" for r in sb.requests if r.path.startswith("/v3/")
    )


def test_code_is_single_use(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    oauth = oauth_for(sb, http)
    callback = parse_callback(authorize(sb, http, oauth))
    oauth.exchange_code(callback.code, callback.realm_id)
    with pytest.raises(InvalidGrantError):
        oauth.exchange_code(callback.code, callback.realm_id)


def test_non_admin_gets_access_denied(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox(auto_consent=AutoConsent(realm_id=US_REALM, decision="non_admin"))
    with pytest.raises(AccessDeniedError) as caught:
        parse_callback(authorize(sb, http, oauth_for(sb, http), state="st-1"))
    assert caught.value.state == "st-1"


def test_wrong_client_secret(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    oauth = oauth_for(sb, http, secret="not-the-secret")
    callback = parse_callback(authorize(sb, http, oauth))
    with pytest.raises(InvalidClientError):
        oauth.exchange_code(callback.code, callback.realm_id)


def test_refresh_rotates_and_the_old_token_dies_after_the_grace(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox(rotate_refresh_token_after=timedelta(0))
    oauth, first = connect(sb, http)
    sb.clock.advance(timedelta(hours=2))
    second = oauth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.access_expires_at == START + timedelta(hours=3)
    assert second.hard_expires_at is not None
    sb.clock.advance(timedelta(hours=25))
    with pytest.raises(InvalidGrantError):
        oauth.refresh(first.refresh_token)
    third = oauth.refresh(second.refresh_token)  # the latest one still works
    assert third.access_token != second.access_token


def test_expired_access_token_is_refreshed_once_and_the_call_retried(
    make_sandbox: SandboxFactory, http: httpx.Client
) -> None:
    sb = make_sandbox()
    client, source = client_for(sb, http)
    sb.clock.advance(timedelta(hours=2))
    assert client.company_info().company_name == "Sandbox Company_US_1"
    assert source.refreshes == 1
    assert sb.requests.count(path_contains="/companyinfo/", status=401) == 1
    assert sb.token_endpoint_calls == ["authorization_code", "refresh_token"]


def test_revoke_disconnects(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, source = client_for(sb, http)
    source.oauth.revoke(source.tokens.refresh_token)
    with pytest.raises(InvalidGrantError):
        source.oauth.refresh(source.tokens.refresh_token)
    with pytest.raises((QboAuthError, InvalidGrantError)):
        client.company_info()


def test_persistent_401_raises_auth_error(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, source = client_for(sb, http)
    sb.inject(Fault.http_status(401, path="/companyinfo/", times=2))
    with pytest.raises(QboAuthError) as caught:
        client.company_info()
    assert caught.value.code == "3200"
    assert "reconnect" in caught.value.user_message
    assert source.refreshes == 1
    sb.inject(Fault.http_status(401, xml=True, path="/preferences", times=2))
    with pytest.raises(QboAuthError) as caught:
        client.preferences()
    assert caught.value.code == "100"


# -- reading ----------------------------------------------------------------------------------------------------


def test_pagination_over_two_thousand_accounts(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox(realm=BIG_REALM)
    client, _ = client_for(sb, http)
    sb.requests.clear()
    accounts = list(client.accounts())
    total = client.query(q.count_accounts())["totalCount"]
    assert total > 2000
    assert len(accounts) == total == len({a.id for a in accounts})
    assert sb.requests.count(path_contains="/query") == total // 1000 + 2  # pages + the count
    some = accounts[len(accounts) // 2]
    prefix = some.name[: len(some.name) // 2]
    found = list(client.accounts(name_prefix=prefix))
    assert some in found
    assert all(a.name.lower().startswith(prefix.lower()) for a in found)
    assert client.account(some.id) == some


def test_names_with_quotes_and_percent_are_searched_safely(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, _ = client_for(sb, http)
    names = [a.name for a in client.accounts()]
    with_quote = next(n for n in names if "'" in n)
    assert [a.name for a in client.accounts(name_prefix=with_quote)] == [with_quote]
    assert list(client.accounts(name_prefix="zz%' OR Name LIKE '")) == []
    assert list(client.accounts(name_prefix="\\")) == []


def test_inactive_accounts_are_hidden_unless_asked(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox(realm=CLOSED_REALM)
    client, _ = client_for(sb, http)
    active = {a.id for a in client.accounts(types=["Income"])}
    every = list(client.accounts(types=["Income"], active_only=False))
    inactive = [a for a in every if not a.active]
    assert inactive and not {a.id for a in inactive} & active
    assert all(a.account_type == "Income" and a.classification == "Revenue" for a in every)


# -- faults mapped to typed errors --------------------------------------------------------------------------------


def test_closed_period(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox(realm=CLOSED_REALM)
    client, _ = client_for(sb, http)
    debit, credit = deferred_and_services(client)
    with pytest.raises(QboClosedPeriodError) as caught:
        client.create_journal_entry(entry("CLOSED-1", debit, credit, when=date(2025, 12, 31)), request_id="closed-1")
    assert caught.value.code == "6210"
    assert caught.value.user_message.startswith("The books are closed for 2025-12-31")
    assert client.preferences().book_close_date == date(2025, 12, 31)
    assert sb.journal_entries(CLOSED_REALM) == []


def test_inactive_and_missing_accounts(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox(realm=CLOSED_REALM)
    client, _ = client_for(sb, http)
    debit, credit = deferred_and_services(client)
    inactive = next(a for a in client.accounts(types=["Income"], active_only=False) if not a.active)
    with pytest.raises(QboInactiveAccountError) as caught:
        client.create_journal_entry(entry("INACT-1", debit, inactive.id), request_id="inact-1")
    assert caught.value.code in ("610", "2500")
    assert "/deferredrev mappings" in caught.value.user_message
    with pytest.raises(QboInactiveAccountError) as caught:
        client.create_journal_entry(entry("MISSING-1", debit, "987654"), request_id="missing-1")
    assert caught.value.code in ("610", "2500")
    sb.deactivate_account(CLOSED_REALM, credit)
    with pytest.raises(QboInactiveAccountError):
        client.create_journal_entry(entry("INACT-2", debit, credit), request_id="inact-2")


def test_duplicate_doc_number_stale_object_not_found(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, _ = client_for(sb, http)
    debit, credit = deferred_and_services(client)
    created = client.create_journal_entry(entry("REVREC-2026-03", debit, credit), request_id="dup-1")
    assert created.total == Decimal("1250.00")
    assert client.find_journal_entries("REVREC-2026-03") == [client.journal_entry(created.id)]
    with pytest.raises(QboDuplicateDocNumberError) as dup:
        client.create_journal_entry(entry("REVREC-2026-03", debit, credit), request_id="dup-2")
    assert dup.value.code == "6140"
    with pytest.raises(QboStaleObjectError):
        client.delete_journal_entry(created.id, str(int(created.sync_token) + 5))
    client.delete_journal_entry(created.id, created.sync_token)
    with pytest.raises(QboNotFoundError):
        client.journal_entry(created.id)
    assert client.find_journal_entries("REVREC-2026-03") == []


def test_business_validation_and_query_errors(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, _ = client_for(sb, http)
    receivable = account_id(client, "Accounts Receivable (A/R)")
    services = account_id(client, "Services")
    with pytest.raises(QboBusinessValidationError) as caught:
        client.create_journal_entry(entry("AR-1", receivable, services), request_id="ar-1")  # A/R needs a customer
    assert caught.value.code == "6000"
    with pytest.raises(QboQueryError):
        client.query("SELECT * FROM Account WHERE NoSuchProperty = 'x'")
    with pytest.raises(QboQueryError):
        client.query("SELEKT everything")


@pytest.mark.parametrize("xml", [False, True], ids=["json", "xml"])
def test_throttled_write_without_retries(make_sandbox: SandboxFactory, http: httpx.Client, xml: bool) -> None:
    sb = make_sandbox()
    client, _ = client_for(sb, http)
    debit, credit = deferred_and_services(client)
    sb.inject(Fault.http_status(429, xml=xml, path="/journalentry"))
    created = client.create_journal_entry(entry("T-1", debit, credit), request_id="t-1")  # retried: has a requestid
    sb.inject(Fault.http_status(429, xml=xml, path="/journalentry"))
    with pytest.raises(QboThrottledError) as caught:
        client.delete_journal_entry(created.id, created.sync_token)  # a plain write: never retried
    assert caught.value.code == "3001"
    assert caught.value.retryable and not caught.value.outcome_unknown
    assert len(sb.journal_entries(US_REALM)) == 1


def test_html_503_is_retried_for_reads(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, _ = client_for(sb, http)
    page = "<!DOCTYPE html><html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    sb.inject(Fault.http_status(503, body=page, path="/preferences", times=2))
    assert client.preferences().home_currency == "USD"
    sb.inject(Fault.http_status(503, body=page, path="/preferences", times=10))
    with pytest.raises(QboServerError):
        client.preferences()


# -- retries never duplicate writes -------------------------------------------------------------------------------


@pytest.mark.parametrize("then", ["reset", "500"])
def test_commit_then_fail_with_request_id_creates_exactly_one_entry(
    make_sandbox: SandboxFactory, http: httpx.Client, then: str
) -> None:
    sb = make_sandbox()
    client, _ = client_for(sb, http)
    debit, credit = deferred_and_services(client)
    sb.inject(Fault.commit_then_fail(then, path="/journalentry", method="POST"))  # type: ignore[arg-type]
    sb.inject(Fault.connection_reset(path="/journalentry", method="POST"))
    created = client.create_journal_entry(entry("ONCE-1", debit, credit), request_id="posting-once-1")
    entries = sb.journal_entries(US_REALM)
    assert [e["Id"] for e in entries] == [created.id]
    assert sb.requests.count(method="POST", path_contains="/journalentry") == 3


def test_commit_then_reset_on_a_plain_write_is_outcome_unknown(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox()
    client, _ = client_for(sb, http)
    debit, credit = deferred_and_services(client)
    created = client.create_journal_entry(entry("DEL-1", debit, credit), request_id="del-1")
    sb.inject(Fault.commit_then_fail("reset", path="/journalentry", method="POST"))
    with pytest.raises(QboTransportError) as caught:
        client.delete_journal_entry(created.id, created.sync_token)
    assert caught.value.outcome_unknown
    assert "can't yet tell" in caught.value.user_message
    assert sb.journal_entries(US_REALM) == []  # it did happen: only a lookup can tell
    assert sb.requests.count(method="POST", path_contains="/journalentry") == 2


def test_batch_with_per_item_faults(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    sb = make_sandbox(realm=CLOSED_REALM)
    client, _ = client_for(sb, http)
    debit, credit = deferred_and_services(client)
    sb.inject(Fault.commit_then_fail("reset", path="/batch"))
    results = client.batch(
        [
            BatchItem.create_journal_entry("ok", entry("B-1", debit, credit)),
            BatchItem.create_journal_entry("closed", entry("B-2", debit, credit, when=date(2025, 6, 30))),
            BatchItem.select("find", q.select_journal_entry_by_doc_number("B-1")),
        ],
        request_id="batch-0001",
    )
    assert [r.bid for r in results] == ["ok", "closed", "find"]
    assert results[0].journal_entry is not None and results[0].journal_entry.doc_number == "B-1"
    assert isinstance(results[1].error, QboClosedPeriodError)
    assert "2025-06-30" in results[1].error.user_message
    assert results[2].query_response is not None
    assert [e["DocNumber"] for e in sb.journal_entries(CLOSED_REALM)] == ["B-1"]


def test_throttled_burst_completes_without_loss_or_duplicates(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    # time_scale=60: a "minute" is one real second, so Intuit's "wait 60 s" is ~1 s here.
    limits = RateLimits(per_minute=20, per_second=10, in_flight=10, time_scale=60)
    sb = make_sandbox(rate_limits=limits)
    client, _ = client_for(
        sb, http, backoff=Backoff(base=0.05, cap=0.5, throttle_delay=1.0, throttle_jitter=0.5), max_retries=12
    )
    debit, credit = deferred_and_services(client)

    def post(n: int) -> str:
        return client.create_journal_entry(entry(f"BURST-{n:03d}", debit, credit), request_id=f"burst-{n:03d}").id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(post, range(60)))
    entries = sb.journal_entries(US_REALM)
    assert len(entries) == 60 == len(set(ids))
    assert sorted(e["DocNumber"] for e in entries) == [f"BURST-{n:03d}" for n in range(60)]
    assert sb.requests.count(path_contains="/journalentry", status=429) > 0

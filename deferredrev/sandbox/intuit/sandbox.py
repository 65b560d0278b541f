"""``IntuitSandbox``: the state, the request pipeline (faults → route → log) and the test-facing helpers."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, NamedTuple

import httpx

from deferredrev.clock import ManualClock, SystemClock
from deferredrev.sandbox.intuit import attachments, journal, ledger, routes_admin, routes_api, routes_oauth
from deferredrev.sandbox.intuit.company import Company, Preferences
from deferredrev.sandbox.intuit.config import AutoConsent, SandboxConfig
from deferredrev.sandbox.intuit.faults import Fault, FaultQueue
from deferredrev.sandbox.intuit.httpserver import HttpServerThread
from deferredrev.sandbox.intuit.idempotency import IdempotencyStore
from deferredrev.sandbox.intuit.idtoken import IdTokenSigner
from deferredrev.sandbox.intuit.oauth import OAuthState
from deferredrev.sandbox.intuit.ratelimit import RateLimiter
from deferredrev.sandbox.intuit.seed import SEED_CREATED, US_CHART, seed_companies
from deferredrev.sandbox.intuit.wire import (
    Request,
    Reset,
    Response,
    auth_fault_response,
    dumps,
    forbidden_response,
    json_response,
    new_intuit_tid,
    oauth_error,
    server_error_response,
    throttle_response,
)

logger = logging.getLogger(__name__)
_API = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<rest>.+)$")
_FILES = re.compile(r"^/attachments/(?P<realm>[^/]+)/(?P<token>[^/]+)$")
_DISCOVERY = {f"/.well-known/openid{sep}{kind}configuration" for sep in ("_", "-") for kind in ("sandbox_", "sandbox-", "")}
SECRET_PARAMS = frozenset({"code", "token", "refresh_token", "access_token", "client_secret", "id_token"})
ChartRow = tuple[str, str, str, str | None, int]


class RequestRecord(NamedTuple):
    """One request as seen by the sandbox; ``status`` 0 means the connection was dropped. No token values."""

    method: str
    path: str
    query: dict[str, str]
    status: int


class RequestLog:
    """Thread-safe, append-only log of requests (admin calls excluded)."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def count(self, *, method: str | None = None, path_contains: str = "", status: int | None = None) -> int:
        return sum(
            1
            for r in self.snapshot()
            if (method is None or r.method == method) and path_contains in r.path and (status is None or r.status == status)
        )

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def _sanitise(query: dict[str, list[str]]) -> dict[str, str]:
    return {key: "[redacted]" if key.lower() in SECRET_PARAMS else values[0] for key, values in query.items()}


class IntuitSandbox:
    """A local Intuit (OAuth 2.0 + QuickBooks Online Accounting API) on 127.0.0.1. See the package docstring."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        clock: ManualClock | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock or ManualClock(SystemClock().now())
        self.lock = threading.RLock()
        self.companies: dict[str, Company] = {}
        if self.config.seed:
            self.companies = {company.realm_id: company for company in seed_companies(self.clock.now())}
        self.signer = IdTokenSigner()
        self.oauth = OAuthState(self.config, self.signer)
        self.limiter = RateLimiter(self.config.rate_limits)
        self.idempotency = IdempotencyStore(self.config.requestid_conflict, self.config.requestid_retention)
        self.faults = FaultQueue()
        self.auto_consent: AutoConsent | None = self.config.auto_consent
        self.requests = RequestLog()
        self._token_calls: list[str] = []
        self._host = host or self.config.host
        self._port = self.config.port if port is None else port
        self._server: HttpServerThread | None = None

    # Lifecycle ---------------------------------------------------------------------------------------------------

    def _bind(self) -> HttpServerThread:
        if self._server is not None:
            raise RuntimeError("the sandbox is already started")
        self._server = HttpServerThread(self._host, self._port, self.dispatch)
        return self._server

    def start(self) -> IntuitSandbox:
        """Bind (port 0 = a free port) and serve on a background thread."""
        self._bind().start()
        return self

    def serve_forever(self) -> None:
        """Bind and serve on the calling thread until interrupted."""
        self._bind().serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> IntuitSandbox:
        return self if self._server is not None else self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # URLs --------------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start() the sandbox first")
        host, port = self._server.address
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid_sandbox_configuration"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/connect/oauth2"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/v1/tokens/bearer"

    @property
    def revoke_url(self) -> str:
        return f"{self.url}/v2/oauth2/tokens/revoke"

    @property
    def userinfo_url(self) -> str:
        return f"{self.url}/v1/openid_connect/userinfo"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/op/v1/jwks"

    @property
    def issuer(self) -> str:
        return f"{self.url}/op/v1"

    # Clients and consent -----------------------------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    def register_redirect_uri(self, uri: str, client_id: str | None = None) -> None:
        self.oauth.register_redirect_uri(uri, client_id)

    def add_client(self, client_id: str, client_secret: str, redirect_uris: Sequence[str] = ()) -> None:
        """Register another app (rate limits for batches are per realm *and* app)."""
        self.oauth.register_client(client_id, client_secret, tuple(redirect_uris))

    # Companies ---------------------------------------------------------------------------------------------------

    def add_company(
        self,
        name: str,
        *,
        realm_id: str | None = None,
        chart: Sequence[ChartRow] = US_CHART,
        book_close_date: date | None = None,
        multicurrency: bool = False,
        home_currency: str = "USD",
        warn_duplicate_doc_number: bool = True,
        country: str = "USA",
    ) -> Company:
        """Add a company (the standard US chart unless ``chart`` says otherwise); returns it for more accounts."""
        prefs = Preferences(
            book_close_date=book_close_date,
            multicurrency=multicurrency,
            home_currency=home_currency,
            warn_duplicate_doc_number=warn_duplicate_doc_number,
        )
        with self.lock:
            realm = realm_id or str(max((int(r) for r in self.companies if r.isdigit()), default=9341452999999999) + 1)
            if realm in self.companies:
                raise ValueError(f"realm {realm} already exists")
            company = Company(realm_id=realm, name=name, preferences=prefs, created=SEED_CREATED, country=country)
            for qualified, account_type, sub_type, parent, balance in chart:
                company.add_account(qualified.rsplit(":", 1)[-1], account_type, sub_type, parent=parent, balance=balance)
            self.companies[realm] = company
            return company

    def set_book_close_date(self, realm_id: str, when: date | None) -> None:
        with self.lock:
            self.companies[realm_id].preferences.book_close_date = when
            self.companies[realm_id].preferences.sync_token += 1

    def set_preferences(
        self,
        realm_id: str,
        *,
        warn_duplicate_doc_number: bool | None = None,
        multicurrency: bool | None = None,
        book_close_date: str | None = None,
    ) -> None:
        with self.lock:
            prefs = self.companies[realm_id].preferences
            if warn_duplicate_doc_number is not None:
                prefs.warn_duplicate_doc_number = warn_duplicate_doc_number
            if multicurrency is not None:
                prefs.multicurrency = multicurrency
            if book_close_date is not None:
                prefs.book_close_date = date.fromisoformat(book_close_date) if book_close_date else None
            prefs.sync_token += 1

    def deactivate_account(self, realm_id: str, account_id: str) -> None:
        with self.lock:
            account = self.companies[realm_id].accounts[account_id]
            account.active = False
            account.sync_token += 1

    def delete_journal_entry(self, realm_id: str, entry_id: str) -> None:
        """Delete a journal entry as a person would in QuickBooks (the closed-books rule applies as configured)."""
        with self.lock:
            company = self.companies[realm_id]
            current = journal.read(company, entry_id)
            journal.delete(company, self.config, {"Id": entry_id, "SyncToken": current["SyncToken"]})

    def journal_entries(self, realm_id: str) -> list[dict[str, Any]]:
        """What reached "QBO" for a realm (live entries, as JSON-compatible dicts)."""
        with self.lock:
            entries = self.companies[realm_id].live_journal_entries()
            result: list[dict[str, Any]] = json.loads(dumps(entries))
            return result

    def post_journal_entry(self, realm_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A journal entry a person enters in QuickBooks (a manual adjustment, say), with the API's validation."""
        with self.lock:
            company = self.companies[realm_id]
            created = journal.create(company, self.config, payload, self.clock.now(), journal.WriteOptions())
            result: dict[str, Any] = json.loads(dumps(created))
            return result

    def book_invoice(
        self,
        realm_id: str,
        *,
        customer: str,
        amount: Decimal | str | int,
        txn_date: date,
        account_id: str,
        doc_number: str | None = None,
        memo: str | None = None,
    ) -> dict[str, Any]:
        """An invoice a person books (a negative ``amount``: a credit memo), its item booking to ``account_id`` (say,
        Deferred Revenue) against Accounts Receivable. Only its postings are kept (the ledger and the reports see it)."""
        with self.lock:
            company = self.companies[realm_id]
            booked = ledger.book_sales_document(
                company, customer=customer, amount=Decimal(str(amount)), txn_date=txn_date, account_id=account_id,
                now=self.clock.now(), doc_number=doc_number, memo=memo,
            )  # fmt: skip
            result: dict[str, Any] = json.loads(dumps(booked))
            return result

    def balance(self, realm_id: str, account_id: str, as_of: date) -> Decimal:
        """An account's own balance at the end of ``as_of`` (natural sign, home currency): what the reports show."""
        with self.lock:
            return ledger.balances(self.companies[realm_id], as_of, [account_id])[account_id]

    def attachables(self, realm_id: str) -> list[dict[str, Any]]:
        """Every Attachable of a realm (as JSON-compatible dicts), oldest first."""
        with self.lock:
            result: list[dict[str, Any]] = json.loads(dumps(list(self.companies[realm_id].attachables.values())))
            return result

    def attachment_content(self, realm_id: str, attachable_id: str) -> bytes:
        with self.lock:
            stored: attachments.StoredFile = self.companies[realm_id].attachment_files[attachable_id]
            return stored.content

    def download_url(self, company: Company, attachable_id: str, now: datetime) -> str:
        """A short-lived URL for an attachment's file (QboFault 610 when it has no file)."""
        token = attachments.issue_download(company, attachable_id, now)
        return f"{self.url}/attachments/{company.realm_id}/{token}"

    def _download(self, realm_id: str, token: str) -> Response:
        with self.lock:
            company = self.companies.get(realm_id)
            stored = attachments.redeem_download(company, token, self.clock.now()) if company is not None else None
        if stored is None:
            return Response(status=403, body=b"AccessDenied: the link expired or is not valid", content_type="text/plain")
        return Response(status=200, body=stored.content, content_type=stored.content_type)

    def rows(self, company: Company, entity: str) -> list[dict[str, Any]]:
        """Rendered entities for the query engine."""
        if entity == "Attachable":
            return list(company.attachables.values())
        if entity == "Account":
            return company.accounts_json(mark_inactive=self.config.mark_inactive_names)
        if entity == "JournalEntry":
            return company.live_journal_entries()
        if entity == "CompanyInfo":
            return [company.company_info_json()]
        return [company.preferences.to_json()]

    def companies_summary(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {"realm_id": c.realm_id, "name": c.name, "accounts": len(c.accounts), "preferences": c.preferences.to_json()}
                for c in self.companies.values()
            ]

    def state(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "now": self.clock.now().isoformat(),
            "realms": {realm: company.name for realm, company in self.companies.items()},
            "connections": [{"client_id": c, "realm_id": r} for c, r in self.oauth.active_connections()],
        }

    # Disconnect and faults -----------------------------------------------------------------------------------------

    def disconnect_from_quickbooks(self, realm_id: str) -> int | None:
        """The user disconnects the app from the QuickBooks side: every token for the realm dies.

        If ``config.disconnect_url`` is set it is then fetched with ``?realmId=...`` (the parameters Intuit appends
        are unconfirmed); returns that response's status, or None when there is no URL or the call failed.
        """
        self.oauth.revoke_realm(realm_id)
        if self.config.disconnect_url is None:
            return None
        try:
            return httpx.get(self.config.disconnect_url, params={"realmId": realm_id}, timeout=5).status_code
        except httpx.HTTPError as error:
            logger.warning("disconnect URL call failed: %s", type(error).__name__)
            return None

    def inject(self, fault: Fault) -> Fault:
        self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def token_endpoint_calls(self) -> list[str]:
        """The grant_type of every token-endpoint call, in order (failed calls included)."""
        with self.lock:
            return list(self._token_calls)

    def record_token_call(self, grant_type: str) -> None:
        with self.lock:
            self._token_calls.append(grant_type)

    # Request pipeline ----------------------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            response = routes_admin.handle(self, request)
        else:
            try:
                response = self._faulted(request)
            except Reset:
                self.requests.append(RequestRecord(request.method, request.path, _sanitise(request.query), 0))
                raise
            except Exception:  # the server boundary: a sandbox bug becomes a logged 500, not a silent drop
                logger.exception("sandbox failed on %s %s", request.method, request.path)
                response = server_error_response(500, self.clock.now())
            self.requests.append(RequestRecord(request.method, request.path, _sanitise(request.query), response.status))
        response.headers["intuit_tid"] = new_intuit_tid()
        return response

    def _faulted(self, request: Request) -> Response:
        fault = self.faults.take(request.method, request.path)
        if fault is None:
            return self._route(request)
        delay = fault.seconds
        if fault.kind in ("status", "reset") or not _API.match(request.path):
            time.sleep(delay)
            delay = 0.0
        if fault.kind == "reset":
            raise Reset
        if fault.kind == "status":
            return self._fault_response(fault, request)
        if fault.kind == "commit_then_hang":
            response = self._route(request)
            time.sleep(delay)
            return response
        response = self._route(request, delay)
        if fault.kind == "commit_then_reset":
            raise Reset
        if fault.kind == "commit_then_500":
            return server_error_response(500, self.clock.now())
        return response

    def _fault_response(self, fault: Fault, request: Request) -> Response:
        now = self.clock.now()
        if fault.body is not None:
            return Response(status=fault.status, body=fault.body.encode(), content_type=fault.content_type)
        if not request.path.startswith("/v3/"):
            errors = {401: "invalid_client", 400: "invalid_request", 429: "temporarily_unavailable"}
            return oauth_error(fault.status, errors.get(fault.status, "server_error"))
        if fault.status == 401:
            return auth_fault_response("Token expired (injected fault)", now, xml=fault.xml)
        if fault.status == 403:
            return forbidden_response("The app is not authorized for this company (injected fault)", now)
        if fault.status == 429:
            return throttle_response(now, xml=fault.xml)
        return server_error_response(fault.status, now)

    def _route(self, request: Request, delay: float = 0.0) -> Response:
        path, method = request.path, request.method
        match = _API.match(path)
        if match is not None:
            return routes_api.handle(self, request, match["realm"], match["rest"], delay=delay)
        files = _FILES.match(path)
        if files is not None and method == "GET":
            return self._download(files["realm"], files["token"])
        if path.rstrip("/") in _DISCOVERY and method == "GET":
            return routes_oauth.discovery(self)
        if path == "/connect/oauth2" and method == "GET":
            return routes_oauth.authorize(self, request)
        if path == "/connect/oauth2/consent" and method == "POST":
            return routes_oauth.consent(self, request)
        if path == "/oauth2/v1/tokens/bearer":
            return routes_oauth.token(self, request)
        if path == "/v2/oauth2/tokens/revoke" and method == "POST":
            return routes_oauth.revoke(self, request)
        if path == "/v1/openid_connect/userinfo" and method == "GET":
            return routes_oauth.userinfo(self, request)
        if path == "/op/v1/jwks" and method == "GET":
            return routes_oauth.jwks(self)
        return json_response(404, {"error": "not_found", "path": path})

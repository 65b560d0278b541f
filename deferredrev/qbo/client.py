"""The QuickBooks Online Accounting API over an injected ``httpx.Client``.

Every call goes through :meth:`QboClient._request`, which pins ``minorversion``, asks for JSON, adds the
``requestid`` when there is one, authenticates with the bearer token from a :class:`TokenSource`, and applies
one retry policy:

- **401**: ask the token source for a fresh access token once (passing the rejected one), then retry once. A 401
  is refused before anything is done, so this holds for every call, writes included, and keeps the same
  ``requestid``.
- **429, 5xx, timeouts and broken connections**: retried — at most ``max_retries`` times — only when repeating is
  safe: reads (GET, queries) and writes carrying a ``requestid`` (QuickBooks replays the first answer instead of
  acting twice). Waits follow ``Retry-After`` when Intuit sends it; otherwise a 429 waits
  ``Backoff.throttle_delay`` (Intuit asks for 60 s) plus jitter, and anything else waits with exponential backoff
  and full jitter. A wait longer than ``Backoff.max_wait`` is not taken: the error is raised instead.
- **Everything else** raises the typed error from :mod:`deferredrev.qbo.errors`. A write without a ``requestid``
  is never repeated automatically; when its outcome is unknown the error says so (``outcome_unknown``).

Logs carry the operation, entity, status, ``intuit_tid`` and duration — never tokens, query text or QuickBooks
data (Intuit's security requirements forbid logging customer data).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote as url_quote

import httpx

from deferredrev.qbo import query as q
from deferredrev.qbo.attachments import Attachable, AttachmentUpload, boundary_for, multipart_body
from deferredrev.qbo.errors import (
    QboClosedPeriodError,
    QboError,
    QboInactiveAccountError,
    QboThrottledError,
    QboTransportError,
    batch_fault_status,
    error_from_entries,
    fault_entries,
    fault_to_error,
    request_never_sent,
)
from deferredrev.qbo.models import (
    Account,
    BatchItem,
    BatchResult,
    CompanyInfo,
    JournalEntry,
    JournalEntryRequest,
    Preferences,
    dumps,
)

__all__ = ["MAX_BATCH_ITEMS", "MINOR_VERSION", "Backoff", "QboClient", "TokenSource"]

logger = logging.getLogger(__name__)

MINOR_VERSION = 75
MAX_BATCH_ITEMS = 30
MAX_REQUEST_ID = 50
MAX_BATCH_REQUEST_ID = 36
MAX_BATCH_BID_WITH_REQUEST_ID = 10
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class TokenSource(Protocol):
    """Where the client gets access tokens. Implementations persist rotated tokens under a per-company lock."""

    def access_token(self) -> str:
        """The current access token."""
        ...

    def refresh_access_token(self, rejected: str) -> str:
        """A fresh access token after ``rejected`` got a 401. If another caller already refreshed (the stored token
        differs from ``rejected``), return the stored one instead of refreshing again."""
        ...


@dataclass(frozen=True)
class Backoff:
    """Waiting between attempts, in seconds.

    ``base``/``cap``: exponential backoff with full jitter for 5xx and lost connections (the n-th retry waits a
    random time up to ``min(cap, base * 2**(n-1))``). ``throttle_delay``: a 429 without ``Retry-After`` waits this
    long plus up to ``throttle_jitter`` of it (Intuit asks for 60 s; a time-scaled sandbox wants less).
    ``max_wait``: a longer required wait (e.g. a large ``Retry-After``) is not taken; the error is raised.
    """

    base: float = 0.5
    cap: float = 30.0
    throttle_delay: float = 60.0
    throttle_jitter: float = 0.25
    max_wait: float = 120.0

    def __post_init__(self) -> None:
        if min(self.base, self.cap, self.throttle_delay, self.throttle_jitter, self.max_wait) < 0:
            raise ValueError("backoff values must not be negative")

    def delay(self, retry: int, rand: float) -> float:
        """The wait before retry number ``retry`` (1-based) of a failure other than throttling."""
        return rand * min(self.cap, self.base * 2.0 ** (retry - 1))

    def throttled(self, rand: float) -> float:
        """The wait after a 429 that did not say how long to wait."""
        return self.throttle_delay * (1 + self.throttle_jitter * rand)


class QboClient:
    """One QuickBooks company (realm), over an injected ``httpx.Client``. Thread-safe; does no I/O when built."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        api_base: str,
        realm_id: str,
        tokens: TokenSource,
        minor_version: int = MINOR_VERSION,
        max_retries: int = 4,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen, so sharing the default is harmless
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        if not realm_id or not realm_id.isalnum():
            raise ValueError("realm_id must be a QuickBooks company id")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self._http = http
        self._base = f"{api_base.rstrip('/').removesuffix('/v3')}/v3/company/{realm_id}"
        self._realm_id = realm_id
        self._tokens = tokens
        self._minor_version = str(minor_version)
        self._max_retries = max_retries
        self._backoff = backoff
        self._sleep = sleep
        self._rand = rand
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"QboClient(realm_id={self._realm_id!r}, base={self._base!r})"

    @property
    def realm_id(self) -> str:
        return self._realm_id

    # -- company ----------------------------------------------------------------------------------------------

    def company_info(self) -> CompanyInfo:
        data = self._request("GET", f"companyinfo/{self._realm_id}", entity="companyinfo", read=True)
        return CompanyInfo.from_api(_object(data, "CompanyInfo"), realm_id=self._realm_id)

    def preferences(self) -> Preferences:
        data = self._request("GET", "preferences", entity="preferences", read=True)
        return Preferences.from_api(_object(data, "Preferences"))

    # -- queries and accounts ---------------------------------------------------------------------------------

    def query(self, sql: str) -> dict[str, Any]:
        """Run a query; returns the ``QueryResponse`` object (``{}`` when nothing matched). Build ``sql`` with
        :mod:`deferredrev.qbo.query` so every value is escaped."""
        data = self._request(
            "POST", "query", entity="query", read=True, body=sql.encode("utf-8"), content_type="application/text"
        )
        response = data.get("QueryResponse", {})
        return dict(response) if isinstance(response, Mapping) else {}

    def accounts(
        self,
        *,
        types: Sequence[str] | None = None,
        name_prefix: str | None = None,
        active_only: bool = True,
        page_size: int = q.MAX_RESULTS,
    ) -> Iterator[Account]:
        """Every matching account, fetched a page at a time until a short page. Names are matched by prefix
        case-insensitively; a ``%`` in ``name_prefix`` is matched literally (see :mod:`deferredrev.qbo.query`)."""
        start = 1
        while True:
            sql = q.select_accounts(
                types=types,
                name_prefix=name_prefix,
                active=True if active_only else None,
                start=start,
                max_results=page_size,
            )
            rows = self.query(sql).get("Account") or []
            for row in rows:
                account = Account.from_api(row)
                if q.matches_prefix(account.name, name_prefix):
                    yield account
            if len(rows) < page_size:
                return
            start += len(rows)

    def account(self, account_id: str) -> Account:
        data = self._request("GET", f"account/{_path_id(account_id)}", entity="account", read=True)
        return Account.from_api(_object(data, "Account"))

    # -- journal entries --------------------------------------------------------------------------------------

    def create_journal_entry(self, request: JournalEntryRequest, *, request_id: str) -> JournalEntry:
        """Create a journal entry. ``request_id`` (≤ 50 chars, e.g. a UUID persisted before the first attempt)
        makes retries safe: QuickBooks answers a repeat with the original response."""
        _check_request_id(request_id, MAX_REQUEST_ID)
        try:
            data = self._request(
                "POST",
                "journalentry",
                entity="journalentry",
                read=False,
                body=dumps(request.to_api()),
                content_type="application/json",
                request_id=request_id,
            )
        except QboError as error:
            _enrich(error, request)
            raise
        return JournalEntry.from_api(_object(data, "JournalEntry"))

    def journal_entry(self, entry_id: str) -> JournalEntry:
        data = self._request("GET", f"journalentry/{_path_id(entry_id)}", entity="journalentry", read=True)
        return JournalEntry.from_api(_object(data, "JournalEntry"))

    def find_journal_entries(self, doc_number: str) -> list[JournalEntry]:
        """Journal entries whose DocNumber is ``doc_number`` (usually zero or one)."""
        rows = self.query(q.select_journal_entry_by_doc_number(doc_number)).get("JournalEntry") or []
        return [JournalEntry.from_api(row) for row in rows]

    def delete_journal_entry(self, entry_id: str, sync_token: str, *, request_id: str | None = None) -> None:
        """Delete a journal entry. Without ``request_id`` a failure is never retried automatically."""
        if request_id is not None:
            _check_request_id(request_id, MAX_REQUEST_ID)
        self._request(
            "POST",
            "journalentry",
            entity="journalentry",
            read=False,
            params={"operation": "delete"},
            body=dumps({"Id": entry_id, "SyncToken": sync_token}),
            content_type="application/json",
            request_id=request_id,
        )

    # -- attachments and reports -------------------------------------------------------------------------------

    def upload_attachment(self, upload: AttachmentUpload, *, request_id: str) -> Attachable:
        """Upload one file linked to its transaction (``POST /upload``, reference §10.1). ``request_id`` makes a
        repeat safe (the body is the same bytes for the same id); a refusal of the file raises its typed error."""
        _check_request_id(request_id, MAX_REQUEST_ID)
        boundary = boundary_for(request_id)
        used_tokens: list[str] = []
        data = self._request(
            "POST",
            "upload",
            entity="upload",
            read=False,
            body=multipart_body(upload, boundary),
            content_type=f"multipart/form-data; boundary={boundary}",
            request_id=request_id,
            used_tokens=used_tokens,
        )
        items = data.get("AttachableResponse")
        first = items[0] if isinstance(items, list) and items and isinstance(items[0], Mapping) else None
        if first is None:
            raise QboError("QuickBooks answered the upload without an AttachableResponse", outcome_unknown=True)
        entries = fault_entries(first)
        if entries:
            raise error_from_entries(batch_fault_status(entries[0]), entries, None, secrets=used_tokens)
        return Attachable.from_api(_object(first, "Attachable"))

    def attachables_for(self, entity_type: str, entity_id: str) -> list[Attachable]:
        """The attachments linked to one transaction."""
        rows = self.query(q.select_attachables_for(entity_type, entity_id)).get("Attachable") or []
        return [Attachable.from_api(row) for row in rows if isinstance(row, Mapping)]

    def attachable(self, attachable_id: str) -> Attachable:
        data = self._request("GET", f"attachable/{_path_id(attachable_id)}", entity="attachable", read=True)
        return Attachable.from_api(_object(data, "Attachable"))

    def report(self, name: str, params: Mapping[str, str]) -> dict[str, Any]:
        """A report (``GET /reports/{name}``: BalanceSheet, GeneralLedger, ...) as QuickBooks returns it; parse it
        with :mod:`deferredrev.qbo.reports`."""
        if not name.isalnum():
            raise ValueError(f"not a report name: {name!r}")
        return self._request("GET", f"reports/{name}", entity="reports", read=True, params=params)

    # -- batch ------------------------------------------------------------------------------------------------

    def batch(self, items: Sequence[BatchItem], *, request_id: str) -> list[BatchResult]:
        """Run up to 30 items in one request. Results come back in the order of ``items``; an item's fault is
        its result's ``error`` (a typed :class:`QboError`), not raised. Faults of the whole request are raised."""
        if not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_ITEMS} items")
        _check_request_id(request_id, MAX_BATCH_REQUEST_ID)
        bids = [item.bid for item in items]
        if len(set(bids)) != len(bids):
            raise ValueError("batch item bIds must be unique")
        if any(len(bid) > MAX_BATCH_BID_WITH_REQUEST_ID for bid in bids):
            raise ValueError(f"with a requestid, batch bIds must be at most {MAX_BATCH_BID_WITH_REQUEST_ID} characters")
        used_tokens: list[str] = []
        data = self._request(
            "POST",
            "batch",
            entity="batch",
            read=False,
            body=dumps({"BatchItemRequest": [item.to_api() for item in items]}),
            content_type="application/json",
            request_id=request_id,
            used_tokens=used_tokens,
        )
        responses = data.get("BatchItemResponse")
        by_bid = {str(r.get("bId")): r for r in (responses if isinstance(responses, list) else []) if isinstance(r, Mapping)}
        return [self._batch_result(item, by_bid.get(item.bid), used_tokens) for item in items]

    def _batch_result(self, item: BatchItem, response: Mapping[str, Any] | None, secrets: Sequence[str]) -> BatchResult:
        if response is None:
            return BatchResult(
                bid=item.bid,
                error=QboError(
                    f"QuickBooks returned no result for batch item {item.bid}",
                    outcome_unknown=item.journal_entry is not None,
                ),
            )
        if "Fault" in response:
            entries = fault_entries(response)
            first = entries[0] if entries else None
            status = batch_fault_status(first)
            # An Intuit-side failure of a create may or may not have created the entry: looked up before any resend.
            error = error_from_entries(
                status, entries, None, read=item.query is not None, outcome_unknown=item.journal_entry is not None,
                secrets=secrets,
            )  # fmt: skip
            if item.journal_entry is not None:
                _enrich(error, item.journal_entry)
            return BatchResult(bid=item.bid, error=error)
        if item.journal_entry is not None and isinstance(response.get("JournalEntry"), Mapping):
            return BatchResult(bid=item.bid, journal_entry=JournalEntry.from_api(response["JournalEntry"]))
        if item.query is not None and isinstance(response.get("QueryResponse"), Mapping):
            return BatchResult(bid=item.bid, query_response=dict(response["QueryResponse"]))
        return BatchResult(bid=item.bid, error=QboError(f"Unexpected result for batch item {item.bid}"))

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        entity: str,
        read: bool,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        request_id: str | None = None,
        used_tokens: list[str] | None = None,
    ) -> dict[str, Any]:
        """Send one logical request (with the retries the module docstring describes); the parsed JSON body.

        ``used_tokens``, when given, receives the access tokens sent (so callers can scrub them from texts)."""
        query_params = {"minorversion": self._minor_version, **(params or {})}
        if request_id is not None:
            query_params["requestid"] = request_id
        safe = read or request_id is not None
        url = f"{self._base}/{path}"
        token = self._tokens.access_token()
        used_tokens = used_tokens if used_tokens is not None else []
        used_tokens.append(token)
        refreshed = False
        retries = 0
        while True:
            headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
            if content_type is not None:
                headers["Content-Type"] = content_type
            started = time.monotonic()
            try:
                response = self._http.request(
                    method, url, params=query_params, content=body, headers=headers, timeout=self._timeout
                )
            except httpx.TransportError as exc:
                elapsed = (time.monotonic() - started) * 1000
                logger.warning("qbo %s %s failed after %.0f ms: %s", method, entity, elapsed, type(exc).__name__)
                error: QboError = QboTransportError(
                    f"QuickBooks {method} {entity} failed: {type(exc).__name__}: {exc}",
                    outcome_unknown=not read and not request_never_sent(exc),
                    secrets=used_tokens,
                )
                if safe and retries < self._max_retries:
                    retries += 1
                    self._wait(self._backoff.delay(retries, self._rand()), method, entity, error)
                    continue
                raise error from None

            status = response.status_code
            tid = response.headers.get("intuit_tid")
            logger.info(
                "qbo %s %s -> %s in %.0f ms intuit_tid=%s",
                method,
                entity,
                status,
                (time.monotonic() - started) * 1000,
                tid or "-",
            )
            if 200 <= status < 300:
                return self._parse_success(response, read=read, secrets=used_tokens)
            if status == 401 and not refreshed:
                refreshed = True
                token = self._tokens.refresh_access_token(token)
                used_tokens.append(token)
                continue
            retry_after = _retry_after(response)
            error = fault_to_error(
                status,
                response.content,
                response.headers.get("content-type"),
                tid,
                read=read,
                retry_after=retry_after,
                outcome_unknown=not read and status >= 500,
                secrets=used_tokens,
            )
            if error.retryable and safe and retries < self._max_retries:
                if retry_after is not None:
                    wait = retry_after
                elif isinstance(error, QboThrottledError):
                    wait = self._backoff.throttled(self._rand())
                else:
                    wait = self._backoff.delay(retries + 1, self._rand())
                if wait <= self._backoff.max_wait:
                    retries += 1
                    self._wait(wait, method, entity, error)
                    continue
            raise error

    def _wait(self, seconds: float, method: str, entity: str, error: QboError) -> None:
        logger.warning(
            "qbo %s %s: %s (status=%s code=%s intuit_tid=%s); retrying in %.2f s",
            method,
            entity,
            type(error).__name__,
            error.status or "-",
            error.code or "-",
            error.intuit_tid or "-",
            seconds,
        )
        self._sleep(seconds)

    def _parse_success(self, response: httpx.Response, *, read: bool, secrets: Sequence[str]) -> dict[str, Any]:
        tid = response.headers.get("intuit_tid")
        try:
            data = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise QboError(
                f"QuickBooks answered HTTP {response.status_code} with a body that is not a JSON object",
                status=response.status_code,
                intuit_tid=tid,
            )
        entries = fault_entries(data)
        if entries:
            status = batch_fault_status(entries[0])
            raise error_from_entries(status, entries, tid, read=read, secrets=secrets)
        return data


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise QboError(f"QuickBooks response has no {key} object")
    return value


def _path_id(value: str) -> str:
    if not value:
        raise ValueError("an id is required")
    return url_quote(value, safe="")


def _check_request_id(request_id: str, limit: int) -> None:
    if not request_id or len(request_id) > limit:
        raise ValueError(f"requestid must be 1 to {limit} characters")


def _enrich(error: QboError, request: JournalEntryRequest) -> None:
    """Give errors about an entry what they need to explain themselves (the date, the accounts)."""
    if isinstance(error, QboClosedPeriodError) and error.txn_date is None:
        error.txn_date = request.txn_date
    if isinstance(error, QboInactiveAccountError) and not error.accounts:
        names: list[str] = []
        for line in request.lines:
            name = line.account_name or line.account_id
            if name not in names:
                names.append(name)
        error.accounts = tuple(names)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait per ``Retry-After`` (delta-seconds, or an HTTP date measured against the ``Date`` header).

    ``None`` when absent or unusable (then the default backoff applies); never raises, since it runs while an error
    is being turned into a :class:`QboError`.
    """
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    when = _http_date(value)
    now = _http_date(response.headers.get("Date", ""))
    if when is None or now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _http_date(value: str) -> datetime | None:
    """An HTTP date as an aware UTC datetime; a zone-less date (``-0000``, no zone at all) is taken as UTC."""
    try:
        parsed = parsedate_to_datetime(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):  # unparsable, or out of datetime's range in UTC
        return None

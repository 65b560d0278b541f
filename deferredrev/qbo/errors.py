"""Everything that can go wrong talking to Intuit, as one hierarchy of exceptions.

::

    QboError                              any failure; status, code, message, detail, element, intuit_tid
    ├── QboAuthError                      401 / 3200, 100, 120: the access token is dead or the admin lost access
    ├── QboForbiddenError                 403 / 3100: the app is not authorized for this company or scope
    ├── QboThrottledError                 429 / 3001: rate limited; ``retry_after`` when Intuit said how long
    ├── QboServerError                    5xx / 10000, HTML error pages from Intuit's edge
    ├── QboValidationError                400: QuickBooks refused the request as sent
    │   ├── QboClosedPeriodError          6210: the transaction date is on or before the books' closing date
    │   ├── QboInactiveAccountError       2500, or 610 on a write naming accounts: an account is inactive/deleted
    │   ├── QboDuplicateDocNumberError    6140: the DocNumber is already used
    │   ├── QboBusinessValidationError    6000: a business rule failed (e.g. debits and credits differ)
    │   ├── QboStaleObjectError           5010: the SyncToken is out of date
    │   ├── QboNotFoundError              610 on a read, HTTP 404: the object does not exist (any more)
    │   └── QboQueryError                 4000, 4001: the query could not be parsed or names an unknown property
    ├── QboTransportError                 timeout, refused or reset connection; ``outcome_unknown`` for writes
    └── QboOAuthError                     the token or revoke endpoint, or the authorization callback, said no
        ├── InvalidGrantError             400 invalid_grant: the code or refresh token is dead; reconnect
        ├── InvalidClientError            401 invalid_client: our client id / secret are wrong
        ├── AccessDeniedError             callback ``error=access_denied``: the user (not an admin?) declined
        └── OAuthCallbackError            any other malformed or failed authorization callback

``user_message`` is the sentence to show a finance person; ``str(error)`` is for operators and logs. Neither
ever contains a token: every text taken from a response is scrubbed (see :func:`scrub`) before it is stored.

``retryable`` says whether the *same* request may succeed later (throttling, server trouble, lost connections).
Whether it is *safe* to repeat is a separate question the client answers (reads and writes carrying a
``requestid`` are; other writes are not). ``outcome_unknown`` is true when a write may or may not have been
applied (the connection dropped or Intuit failed after receiving it): look for the entry before posting again.

:func:`fault_to_error` is pure: it turns a status code and a body in any of the shapes Intuit uses (upper-case
``Fault`` JSON, the lower-case ``fault`` JSON of 401s, XML ``<Fault>`` even when JSON was asked for, HTML error
pages) into the right exception.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from deferredrev.logs import REDACTED, redact_token_shapes

__all__ = [
    "AccessDeniedError",
    "FaultEntry",
    "InvalidClientError",
    "InvalidGrantError",
    "OAuthCallbackError",
    "QboAuthError",
    "QboBusinessValidationError",
    "QboClosedPeriodError",
    "QboDuplicateDocNumberError",
    "QboError",
    "QboForbiddenError",
    "QboInactiveAccountError",
    "QboNotFoundError",
    "QboOAuthError",
    "QboQueryError",
    "QboServerError",
    "QboStaleObjectError",
    "QboThrottledError",
    "QboTransportError",
    "QboValidationError",
    "fault_to_error",
    "parse_fault",
    "request_never_sent",
    "scrub",
]

MAX_TEXT = 500
_SECRETISH_RUN = re.compile(r"[A-Za-z0-9._~+/=-]{8,}")
_ERROR_CODE_IN_TEXT = re.compile(r"errorCode=0*(\d+)")
_DOC_NUMBER_IN_TEXT = re.compile(r"DocNumber=([^\s,;]+)")


def scrub(text: str | None, secrets: Iterable[str] = ()) -> str:
    """``text`` without anything shaped like a token, without the given ``secrets`` and without any fragment of
    them 8 characters or longer (Intuit echoes the start of a rejected token: ``Token expired: AB01…``)."""
    if not text:
        return ""
    known = [s for s in secrets if s]
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    if known:
        text = _SECRETISH_RUN.sub(lambda m: REDACTED if any(m.group(0) in s for s in known) else m.group(0), text)
    text = redact_token_shapes(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class QboError(Exception):
    """A failed call to Intuit. The base of every exception this package raises."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        element: str | None = None,
        intuit_tid: str | None = None,
        outcome_unknown: bool = False,
        secrets: Iterable[str] = (),
    ) -> None:
        known = tuple(secrets)
        self.message = scrub(message, known) or "QuickBooks request failed"
        self.status = status
        self.code = code or None
        self.detail = scrub(detail, known) or None
        self.element = scrub(element, known) or None
        self.intuit_tid = scrub(intuit_tid, known) or None
        self.outcome_unknown = outcome_unknown
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [self.message]
        if self.detail and self.detail != self.message:
            parts.append(f"detail: {self.detail}")
        facts = [f"{name}={value}" for name, value in (("status", self.status), ("code", self.code)) if value]
        if self.intuit_tid:
            facts.append(f"intuit_tid={self.intuit_tid}")
        if facts:
            parts.append(f"({', '.join(facts)})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    @property
    def user_message(self) -> str:
        """What to tell a finance person, in words they can act on."""
        ref = f" (QuickBooks reference {self.intuit_tid})" if self.intuit_tid else ""
        return f"QuickBooks returned an unexpected error{ref}. Try again later; if it keeps happening, contact support."


class QboAuthError(QboError):
    """The access token was refused (expired, revoked, or the connecting admin lost access)."""

    @property
    def user_message(self) -> str:
        if self.code == "120":
            return (
                "QuickBooks connection expired — the admin who connected no longer has access to this company. "
                "A QuickBooks company admin needs to reconnect with /deferredrev reconnect."
            )
        return "QuickBooks connection expired — reconnect with /deferredrev reconnect."


class QboForbiddenError(QboError):
    """The app is not authorized for this operation (scope or subscription)."""

    @property
    def user_message(self) -> str:
        return (
            "QuickBooks refused access for DeferredRev in this company. "
            "A QuickBooks company admin needs to reconnect with /deferredrev reconnect."
        )


class QboThrottledError(QboError):
    """Intuit's rate limit was hit; ``retry_after`` is the wait in seconds when Intuit said."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)

    @property
    def user_message(self) -> str:
        return "QuickBooks is limiting how fast we can send requests right now. Wait a minute and try again."


class QboServerError(QboError):
    """Intuit failed (5xx, code 10000, or an HTML error page)."""

    retryable = True

    @property
    def user_message(self) -> str:
        if self.outcome_unknown:
            return (
                "QuickBooks had a problem while saving, so we can't yet tell whether the entry was saved. "
                "DeferredRev checks QuickBooks before trying again."
            )
        return "QuickBooks is having trouble right now. Try again in a few minutes."


class QboValidationError(QboError):
    """QuickBooks refused the request as sent (HTTP 400)."""

    @property
    def user_message(self) -> str:
        return f"QuickBooks rejected the request: {self.message.rstrip('.')}."


class QboClosedPeriodError(QboValidationError):
    """The transaction date is on or before the company's book close date (6210)."""

    def __init__(self, message: str, *, txn_date: date | None = None, **kwargs: Any) -> None:
        self.txn_date = txn_date
        super().__init__(message, **kwargs)

    @property
    def user_message(self) -> str:
        when = f"{self.txn_date.isoformat()}" if self.txn_date else "that date"
        return (
            f"The books are closed for {when} in QuickBooks, so the entry was not posted. Post it in an open "
            "period, or ask your accountant to change the closing date in QuickBooks."
        )


class QboInactiveAccountError(QboValidationError):
    """An account the request refers to is inactive or deleted (2500, or 610 on a write)."""

    def __init__(self, message: str, *, accounts: Iterable[str] = (), **kwargs: Any) -> None:
        self.accounts = tuple(accounts)
        super().__init__(message, **kwargs)

    @property
    def user_message(self) -> str:
        if len(self.accounts) == 1:
            which = f"Account {self.accounts[0]} is"
        elif self.accounts:
            which = f"One of the accounts {', '.join(self.accounts)} is"
        else:
            which = "An account used by this entry is"
        return f"{which} inactive or deleted in QuickBooks; choose another in /deferredrev mappings."


class QboDuplicateDocNumberError(QboValidationError):
    """The DocNumber is already used and the company warns on duplicate journal numbers (6140)."""

    @property
    def doc_number(self) -> str | None:
        match = _DOC_NUMBER_IN_TEXT.search(self.detail or "")
        return match.group(1) if match else None

    @property
    def user_message(self) -> str:
        number = f" {self.doc_number}" if self.doc_number else ""
        return f"QuickBooks already has a transaction numbered{number}; the entry was not posted again."


class QboBusinessValidationError(QboValidationError):
    """A QuickBooks business rule failed (6000), e.g. debits and credits do not balance."""

    @property
    def user_message(self) -> str:
        reason = (self.detail or self.message).removeprefix("Business Validation Error:").strip().rstrip(".")
        return f"QuickBooks rejected the entry: {reason}."


class QboStaleObjectError(QboValidationError):
    """The SyncToken sent is out of date: someone changed the object in between (5010)."""

    @property
    def user_message(self) -> str:
        return "Someone changed this entry in QuickBooks at the same time. Reload it and try again."


class QboNotFoundError(QboValidationError):
    """The object does not exist or was deleted (610 on a read, HTTP 404)."""

    @property
    def user_message(self) -> str:
        return "That record no longer exists in QuickBooks (it may have been deleted there)."


class QboQueryError(QboValidationError):
    """QuickBooks could not run a query (4000 parse error, 4001 unknown property). A bug on our side."""

    @property
    def user_message(self) -> str:
        return "QuickBooks could not run DeferredRev's search. Try again; if it keeps happening, contact support."


class QboTransportError(QboError):
    """No usable answer arrived: a timeout, a refused or reset connection.

    ``outcome_unknown`` is true for a write whose request may have reached Intuit: it may have been applied.
    """

    retryable = True

    @property
    def user_message(self) -> str:
        if self.outcome_unknown:
            return (
                "We lost contact with QuickBooks before it answered, so we can't yet tell whether the entry was "
                "saved. DeferredRev checks QuickBooks before trying again."
            )
        return "DeferredRev could not reach QuickBooks. Try again in a few minutes."


class QboOAuthError(QboError):
    """Intuit's OAuth endpoints or the authorization callback returned an error (``error`` is the OAuth code)."""

    def __init__(
        self, message: str, *, error: str | None = None, error_description: str | None = None, **kwargs: Any
    ) -> None:
        secrets = tuple(kwargs.get("secrets", ()))
        self.error = scrub(error, secrets) or None
        self.error_description = scrub(error_description, secrets) or None
        super().__init__(message, **kwargs)

    @property
    def user_message(self) -> str:
        return "Connecting to QuickBooks failed. Try /deferredrev connect again in a few minutes."


class InvalidGrantError(QboOAuthError):
    """The authorization code or refresh token is expired, revoked or already used: the company must reconnect."""

    @property
    def user_message(self) -> str:
        return "QuickBooks connection expired — reconnect with /deferredrev reconnect."


class InvalidClientError(QboOAuthError):
    """Intuit does not accept our client id / secret."""

    @property
    def user_message(self) -> str:
        return (
            "QuickBooks did not accept DeferredRev's app credentials. Ask whoever runs DeferredRev to check "
            "QBO_CLIENT_ID and QBO_CLIENT_SECRET."
        )


class AccessDeniedError(QboOAuthError):
    """The user declined (or, not being a company admin, could not grant) access on Intuit's consent page."""

    def __init__(self, message: str, *, state: str | None = None, **kwargs: Any) -> None:
        self.state = state
        super().__init__(message, **kwargs)

    @property
    def user_message(self) -> str:
        return (
            "QuickBooks access was not granted. Only a QuickBooks company admin can connect DeferredRev: "
            "ask an admin to run /deferredrev connect and choose Connect."
        )


class OAuthCallbackError(QboOAuthError):
    """The authorization callback carried an error other than ``access_denied``, or was malformed."""

    def __init__(self, message: str, *, state: str | None = None, **kwargs: Any) -> None:
        self.state = state
        super().__init__(message, **kwargs)

    @property
    def user_message(self) -> str:
        return "The QuickBooks connection could not be completed. Run /deferredrev connect to try again."


# --------------------------------------------------------------------------------------------------------------
# Parsing fault bodies


@dataclass(frozen=True)
class FaultEntry:
    """One ``Error`` of a fault, whatever the wire shape."""

    code: str | None
    message: str
    detail: str
    element: str
    fault_type: str | None


def parse_fault(body: bytes, content_type: str | None) -> list[FaultEntry]:
    """The error entries of a fault body in any of Intuit's shapes; an empty list when there are none."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    # Sniff the body first: Intuit sends XML faults under a JSON content type (and vice versa).
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return []
        return fault_entries(data) if isinstance(data, dict) else []
    if _looks_like_html(body, content_type):
        return []
    if text.startswith("<"):
        return _xml_entries(text)
    return []


def fault_entries(data: Mapping[str, Any]) -> list[FaultEntry]:
    """Entries of a parsed JSON envelope: ``{"Fault": {"Error": [...]}}`` or the 401 ``{"fault": {"error": []}}``."""
    fault = data.get("Fault")
    if not isinstance(fault, Mapping):
        fault = data.get("fault")
    if not isinstance(fault, Mapping):
        return []
    fault_type = _text(fault.get("type")) or None
    errors = fault.get("Error", fault.get("error"))
    if isinstance(errors, Mapping):
        errors = [errors]
    if not isinstance(errors, list):
        return []
    entries = []
    for error in errors:
        if not isinstance(error, Mapping):
            continue

        def pick(*names: str, error: Mapping[str, Any] = error) -> str:
            return next((_text(error[n]) for n in names if error.get(n) is not None), "")

        entries.append(
            FaultEntry(
                code=_normalise_code(pick("code", "Code"), pick("Message", "message")),
                message=pick("Message", "message"),
                detail=pick("Detail", "detail"),
                element=pick("element", "Element"),
                fault_type=fault_type,
            )
        )
    return entries


def _xml_entries(text: str) -> list[FaultEntry]:
    # No DTDs at all: that rules out entity expansion ("billion laughs") and external entities.
    if "<!doctype" in text.lower() or "<!entity" in text.lower():
        return []
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return []
    entries = []
    for fault in root.iter():
        if _local(fault.tag) != "Fault":
            continue
        for error in fault:
            if _local(error.tag) != "Error":
                continue
            children = {_local(child.tag): (child.text or "").strip() for child in error}
            message = children.get("Message", "")
            entries.append(
                FaultEntry(
                    code=_normalise_code(error.get("code", ""), message),
                    message=message,
                    detail=children.get("Detail", ""),
                    element=error.get("element", ""),
                    fault_type=fault.get("type"),
                )
            )
    return entries


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _normalise_code(code: str, message: str) -> str | None:
    code = code.strip()
    if not code:
        match = _ERROR_CODE_IN_TEXT.search(message)
        return match.group(1) if match else None
    return (code.lstrip("0") or "0") if code.isdigit() else code


_BY_CODE: dict[str, type[QboError]] = {
    "100": QboAuthError,
    "120": QboAuthError,
    "3200": QboAuthError,
    "3100": QboForbiddenError,
    "3001": QboThrottledError,
    "10000": QboServerError,
    "6210": QboClosedPeriodError,
    "2500": QboInactiveAccountError,
    "6140": QboDuplicateDocNumberError,
    "6000": QboBusinessValidationError,
    "5010": QboStaleObjectError,
    "4000": QboQueryError,
    "4001": QboQueryError,
}


def _classify(status: int, entry: FaultEntry | None, *, read: bool) -> type[QboError]:
    code = entry.code if entry else None
    by_code = _BY_CODE.get(code or "")
    if status == 401:
        return QboAuthError
    if status == 429 or code == "3001":
        return QboThrottledError
    if status == 403:
        return QboForbiddenError
    if status >= 500:
        return QboServerError
    if code == "610" and entry is not None:
        if read:
            return QboNotFoundError
        text = f"{entry.message} {entry.detail}".lower()
        return QboInactiveAccountError if "account" in text or "inactive" in text else QboNotFoundError
    if by_code is not None:
        return by_code
    if status == 404:
        return QboNotFoundError
    if 400 <= status < 500:
        return QboValidationError
    return QboError


_DEFAULT_MESSAGES: dict[type[QboError], str] = {
    QboAuthError: "QuickBooks refused the access token",
    QboThrottledError: "QuickBooks throttled the request",
    QboForbiddenError: "QuickBooks refused access",
    QboServerError: "QuickBooks server error",
    QboNotFoundError: "Object not found",
}


def fault_to_error(
    status: int,
    body: bytes,
    content_type: str | None,
    intuit_tid: str | None,
    *,
    read: bool = False,
    retry_after: float | None = None,
    outcome_unknown: bool = False,
    secrets: Iterable[str] = (),
) -> QboError:
    """The exception for an Accounting API error response (pure; never raises itself).

    ``read`` says the request was a read, where 610 means "not found" rather than "refers to an inactive
    account". ``secrets`` are values (tokens sent with the request) to scrub from any text kept.
    """
    entries = parse_fault(body, content_type)
    return error_from_entries(
        status,
        entries,
        intuit_tid,
        read=read,
        retry_after=retry_after,
        outcome_unknown=outcome_unknown,
        secrets=secrets,
        html=_looks_like_html(body, content_type),
    )


def error_from_entries(
    status: int,
    entries: list[FaultEntry],
    intuit_tid: str | None,
    *,
    read: bool = False,
    retry_after: float | None = None,
    outcome_unknown: bool = False,
    secrets: Iterable[str] = (),
    html: bool = False,
) -> QboError:
    """The exception for already-parsed fault entries (also used for per-item faults of a batch)."""
    first = entries[0] if entries else None
    cls = _classify(status, first, read=read)
    if first is not None and first.message:
        message = first.message
    elif html:
        message = f"QuickBooks returned an HTML error page (HTTP {status})"
    else:
        message = _DEFAULT_MESSAGES.get(cls, f"QuickBooks returned HTTP {status}")
    kwargs: dict[str, Any] = {
        "status": status,
        "code": first.code if first else None,
        "detail": first.detail if first else None,
        "element": first.element if first else None,
        "intuit_tid": intuit_tid,
        "outcome_unknown": outcome_unknown and cls in (QboServerError, QboError),
        "secrets": tuple(secrets),
    }
    if cls is QboThrottledError:
        return QboThrottledError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if "html" in (content_type or "").lower():
        return True
    head = body[:200].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def request_never_sent(exc: BaseException) -> bool:
    """Whether a transport failure happened before any of the request could reach the server (connecting, or
    waiting for a pooled connection): then even a write certainly did not happen."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol)


def batch_fault_status(entry: FaultEntry | None) -> int:
    """The HTTP status a batch item's fault would have had on its own (batch answers 200 around item faults)."""
    fault_type = (entry.fault_type or "").lower() if entry else ""
    code = entry.code if entry else None
    if code == "3001":
        return 429
    if fault_type.startswith("authentication") or code in ("100", "120", "3200"):
        return 401
    if fault_type.startswith("authorizat") or code == "3100":
        return 403
    if fault_type == "systemfault" or code == "10000":
        return 500
    return 400

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from deferredrev.qbo import errors as e
from deferredrev.qbo.errors import fault_to_error, parse_fault, scrub

TID = "1-abc-tid"


def upper(code: str, message: str = "msg", detail: str = "", element: str = "") -> bytes:
    return json.dumps(
        {
            "Fault": {
                "Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
                "type": "ValidationFault",
            },
            "time": "2026-04-01T09:20:11.004-07:00",
        }
    ).encode()


LOWER_401 = json.dumps(
    {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": "Token expired: AB01",
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "batchItemResponse": [],
        "time": 1533811101733,
    }
).encode()

XML_401 = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-04-01T09:20:11.004-07:00">'
    b'<Fault type="AuthenticationFault"><Error code="100"><Message>General Authentication Error</Message>'
    b"<Detail>AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401</Detail></Error></Fault>"
    b"</IntuitResponse>"
)

XML_429 = (
    b'<?xml version="1.0" encoding="UTF-8"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3">'
    b'<Fault type="SERVICE"><Error code="3001" element=""><Message>message=ThrottleExceeded; errorCode=003001; '
    b"statusCode=429</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault>"
    b"</IntuitResponse>"
)

XML_429_NO_CODE_ATTR = (
    b"<IntuitResponse><Fault><Error><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    b"</Error></Fault></IntuitResponse>"
)

HTML_503 = b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>Down</body></html>"

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<IntuitResponse><Fault><Error code="6210"><Message>&lol2;</Message></Error></Fault></IntuitResponse>'
)

XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<IntuitResponse><Fault><Error code="6000"><Message>&x;</Message></Error></Fault></IntuitResponse>'
)

JSON = "application/json;charset=utf-8"
XML = "application/xml"

CASES: list[tuple[str, int, bytes, str | None, dict[str, Any], type[e.QboError], str | None]] = [
    # id, status, body, content type, kwargs, expected class, expected code
    (
        "closed-period",
        400,
        upper("6210", "Account Period Closed, Cannot Update Through Services API"),
        JSON,
        {},
        e.QboClosedPeriodError,
        "6210",
    ),
    (
        "inactive-2500",
        400,
        upper("2500", "Invalid Reference Id", "Invalid Reference Id : Accounts element"),
        JSON,
        {},
        e.QboInactiveAccountError,
        "2500",
    ),
    (
        "inactive-610-write",
        400,
        upper(
            "610",
            "Object Not Found",
            "Something you're trying to use has been made inactive. Check the fields with accounts",
        ),
        JSON,
        {},
        e.QboInactiveAccountError,
        "610",
    ),
    (
        "deleted-610-write",
        400,
        upper("610", "Object Not Found", "Object Not Found : Another user has deleted this transaction."),
        JSON,
        {},
        e.QboNotFoundError,
        "610",
    ),
    (
        "not-found-610-read",
        400,
        upper("610", "Object Not Found", "Something you're trying to use has been made inactive."),
        JSON,
        {"read": True},
        e.QboNotFoundError,
        "610",
    ),
    (
        "duplicate-6140",
        400,
        upper("6140", "Duplicate Document Number Error", "DocNumber=REVREC-1 is assigned to TxnType=Invoice"),
        JSON,
        {},
        e.QboDuplicateDocNumberError,
        "6140",
    ),
    (
        "business-6000",
        400,
        upper("6000", "A business validation error has occurred", "Business Validation Error: Debits and credits differ"),
        JSON,
        {},
        e.QboBusinessValidationError,
        "6000",
    ),
    ("stale-5010", 400, upper("5010", "Stale Object Error"), JSON, {}, e.QboStaleObjectError, "5010"),
    (
        "query-4000",
        400,
        upper("4000", "Error parsing query", "QueryParserError: Encountered"),
        JSON,
        {},
        e.QboQueryError,
        "4000",
    ),
    (
        "query-4001",
        400,
        upper("4001", "Invalid query", "QueryValidationError: Property X not found"),
        JSON,
        {},
        e.QboQueryError,
        "4001",
    ),
    (
        "unknown-property-2010",
        400,
        upper("2010", "Request has invalid or unsupported property"),
        JSON,
        {},
        e.QboValidationError,
        "2010",
    ),
    ("lapsed-6190", 400, upper("6190", "Invalid Company Status"), JSON, {}, e.QboValidationError, "6190"),
    ("auth-lowercase-3200", 401, LOWER_401, JSON, {}, e.QboAuthError, "3200"),
    ("auth-xml-100", 401, XML_401, XML, {}, e.QboAuthError, "100"),
    ("auth-xml-despite-json-ct", 401, XML_401, JSON, {}, e.QboAuthError, "100"),
    (
        "auth-120",
        401,
        upper("120", "Authorization Failure", "-11014-You do not have access"),
        JSON,
        {},
        e.QboAuthError,
        "120",
    ),
    ("auth-empty-body", 401, b"", None, {}, e.QboAuthError, None),
    (
        "forbidden-3100",
        403,
        upper("3100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"),
        JSON,
        {},
        e.QboForbiddenError,
        "3100",
    ),
    ("throttled-xml", 429, XML_429, XML, {"retry_after": 7.0}, e.QboThrottledError, "3001"),
    ("throttled-xml-code-in-message", 429, XML_429_NO_CODE_ATTR, "text/xml", {}, e.QboThrottledError, "3001"),
    ("throttled-json", 429, upper("3001", "message=ThrottleExceeded"), JSON, {}, e.QboThrottledError, "3001"),
    ("throttled-legacy-403", 403, XML_429, XML, {}, e.QboThrottledError, "3001"),
    ("server-10000", 500, upper("10000", "An application error has occurred"), JSON, {}, e.QboServerError, "10000"),
    ("server-html-503", 503, HTML_503, "text/html", {}, e.QboServerError, None),
    ("server-html-no-ct", 503, HTML_503, None, {}, e.QboServerError, None),
    ("server-empty-502", 502, b"", None, {}, e.QboServerError, None),
    ("http-404", 404, b"Not Found", "text/plain", {}, e.QboNotFoundError, None),
    ("garbage-json", 400, b"{not json", JSON, {}, e.QboValidationError, None),
    ("billion-laughs-refused", 400, BILLION_LAUGHS, XML, {}, e.QboValidationError, None),
    ("xxe-refused", 400, XXE, XML, {}, e.QboValidationError, None),
    ("odd-status", 418, b"", None, {}, e.QboValidationError, None),
]


@pytest.mark.parametrize(
    ("status", "body", "content_type", "kwargs", "expected", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_fault_to_error(
    status: int, body: bytes, content_type: str | None, kwargs: dict[str, Any], expected: type[e.QboError], code: str | None
) -> None:
    error = fault_to_error(status, body, content_type, TID, **kwargs)
    assert type(error) is expected
    assert error.status == status
    assert error.code == code
    assert error.intuit_tid == TID
    assert TID in str(error)
    assert error.message
    assert error.user_message
    assert "root:" not in error.message  # nothing from /etc/passwd, ever


def test_fields_are_kept() -> None:
    error = fault_to_error(
        400, upper("6000", "A business validation error", "Business Validation Error: Unbalanced", "Line"), JSON, TID
    )
    assert (error.message, error.detail, error.element) == (
        "A business validation error",
        "Business Validation Error: Unbalanced",
        "Line",
    )
    assert error.user_message == "QuickBooks rejected the entry: Unbalanced."


def test_first_of_several_errors_wins() -> None:
    body = json.dumps({"Fault": {"Error": [{"Message": "a", "code": "6210"}, {"Message": "b", "code": "2500"}]}}).encode()
    assert isinstance(fault_to_error(400, body, JSON, None), e.QboClosedPeriodError)


def test_retryable_flags() -> None:
    assert fault_to_error(429, XML_429, XML, None).retryable
    assert fault_to_error(500, b"", None, None).retryable
    assert e.QboTransportError("x").retryable
    for status, body in ((400, upper("6210")), (401, LOWER_401), (403, upper("3100"))):
        assert not fault_to_error(status, body, JSON, None).retryable


def test_throttled_carries_retry_after() -> None:
    error = fault_to_error(429, XML_429, XML, None, retry_after=12.5)
    assert isinstance(error, e.QboThrottledError)
    assert error.retry_after == 12.5
    assert "3001" in str(error)


def test_outcome_unknown_only_for_server_failures() -> None:
    assert fault_to_error(500, b"", None, None, outcome_unknown=True).outcome_unknown
    assert not fault_to_error(400, upper("6210"), JSON, None, outcome_unknown=True).outcome_unknown


def test_user_messages_speak_to_finance() -> None:
    closed = e.QboClosedPeriodError("closed", code="6210", txn_date=date(2025, 12, 31))
    assert closed.user_message.startswith("The books are closed for 2025-12-31")
    assert "closed for that date" in e.QboClosedPeriodError("closed").user_message
    inactive = e.QboInactiveAccountError("x", accounts=["Deferred Revenue"])
    assert inactive.user_message == (
        "Account Deferred Revenue is inactive or deleted in QuickBooks; choose another in /deferredrev mappings."
    )
    assert "One of the accounts A, B" in e.QboInactiveAccountError("x", accounts=["A", "B"]).user_message
    assert e.QboAuthError("x").user_message.startswith("QuickBooks connection expired — reconnect")
    assert "admin" in e.QboAuthError("x", code="120").user_message
    assert e.InvalidGrantError("x").user_message.startswith("QuickBooks connection expired — reconnect")
    dup = fault_to_error(
        400, upper("6140", "Duplicate", "DocNumber=REVREC-7 is assigned to TxnType=JournalEntry"), JSON, None
    )
    assert isinstance(dup, e.QboDuplicateDocNumberError)
    assert dup.doc_number == "REVREC-7"
    assert "REVREC-7" in dup.user_message
    assert "don't know" not in e.QboTransportError("x").user_message
    assert "can't yet tell" in e.QboTransportError("x", outcome_unknown=True).user_message
    assert "only a quickbooks company admin" in e.AccessDeniedError("x").user_message.lower()


def test_hierarchy() -> None:
    for cls in (
        e.QboClosedPeriodError,
        e.QboInactiveAccountError,
        e.QboDuplicateDocNumberError,
        e.QboBusinessValidationError,
        e.QboStaleObjectError,
        e.QboNotFoundError,
        e.QboQueryError,
    ):
        assert issubclass(cls, e.QboValidationError)
    for oauth_cls in (e.InvalidGrantError, e.InvalidClientError, e.AccessDeniedError, e.OAuthCallbackError):
        assert issubclass(oauth_cls, e.QboOAuthError)
    for base_cls in (
        e.QboAuthError,
        e.QboForbiddenError,
        e.QboThrottledError,
        e.QboServerError,
        e.QboValidationError,
        e.QboTransportError,
        e.QboOAuthError,
    ):
        assert issubclass(base_cls, e.QboError)


def test_parse_fault_shapes() -> None:
    assert parse_fault(b"", None) == []
    assert parse_fault(HTML_503, "text/html") == []
    (entry,) = parse_fault(XML_429, XML)
    assert (entry.code, entry.fault_type) == ("3001", "SERVICE")
    (entry,) = parse_fault(LOWER_401, JSON)
    assert (entry.code, entry.fault_type, entry.element) == ("3200", "AUTHENTICATION", "")
    assert parse_fault(b'{"Fault": {"Error": {"Message": "single", "code": "0006000"}}}', JSON)[0].code == "6000"


def test_scrub_removes_secrets_and_their_fragments() -> None:
    secret = "AB11234567890abcdefghijklmnopqrstuvwxyz"
    text = f"Token expired: {secret[:12]}… and full {secret} and a bearer eyJhbGciOiJIUzI1NiJ9.payload"
    cleaned = scrub(text, [secret])
    assert secret[:12] not in cleaned
    assert secret not in cleaned
    assert "eyJhbGciOiJIUzI1NiJ9" not in cleaned
    assert "Token expired:" in cleaned
    assert len(scrub("x" * 5000)) == e.MAX_TEXT


def test_secrets_never_in_error_text() -> None:
    secret = "canary-0123456789abcdef"
    body = upper("3200", f"bad token {secret}", f"Token expired: {secret[:10]}", secret)
    error = fault_to_error(401, body, JSON, None, secrets=[secret])
    for text in (str(error), repr(error), error.message, error.detail or "", error.element or "", error.user_message):
        assert secret not in text
        assert secret[:10] not in text

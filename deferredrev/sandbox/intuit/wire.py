"""Wire-level pieces shared by every route: request/response values, Intuit's time format, fault bodies (reference §5)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

COMPANY_TZ = timezone(timedelta(hours=-7))
JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"), parse_float=Decimal)

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class Reset(Exception):
    """Raised by a route to drop the connection without any response."""


class QboFault(Exception):
    """A ValidationFault-style API error, rendered as ``{"Fault": {...}, "time": ...}``."""

    def __init__(
        self, code: str, message: str, detail: str, *, status: int = 400, element: str = "", kind: str = "ValidationFault"
    ) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status
        self.element = element
        self.kind = kind

    def fault(self) -> dict[str, Any]:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}
        return {"Error": [error], "type": self.kind}


def new_intuit_tid() -> str:
    return f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"


def qbo_time(now: datetime) -> str:
    """``2026-04-01T09:14:03.512-07:00``: the top-level ``time`` of every API body."""
    local = now.astimezone(COMPANY_TZ)
    return local.isoformat(timespec="milliseconds")


def meta_time(now: datetime) -> str:
    return now.astimezone(COMPANY_TZ).isoformat(timespec="seconds")


def company_today(now: datetime) -> str:
    return now.astimezone(COMPANY_TZ).date().isoformat()


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: object) -> bytes:
    return json.dumps(payload, default=_default, ensure_ascii=False).encode("utf-8")


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=dumps(payload), headers=dict(headers or {}))


def text_response(status: int, text: str) -> Response:
    return Response(status=status, body=text.encode("utf-8"), content_type="text/plain;charset=UTF-8")


def fault_response(fault: QboFault, now: datetime) -> Response:
    return json_response(fault.status, {"Fault": fault.fault(), "time": qbo_time(now)})


def auth_fault_response(detail: str, now: datetime, *, xml: bool) -> Response:
    """401 for a bad bearer token: the lower-case JSON envelope (§5.2), or Intuit's XML variant."""
    headers = {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'}
    if xml:
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="'
            + qbo_time(now)
            + '"><Fault type="AuthenticationFault"><Error code="100"><Message>General Authentication Error</Message>'
            "<Detail>AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401</Detail>"
            "</Error></Fault></IntuitResponse>"
        )
        return Response(status=401, body=body.encode(), content_type=XML_TYPE, headers=headers)
    error = {
        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "detail": detail,
        "code": "3200",
        "element": None,
    }
    payload: dict[str, Any] = {
        "warnings": None,
        "intuitObject": None,
        "fault": {"error": [error], "type": "AUTHENTICATION"},
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(now.timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }
    return json_response(401, payload, headers)


def throttle_response(now: datetime, *, xml: bool) -> Response:
    """429 ThrottleExceeded (code 3001, type SERVICE), JSON or the historical XML body."""
    message = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    detail = "The request limit was reached.  Try again later"
    if xml:
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="'
            + qbo_time(now)
            + f'"><Fault type="SERVICE"><Error code="3001"><Message>{message}</Message>'
            f"<Detail>{detail}</Detail></Error></Fault></IntuitResponse>"
        )
        return Response(status=429, body=body.encode(), content_type=XML_TYPE)
    fault = QboFault("3001", message, detail, status=429, kind="SERVICE")
    return fault_response(fault, now)


def forbidden_response(detail: str, now: datetime) -> Response:
    """403 ApplicationAuthorizationFailed (3100): the app may not do this for this company (scope, subscription)."""
    fault = QboFault(
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        detail,
        status=403,
        kind="AUTHENTICATION",
    )
    return fault_response(fault, now)


def server_error_response(status: int, now: datetime) -> Response:
    fault = QboFault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data.",
        status=status,
        kind="SystemFault",
    )
    return fault_response(fault, now)


def oauth_error(status: int, error: str, description: str | None = None) -> Response:
    payload: dict[str, str] = {"error": error} if description is None else {"error": error, "error_description": description}
    return json_response(status, payload, {"Cache-Control": "no-store", "Pragma": "no-cache"})

"""Small stateful fakes of Intuit for ``httpx.MockTransport``: they speak the wire format in qbo-api.md."""

from __future__ import annotations

import base64
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx

REALM = "9130350000000001"
TID = "1-628f0be4-19ed5ea63980105102b16b1e"

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, default=str).encode(),
        headers={"content-type": "application/json;charset=utf-8", "intuit_tid": TID, **headers},
    )


def fault(status: int, code: str, message: str, detail: str = "", element: str = "", **headers: str) -> httpx.Response:
    body = {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
            "type": "ValidationFault",
        },
        "time": "2026-04-01T09:20:11.004-07:00",
    }
    return json_response(status, body, **headers)


def auth_fault(detail: str = "Token expired") -> httpx.Response:
    body = {
        "warnings": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "time": 1533811101733,
    }
    return json_response(401, body)


THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-04-01T09:20:11.004-07:00">'
    '<Fault type="SERVICE"><Error code="3001" element="">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>"
)


def throttled(xml: bool = True, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = headers or {}
    if xml:
        return httpx.Response(
            429, content=THROTTLE_XML.encode(), headers={"content-type": "application/xml", "intuit_tid": TID, **headers}
        )
    return fault(429, "3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429", **headers)


def server_error() -> httpx.Response:
    return fault(500, "10000", "An application error has occurred while processing your request")


def make_account(i: int, *, name: str | None = None, account_type: str = "Income", active: bool = True) -> dict[str, Any]:
    return {
        "Id": str(i),
        "Name": name or f"Account {i:04d}",
        "FullyQualifiedName": name or f"Account {i:04d}",
        "AccountType": account_type,
        "AccountSubType": "ServiceFeeIncome",
        "Classification": "Revenue",
        "Active": active,
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "SyncToken": "0",
    }


@dataclass
class CommitThenFail:
    """Handle the request for real (so a write happens), then answer with ``failure`` instead."""

    failure: httpx.Response | Exception


def _unquote_literal(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@dataclass
class FakeQbo:
    """A QuickBooks company: accounts, journal entries, requestid replay, and scripted replies served first."""

    realm_id: str = REALM
    valid_tokens: set[str] = field(default_factory=lambda: {"access-1"})
    accounts: list[dict[str, Any]] = field(default_factory=list)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: deque[Reply | CommitThenFail] = field(default_factory=deque)
    requests: list[httpx.Request] = field(default_factory=list)
    replayed: dict[str, httpx.Response] = field(default_factory=dict)
    preferences: dict[str, Any] = field(
        default_factory=lambda: {
            "AccountingInfoPrefs": {"BookCloseDate": "2025-12-31"},
            "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
            "OtherPrefs": {"NameValue": [{"Name": "WarnDuplicateJournalNumber", "Value": "true"}]},
        }
    )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            reply = self.script.popleft()
            if isinstance(reply, CommitThenFail):
                self._handle(request)
                if isinstance(reply.failure, Exception):
                    raise reply.failure
                return reply.failure
            if isinstance(reply, Exception):
                raise reply
            if isinstance(reply, httpx.Response):
                return reply
            return reply(request)
        return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.valid_tokens:
            return auth_fault()
        request_id = request.url.params.get("requestid")
        if request_id is not None and request_id in self.replayed:
            return self.replayed[request_id]
        response = self._route(request)
        if request_id is not None:
            self.replayed[request_id] = response
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/v3/company/{self.realm_id}/"
        path = request.url.path
        if not path.startswith(prefix):
            return auth_fault("wrong realm")
        rest = path.removeprefix(prefix)
        if request.method == "GET" and rest == f"companyinfo/{self.realm_id}":
            return json_response(200, {"CompanyInfo": {"CompanyName": "Sandbox Co", "Country": "USA"}, "time": "t"})
        if request.method == "GET" and rest == "preferences":
            return json_response(200, {"Preferences": self.preferences, "time": "t"})
        if request.method == "POST" and rest == "query":
            return json_response(200, {"QueryResponse": self._query(request.content.decode()), "time": "t"})
        if request.method == "GET" and rest.startswith("account/"):
            found = [a for a in self.accounts if a["Id"] == rest.split("/", 1)[1]]
            if not found:
                return fault(
                    400,
                    "610",
                    "Object Not Found",
                    "Object Not Found : Something you're trying to use has been made inactive.",
                )
            return json_response(200, {"Account": found[0], "time": "t"})
        if request.method == "GET" and rest.startswith("journalentry/"):
            entry = self.entries.get(rest.split("/", 1)[1])
            if entry is None:
                return fault(400, "610", "Object Not Found", "Another user has deleted this transaction.")
            return json_response(200, {"JournalEntry": entry, "time": "t"})
        if request.method == "POST" and rest == "journalentry":
            body = json.loads(request.content, parse_float=Decimal)
            if request.url.params.get("operation") == "delete":
                self.entries.pop(body["Id"], None)
                return json_response(200, {"JournalEntry": {"status": "Deleted", "Id": body["Id"]}, "time": "t"})
            return self._create(body)
        if request.method == "POST" and rest == "batch":
            body = json.loads(request.content, parse_float=Decimal)
            out = []
            for item in body["BatchItemRequest"]:
                if "Query" in item:
                    out.append({"bId": item["bId"], "QueryResponse": self._query(item["Query"])})
                    continue
                created = self._create(item["JournalEntry"])
                data = json.loads(created.content, parse_float=Decimal)
                if created.status_code == 200:
                    out.append({"bId": item["bId"], "JournalEntry": data["JournalEntry"]})
                else:
                    out.append({"bId": item["bId"], "Fault": data["Fault"]})
            out.reverse()  # order is not guaranteed
            return json_response(200, {"BatchItemResponse": out, "time": "t"})
        return fault(400, "2010", "Unsupported operation")

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        if body.get("TxnDate", "9999") <= self.preferences["AccountingInfoPrefs"]["BookCloseDate"]:
            return fault(
                400,
                "6210",
                "Account Period Closed, Cannot Update Through Services API",
                "The account period has closed and the account books cannot be updated through the QBO Services API.",
            )
        for line in body["Line"]:
            ref = line["JournalEntryLineDetail"]["AccountRef"]["value"]
            if not any(a["Id"] == ref and a["Active"] for a in self.accounts):
                return fault(400, "2500", "Invalid Reference Id", "Invalid Reference Id : Accounts element id 99 not found")
        doc = body.get("DocNumber")
        if doc and any(e.get("DocNumber") == doc for e in self.entries.values()):
            return fault(
                400, "6140", "Duplicate Document Number Error", f"Duplicate Document Number Error : DocNumber={doc} is used"
            )
        entry_id = str(len(self.entries) + 100)
        lines = [dict(line, Id=str(i)) for i, line in enumerate(body["Line"])]
        total = sum(
            (Decimal(str(x["Amount"])) for x in lines if x["JournalEntryLineDetail"]["PostingType"] == "Debit"), Decimal(0)
        )
        entry = dict(body, Id=entry_id, SyncToken="0", Line=lines, TotalAmt=total)
        self.entries[entry_id] = entry
        return json_response(200, {"JournalEntry": entry, "time": "t"})

    def _query(self, sql: str) -> dict[str, Any]:
        entity = re.search(r"FROM (\w+)", sql, re.I)
        assert entity is not None
        start_match = re.search(r"STARTPOSITION (\d+)", sql)
        limit_match = re.search(r"MAXRESULTS (\d+)", sql)
        start = int(start_match.group(1)) if start_match else 1
        limit = int(limit_match.group(1)) if limit_match else 100
        if entity.group(1) == "Account":
            rows = list(self.accounts)
            if "Active = true" in sql:
                rows = [a for a in rows if a["Active"]]
            like = re.search(r"Name LIKE '((?:[^'\\]|\\.)*)%'", sql)
            if like:
                prefix = _unquote_literal(like.group(1)).lower()
                rows = [a for a in rows if a["Name"].lower().startswith(prefix)]
            types = re.search(r"AccountType IN \(([^)]*)\)", sql)
            if types:
                wanted = {t.strip().strip("'") for t in types.group(1).split(",")}
                rows = [a for a in rows if a["AccountType"] in wanted]
            key = "Account"
        else:
            doc = re.search(r"DocNumber = '((?:[^'\\]|\\.)*)'", sql)
            rows = [e for e in self.entries.values() if doc and e.get("DocNumber") == _unquote_literal(doc.group(1))]
            key = "JournalEntry"
        if "count(*)" in sql:
            return {"totalCount": len(rows)}
        page = rows[start - 1 : start - 1 + limit]
        return {key: page, "startPosition": start, "maxResults": len(page)} if page else {}


@dataclass
class FakeTokens:
    """A TokenSource: hands out ``current``; a refresh moves to the next token in ``fresh``."""

    current: str = "access-1"
    fresh: list[str] = field(default_factory=lambda: ["access-2", "access-3"])
    rejected: list[str] = field(default_factory=list)

    def access_token(self) -> str:
        return self.current

    def refresh_access_token(self, rejected: str) -> str:
        self.rejected.append(rejected)
        self.current = self.fresh.pop(0)
        return self.current


@dataclass
class FakeIntuitOAuth:
    """Intuit's token and revoke endpoints for one app: Basic client auth, single-use codes, rotation."""

    client_id: str = "client-id-1"
    client_secret: str = "client-secret-1"
    redirect_uri: str = "https://app.example/qbo/callback"
    codes: set[str] = field(default_factory=lambda: {"code-1"})
    refresh_tokens: set[str] = field(default_factory=set)
    rotate: bool = True
    requests: list[httpx.Request] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    counter: int = 0
    script: deque[Reply] = field(default_factory=deque)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            reply = self.script.popleft()
            if isinstance(reply, Exception):
                raise reply
            return reply if isinstance(reply, httpx.Response) else reply(request)
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return json_response(401, {"error": "invalid_client"})
        if request.url.path.endswith("/revoke"):
            token = json.loads(request.content)["token"]
            self.revoked.append(token)
            self.refresh_tokens.discard(token)
            return httpx.Response(200, headers={"intuit_tid": TID})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") == "authorization_code":
            if form.get("code") not in self.codes or form.get("redirect_uri") != self.redirect_uri:
                return json_response(400, {"error": "invalid_grant", "error_description": "Token invalid"})
            self.codes.discard(form["code"])
            return self._issue(request, previous=None)
        if form.get("grant_type") == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self.refresh_tokens:
                return json_response(
                    400, {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}
                )
            return self._issue(request, previous=token)
        return json_response(400, {"error": "unsupported_grant_type"})

    def _issue(self, request: httpx.Request, previous: str | None) -> httpx.Response:
        self.counter += 1
        refresh = previous if previous is not None and not self.rotate else f"RT1-{self.counter}-refresh-abcdefgh"
        self.refresh_tokens.add(refresh)
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": f"eyJaccess{self.counter}.EMULATED",
            "expires_in": 3600,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": 8726400,
        }
        if request.headers.get("x-include-refresh-token-hard-expires-in") == "true":
            body["x_refresh_token_hard_expires_in"] = 156032154
        return json_response(200, body)

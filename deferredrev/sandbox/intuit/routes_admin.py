"""JSON admin API under ``/_sandbox/...`` so another process (the demo, ``deferredrev sandbox``) can drive the sandbox.

| Method | Path | Body / effect |
|---|---|---|
| GET | /_sandbox/state | url, client id/secret, clock, realms, active connections |
| POST | /_sandbox/clock/advance | ``{"seconds": 3600}`` |
| POST | /_sandbox/clock/set | ``{"now": "2026-04-01T00:00:00+00:00"}`` |
| GET / POST / DELETE | /_sandbox/faults | list / inject (``Fault`` fields as JSON) / clear |
| GET | /_sandbox/companies | realm ids, names, preferences |
| GET | /_sandbox/companies/{realm}/journal-entries | what reached "QBO" |
| POST | /_sandbox/companies/{realm}/journal-entries | a journal entry a person enters (the API's JSON body) |
| POST | /_sandbox/companies/{realm}/invoices | ``{"customer", "amount", "txn_date", "account_id"}``; negative: credit memo |
| GET | /_sandbox/companies/{realm}/attachables | every Attachable of the company |
| POST | /_sandbox/companies/{realm}/book-close-date | ``{"date": "2025-12-31"}`` or ``{"date": null}`` |
| POST | /_sandbox/companies/{realm}/preferences | ``{"warn_duplicate_doc_number": false, "multicurrency": true}`` |
| POST | /_sandbox/companies/{realm}/accounts/{id}/deactivate | mark the account inactive |
| POST | /_sandbox/companies/{realm}/disconnect | revoke every connection to the realm (and call the disconnect URL) |
| POST | /_sandbox/redirect-uris | ``{"uri": "http://127.0.0.1:3000/callback"}`` |
| POST / DELETE | /_sandbox/auto-consent | ``{"realm_id": "...", "decision": "allow"}`` / back to the consent page |
| GET | /_sandbox/requests, /_sandbox/token-calls | the request log and token-endpoint grant types |
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from deferredrev.sandbox.intuit.config import AutoConsent
from deferredrev.sandbox.intuit.faults import Fault
from deferredrev.sandbox.intuit.wire import Request, Response, json_response

if TYPE_CHECKING:
    from deferredrev.sandbox.intuit.sandbox import IntuitSandbox

_COMPANY = re.compile(r"^/_sandbox/companies/(?P<realm>[^/]+)/(?P<rest>.+)$")


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def handle(sb: IntuitSandbox, request: Request) -> Response:
    try:
        body = _body(request)
        return json_response(200, _route(sb, request.method, request.path.rstrip("/"), body))
    except AdminError as error:
        return json_response(error.status, {"error": str(error)})
    except (KeyError, ValueError, TypeError) as error:
        return json_response(400, {"error": f"bad request: {error}"})


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    payload = json.loads(request.body)
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise AdminError(400, "the body must be a JSON object")
    return payload


def _route(sb: IntuitSandbox, method: str, path: str, body: dict[str, Any]) -> Any:
    match = _COMPANY.match(path)
    if match is not None:
        return _company_route(sb, method, match["realm"], match["rest"], body)
    routes: dict[tuple[str, str], Callable[[], Any]] = {
        ("GET", "/_sandbox/state"): lambda: sb.state(),
        ("POST", "/_sandbox/clock/advance"): lambda: _advance(sb, body),
        ("POST", "/_sandbox/clock/set"): lambda: _set_clock(sb, body),
        ("GET", "/_sandbox/faults"): lambda: [fault.to_json() for fault in sb.faults.pending()],
        ("POST", "/_sandbox/faults"): lambda: sb.inject(Fault.from_json(body)).to_json(),
        ("DELETE", "/_sandbox/faults"): lambda: sb.clear_faults(),
        ("GET", "/_sandbox/companies"): lambda: sb.companies_summary(),
        ("POST", "/_sandbox/redirect-uris"): lambda: sb.register_redirect_uri(str(body["uri"])),
        ("POST", "/_sandbox/auto-consent"): lambda: _auto_consent(sb, body),
        ("DELETE", "/_sandbox/auto-consent"): lambda: setattr(sb, "auto_consent", None),
        ("GET", "/_sandbox/requests"): lambda: [record._asdict() for record in sb.requests],
        ("GET", "/_sandbox/token-calls"): lambda: sb.token_endpoint_calls,
    }
    handler = routes.get((method, path))
    if handler is None:
        raise AdminError(404, f"no admin route {method} {path}")
    result = handler()
    return {"ok": True} if result is None else result


def _company_route(sb: IntuitSandbox, method: str, realm: str, rest: str, body: dict[str, Any]) -> Any:
    if realm not in sb.companies:
        raise AdminError(404, f"unknown realm {realm}")
    if method == "GET" and rest == "journal-entries":
        return sb.journal_entries(realm)
    if method == "POST" and rest == "journal-entries":
        return sb.post_journal_entry(realm, body)
    if method == "POST" and rest == "invoices":
        return sb.book_invoice(
            realm, customer=str(body["customer"]), amount=str(body["amount"]),
            txn_date=date.fromisoformat(str(body["txn_date"])), account_id=str(body["account_id"]),
            doc_number=body.get("doc_number"), memo=body.get("memo"),
        )  # fmt: skip
    if method == "GET" and rest == "attachables":
        return sb.attachables(realm)
    if method == "POST" and rest == "book-close-date":
        raw = body.get("date")
        sb.set_book_close_date(realm, date.fromisoformat(raw) if raw else None)
        return {"ok": True}
    if method == "POST" and rest == "preferences":
        sb.set_preferences(realm, **body)
        return {"ok": True}
    if method == "POST" and rest == "disconnect":
        return {"ok": True, "disconnect_url_status": sb.disconnect_from_quickbooks(realm)}
    parts = rest.split("/")
    if method == "POST" and len(parts) == 3 and parts[0] == "accounts" and parts[2] == "deactivate":
        if parts[1] not in sb.companies[realm].accounts:
            raise AdminError(404, f"unknown account {parts[1]}")
        sb.deactivate_account(realm, parts[1])
        return {"ok": True}
    raise AdminError(404, f"no admin route {method} /_sandbox/companies/{realm}/{rest}")


def _advance(sb: IntuitSandbox, body: dict[str, Any]) -> dict[str, str]:
    now = sb.clock.advance(timedelta(seconds=float(body["seconds"])))
    return {"now": now.isoformat()}


def _set_clock(sb: IntuitSandbox, body: dict[str, Any]) -> dict[str, str]:
    sb.clock.set(datetime.fromisoformat(str(body["now"])))
    return {"now": sb.clock.now().isoformat()}


def _auto_consent(sb: IntuitSandbox, body: dict[str, Any]) -> dict[str, Any]:
    decision = body.get("decision", "allow")
    if decision not in ("allow", "deny", "non_admin"):
        raise AdminError(400, f"unknown decision {decision!r}")
    sb.auto_consent = AutoConsent(realm_id=body.get("realm_id"), decision=decision)
    return {"realm_id": sb.auto_consent.realm_id, "decision": decision}

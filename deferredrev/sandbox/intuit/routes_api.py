"""Accounting API routes under ``/v3/company/{realmId}/...`` (reference §2-7, §9.8-28)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from deferredrev.sandbox.intuit import attachments, journal, reports
from deferredrev.sandbox.intuit.company import Company
from deferredrev.sandbox.intuit.journal import WriteOptions
from deferredrev.sandbox.intuit.oauth import BearerError
from deferredrev.sandbox.intuit.query import run_query
from deferredrev.sandbox.intuit.wire import (
    QboFault,
    Request,
    Response,
    auth_fault_response,
    fault_response,
    forbidden_response,
    json_response,
    qbo_time,
    text_response,
    throttle_response,
)

if TYPE_CHECKING:
    from deferredrev.sandbox.intuit.sandbox import IntuitSandbox

REQUEST_ID_LIMIT = 50
BATCH_REQUEST_ID_LIMIT = 36


def unsupported(detail: str, status: int = 400) -> QboFault:
    return QboFault("500", "Unsupported Operation", detail, status=status)


def bad_body() -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property", "Unable to parse the request body as JSON")


def handle(sb: IntuitSandbox, request: Request, realm: str, rest: str, *, delay: float = 0.0) -> Response:
    """Auth, throttle, then route; ``delay`` (an injected slow response) is spent while holding an in-flight slot."""
    now = sb.clock.now()
    try:
        grant = sb.oauth.check_api_access(request.header("authorization"), realm, now)
    except BearerError as error:
        if error.status == 403:
            return forbidden_response(error.detail, now)
        return auth_fault_response(error.detail, now, xml=sb.config.xml_auth_faults)
    batch_items = _batch_size(request) if rest == "batch" else None
    if not sb.limiter.acquire(realm, grant.client_id, batch_items=batch_items):
        return throttle_response(now, xml=sb.config.xml_throttle_faults)
    try:
        if delay > 0:
            time.sleep(delay)
        return _with_request_id(sb, request, realm, rest, now)
    finally:
        sb.limiter.release(realm, grant.client_id)


def _batch_size(request: Request) -> int:
    try:
        items = request.json().get("BatchItemRequest")
    except (ValueError, AttributeError):
        return 1
    return len(items) if isinstance(items, list) else 1


def _with_request_id(sb: IntuitSandbox, request: Request, realm: str, rest: str, now: datetime) -> Response:
    request_id = request.param("requestid")

    def action() -> Response:
        return _route(sb, request, realm, rest, now)

    if request_id is None or request_id == "":
        return action()
    limit = BATCH_REQUEST_ID_LIMIT if rest == "batch" else REQUEST_ID_LIMIT
    if len(request_id) > limit:
        fault = QboFault(
            "2050",
            "String length is either shorter or longer than supported by specification",
            f"requestid must be at most {limit} characters, was {len(request_id)}",
            element="requestid",
        )
        return fault_response(fault, now)
    return sb.idempotency.run(realm, request_id, request, now, action)


def _route(sb: IntuitSandbox, request: Request, realm: str, rest: str, now: datetime) -> Response:
    parts = rest.split("/")
    try:
        with sb.lock:
            company = sb.companies[realm]
            if parts[0].lower() == "download" and request.method == "GET" and len(parts) == 2:
                # A plain-text answer: the file's short-lived URL (ATT).
                return text_response(200, sb.download_url(company, parts[1], now))
            payload = _dispatch(sb, request, company, parts, now)
    except QboFault as fault:
        return fault_response(fault, now)
    return json_response(200, payload if "Header" in payload else {**payload, "time": qbo_time(now)})


def _dispatch(sb: IntuitSandbox, request: Request, company: Company, parts: list[str], now: datetime) -> dict[str, Any]:
    entity, method = parts[0].lower(), request.method
    if entity == "companyinfo" and method == "GET" and len(parts) == 2:
        return {"CompanyInfo": company.company_info_json()}
    if entity == "preferences" and method == "GET" and len(parts) == 1:
        return {"Preferences": company.preferences.to_json()}
    if entity == "query" and len(parts) == 1 and method in ("GET", "POST"):
        return {"QueryResponse": _query(sb, request, company)}
    if entity == "account" and method == "GET" and len(parts) == 2:
        return {"Account": _account(sb, company, parts[1])}
    if entity == "journalentry" and method == "GET" and len(parts) == 2:
        return {"JournalEntry": journal.read(company, parts[1])}
    if entity == "journalentry" and method == "POST" and len(parts) == 1:
        return {"JournalEntry": _write_entry(sb, request, company, now)}
    if entity == "batch" and method == "POST" and len(parts) == 1:
        return {"BatchItemResponse": _batch(sb, request, company, now)}
    if entity == "upload" and method == "POST" and len(parts) == 1:
        return {"AttachableResponse": _upload(request, company, now)}
    if entity == "attachable" and method == "GET" and len(parts) == 2:
        temporary = sb.download_url(company, parts[1], now) if parts[1] in company.attachment_files else None
        return {"Attachable": attachments.read(company, parts[1], temporary)}
    if entity == "attachable" and method == "POST" and len(parts) == 1:
        return {"Attachable": _write_attachable(request, company, now)}
    if entity == "reports" and method == "GET" and len(parts) == 2:
        params = {key: values[0] for key, values in request.query.items() if values}
        return reports.run_report(company, parts[1], params, now)
    raise unsupported(f"Operation {method} {'/'.join(parts)} is not supported.", status=404)


def _query_text(request: Request) -> str:
    if request.method == "POST" and request.body:
        return request.body.decode("utf-8")
    return request.param("query") or ""


def _query(sb: IntuitSandbox, request: Request, company: Company) -> dict[str, Any]:
    return query_company(sb, company, _query_text(request))


def query_company(sb: IntuitSandbox, company: Company, text: str) -> dict[str, Any]:
    return run_query(text, lambda entity: sb.rows(company, entity), over_cap=sb.config.max_results_over_cap)


def _account(sb: IntuitSandbox, company: Company, account_id: str) -> dict[str, Any]:
    account = company.accounts.get(account_id)
    if account is None:
        raise journal.not_found(journal.INACTIVE_DETAIL)
    return company.account_json(account, mark_inactive=sb.config.mark_inactive_names)


def _upload(request: Request, company: Company, now: datetime) -> list[dict[str, Any]]:
    """One AttachableResponse item per file: its Attachable, or its Fault (the request as a whole still answers 200)."""
    if len(request.body) > attachments.MAX_REQUEST:
        raise QboFault("6000", "A business validation error has occurred while processing your request",
                       "Business Validation Error: the request is larger than 100 MB")  # fmt: skip
    parts = attachments.split_parts(request.body, attachments.boundary_of(request.header("content-type")))
    results: list[dict[str, Any]] = []
    for metadata_part, content in attachments.pair_parts(parts):
        try:
            metadata = attachments.parse_metadata(metadata_part) if metadata_part is not None else None
            results.append({"Attachable": attachments.create_from_upload(company, metadata, content, now)})
        except QboFault as fault:
            results.append({"Fault": fault.fault()})
    return results


def _write_attachable(request: Request, company: Company, now: datetime) -> dict[str, Any]:
    try:
        payload = request.json()
    except ValueError:
        raise bad_body() from None
    operation = (request.param("operation") or "").lower()
    if operation == "delete":
        return attachments.delete(company, payload)
    if operation in ("", "create", "update"):
        return attachments.create_note(company, payload, now)
    raise unsupported(f"Operation {operation} is not supported for Attachable.")


def _options(request: Request) -> WriteOptions:
    includes = {part.strip().lower() for value in request.query.get("include", []) for part in value.split(",")}
    return WriteOptions(allow_duplicate_doc_number="allowduplicatedocnum" in includes)


def _write_entry(sb: IntuitSandbox, request: Request, company: Company, now: datetime) -> dict[str, Any]:
    try:
        payload = request.json()
    except ValueError:
        raise bad_body() from None
    return write_entry(sb, company, (request.param("operation") or "").lower(), payload, now, _options(request))


def write_entry(
    sb: IntuitSandbox, company: Company, operation: str, payload: Any, now: datetime, options: WriteOptions
) -> dict[str, Any]:
    if operation == "delete":
        return journal.delete(company, sb.config, payload)
    if operation == "update":
        return journal.update(company, sb.config, payload, now, options)
    if operation in ("", "create"):
        return journal.create(company, sb.config, payload, now, options)
    raise unsupported(f"Operation {operation} is not supported for JournalEntry.")


def _batch(sb: IntuitSandbox, request: Request, company: Company, now: datetime) -> list[dict[str, Any]]:
    try:
        items = request.json().get("BatchItemRequest")
    except (ValueError, AttributeError):
        raise bad_body() from None
    if not isinstance(items, list) or not items:
        raise QboFault(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter BatchItemRequest is missing in the request",
            element="BatchItemRequest",
        )
    if len(items) > sb.config.max_batch_items:
        raise QboFault(
            "1040",
            "Batch size exceeds allowed limit",
            f"A batch may hold at most {sb.config.max_batch_items} items; this one has {len(items)}.",
        )
    for item in items:
        if not isinstance(item, dict) or not item.get("bId"):
            raise QboFault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter bId is missing in the request",
                element="bId",
            )
    return [_batch_item(sb, item, company, now, _options(request)) for item in items]


def _batch_item(
    sb: IntuitSandbox, item: dict[str, Any], company: Company, now: datetime, options: WriteOptions
) -> dict[str, Any]:
    bid = str(item["bId"])
    try:
        if "Query" in item:
            return {"bId": bid, "QueryResponse": query_company(sb, company, str(item["Query"]))}
        entity_keys = [key for key in item if key not in ("bId", "operation", "optionsData")]
        if entity_keys != ["JournalEntry"]:
            raise unsupported(f"Batch item entity {entity_keys} is not supported by the sandbox.")
        operation = str(item.get("operation") or "create").lower()
        return {"bId": bid, "JournalEntry": write_entry(sb, company, operation, item["JournalEntry"], now, options)}
    except QboFault as fault:
        return {"bId": bid, "Fault": fault.fault()}

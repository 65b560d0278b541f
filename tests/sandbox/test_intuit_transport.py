"""Transport behaviour: rate limits, injected faults, intuit_tid, concurrency, keep-alive and the admin API."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from deferredrev.sandbox.intuit import US_REALM, Fault, IntuitSandbox, RateLimits
from tests.sandbox.conftest import HTTP, Connect, MakeSandbox, api_client, authorize_params, refresh
from tests.sandbox.test_intuit_journal import JE_PATH, entry

PREFS = f"/v3/company/{US_REALM}/preferences"
BATCH = f"/v3/company/{US_REALM}/batch"


def throttled(response: httpx.Response) -> bool:
    if response.status_code != 429:
        return False
    error = response.json()["Fault"]["Error"][0]
    return error["code"] == "3001" and "ThrottleExceeded" in error["Message"]


def test_per_minute_limit_with_time_scale(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    limits = RateLimits(per_minute=20, per_second=1000, in_flight=100, time_scale=60)
    sb = make_intuit(rate_limits=limits)
    with api_client(sb, connect_intuit(sb)["access_token"]) as client:
        statuses = [client.get(PREFS) for _ in range(25)]
        assert sum(r.status_code == 200 for r in statuses) == 20
        assert all(throttled(r) for r in statuses[20:])
        time.sleep(1.05)
        assert client.get(PREFS).status_code == 200


def test_burst_limit_of_ten_per_second(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    sb = make_intuit(rate_limits=RateLimits(), xml_throttle_faults=True)
    with api_client(sb, connect_intuit(sb)["access_token"]) as client:
        responses = [client.get(PREFS) for _ in range(12)]

    assert [r.status_code for r in responses[:10]] == [200] * 10
    assert responses[10].status_code == 429 and '<Error code="3001">' in responses[10].text
    assert "xml" in responses[10].headers["content-type"]


def test_in_flight_limit(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    sb = make_intuit(rate_limits=RateLimits(in_flight=2, per_second=100))
    token = connect_intuit(sb)["access_token"]
    sb.inject(Fault.delay(0.4, path="/preferences", times=2))

    def call(_: int) -> int:
        with api_client(sb, token) as client:
            return client.get(PREFS).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = [pool.submit(call, i) for i in range(2)]
        time.sleep(0.15)
        assert call(3) == 429
    assert [f.result() for f in slow] == [200, 200]


def test_batch_rate_limit_and_batch_counting(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    limits = RateLimits(batch_per_minute_app=3, per_minute=7, per_second=100, batch_counts_as_items=True)
    sb = make_intuit(rate_limits=limits)
    query = {"BatchItemRequest": [{"bId": "q", "Query": "SELECT * FROM Account MAXRESULTS 1"}] * 2}
    with api_client(sb, connect_intuit(sb)["access_token"]) as client:
        batches = [client.post(BATCH, json=query).status_code for _ in range(4)]
        after = client.get(PREFS).status_code

    assert batches == [200, 200, 200, 429]
    assert after == 200  # 3 batches x 2 items = 6 of the 7 per minute
    with api_client(sb, connect_intuit(sb)["access_token"]) as client:
        assert client.get(PREFS).status_code == 429


def test_rate_limits_ignore_the_manual_clock(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    sb = make_intuit(rate_limits=RateLimits(per_minute=2, per_second=100))
    with api_client(sb, connect_intuit(sb)["access_token"]) as client:
        client.get(PREFS)
        client.get(PREFS)
        sb.clock.advance(timedelta(minutes=5))
        assert client.get(PREFS).status_code == 429


def test_status_faults_are_one_shot_and_path_filtered(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    intuit.inject(Fault.http_status(503, path="/journalentry", times=2))

    assert qbo_api.get(PREFS).status_code == 200
    first = qbo_api.post(JE_PATH, json=entry())
    second = qbo_api.post(JE_PATH, json=entry())
    third = qbo_api.post(JE_PATH, json=entry())

    assert first.status_code == second.status_code == 503
    assert first.json()["Fault"]["type"] == "SystemFault" and first.json()["Fault"]["Error"][0]["code"] == "10000"
    assert third.status_code == 200 and len(intuit.journal_entries(US_REALM)) == 1


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        (Fault.http_status(401), lambda r: r.json()["fault"]["error"][0]["code"] == "3200"),
        (Fault.http_status(401, xml=True), lambda r: "AuthenticationFault" in r.text),
        (Fault.http_status(403), lambda r: r.json()["Fault"]["Error"][0]["code"] == "3100"),
        (Fault.http_status(429), lambda r: r.json()["Fault"]["Error"][0]["code"] == "3001"),
        (Fault.http_status(429, xml=True), lambda r: "ThrottleExceeded" in r.text and r.text.startswith("<?xml")),
        (Fault.http_status(503, body="<html>Busy</html>"), lambda r: "text/html" in r.headers["content-type"]),
        (Fault.http_status(502, method="GET"), lambda r: r.status_code == 502),
    ],
)
def test_status_fault_bodies(intuit: IntuitSandbox, qbo_api: httpx.Client, fault: Fault, check: Any) -> None:
    intuit.inject(fault)

    response = qbo_api.get(PREFS)

    assert response.status_code == fault.status and check(response)
    assert qbo_api.get(PREFS).status_code == 200


def test_token_endpoint_faults(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit)
    intuit.inject(Fault.http_status(503, path="/oauth2/v1/tokens"))

    failed = refresh(intuit, tokens["refresh_token"])

    assert failed.status_code == 503 and failed.json() == {"error": "server_error"}
    assert refresh(intuit, tokens["refresh_token"]).status_code == 200


def test_connection_reset_drops_the_request(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    intuit.inject(Fault.connection_reset(path="/journalentry"))

    with pytest.raises(httpx.TransportError):
        qbo_api.post(JE_PATH, json=entry())

    assert intuit.journal_entries(US_REALM) == []
    assert [r.status for r in intuit.requests if r.path == JE_PATH] == [0]
    assert qbo_api.post(JE_PATH, json=entry()).status_code == 200


@pytest.mark.parametrize("then", ["reset", "500"])
def test_commit_then_fail_then_retry_with_the_same_requestid(
    intuit: IntuitSandbox, qbo_api: httpx.Client, then: str
) -> None:
    intuit.inject(Fault.commit_then_fail(then=then, path="/journalentry"))  # type: ignore[arg-type]
    params = {"requestid": "outcome-unknown-1"}

    if then == "reset":
        with pytest.raises(httpx.TransportError):
            qbo_api.post(JE_PATH, json=entry(), params=params)
    else:
        assert qbo_api.post(JE_PATH, json=entry(), params=params).status_code == 500
    committed = intuit.journal_entries(US_REALM)
    retry = qbo_api.post(JE_PATH, json=entry(), params=params)

    assert len(committed) == 1
    assert retry.status_code == 200 and retry.json()["JournalEntry"]["Id"] == committed[0]["Id"]
    assert len(intuit.journal_entries(US_REALM)) == 1


def test_delay_then_timeout_then_retry_creates_one_entry(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    intuit.inject(Fault.delay(0.5, path="/journalentry"))
    params = {"requestid": "slow-1"}

    with pytest.raises(httpx.ReadTimeout):
        qbo_api.post(JE_PATH, json=entry(), params=params, timeout=0.1)
    retry = qbo_api.post(JE_PATH, json=entry(), params=params)
    time.sleep(0.6)

    assert retry.status_code == 200
    assert len(intuit.journal_entries(US_REALM)) == 1
    assert [r.status for r in intuit.requests if r.path == JE_PATH] == [200, 200]


def test_intuit_tid_on_every_response(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    responses = [
        HTTP.get(intuit.discovery_url),
        HTTP.get(intuit.authorize_url, params=authorize_params(intuit)),
        HTTP.get(intuit.authorize_url, params={**authorize_params(intuit), "redirect_uri": "http://x/"}),
        HTTP.post(intuit.token_url, data={"grant_type": "refresh_token", "refresh_token": "x"}),
        HTTP.post(intuit.revoke_url, json={"token": "x"}, auth=(intuit.client_id, intuit.client_secret)),
        HTTP.get(f"{intuit.url}/nope"),
        HTTP.get(f"{intuit.url}/_sandbox/state"),
        HTTP.get(f"{intuit.url}{PREFS}"),
        qbo_api.get(PREFS),
        qbo_api.get(f"/v3/company/{US_REALM}/query", params={"query": "SELECT"}),
        qbo_api.get(f"/v3/company/{US_REALM}/widgets"),
    ]

    assert [r.status_code for r in responses] == [200, 302, 400, 401, 200, 404, 200, 401, 200, 400, 404]
    tids = [r.headers["intuit_tid"] for r in responses]
    assert len(set(tids)) == len(tids)


def test_twenty_five_concurrent_connections(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    token = connect_intuit(intuit)["access_token"]
    intuit.inject(Fault.delay(0.3, path="/preferences", times=25))
    barrier = threading.Barrier(25)

    def call(_: int) -> int:
        with api_client(intuit, token) as client:
            barrier.wait()
            return client.get(PREFS).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=25) as pool:
        statuses = list(pool.map(call, range(25)))

    assert statuses == [200] * 25
    assert time.monotonic() - started < 2.5


def test_keep_alive_reuses_one_connection(qbo_api: httpx.Client) -> None:
    ports = {qbo_api.get(PREFS).extensions["network_stream"].get_extra_info("client_addr") for _ in range(5)}

    assert len(ports) == 1


def test_request_log_never_holds_tokens(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit)
    refresh(intuit, tokens["refresh_token"])
    HTTP.get(f"{intuit.url}/x", params={"code": "secret-code", "refresh_token": tokens["refresh_token"]})

    logged = repr(list(intuit.requests))
    assert tokens["refresh_token"] not in logged and tokens["access_token"] not in logged and "secret-code" not in logged
    assert intuit.requests.count(path_contains="/oauth2/v1/tokens/bearer") == 2


def admin(intuit: IntuitSandbox, method: str, path: str, body: Any = None) -> Any:
    response = HTTP.request(method, f"{intuit.url}/_sandbox{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_admin_api_drives_the_sandbox(intuit: IntuitSandbox, qbo_api: httpx.Client, connect_intuit: Connect) -> None:
    assert admin(intuit, "GET", "/state")["client_id"] == intuit.client_id
    admin(intuit, "POST", "/faults", {"kind": "status", "status": 500, "path": "/preferences"})
    assert [f["status"] for f in admin(intuit, "GET", "/faults")] == [500]
    assert qbo_api.get(PREFS).status_code == 500

    admin(intuit, "POST", f"/companies/{US_REALM}/book-close-date", {"date": "2026-03-31"})
    closed = qbo_api.post(JE_PATH, json=entry())
    assert closed.json()["Fault"]["Error"][0]["code"] == "6210"
    admin(intuit, "POST", f"/companies/{US_REALM}/book-close-date", {"date": None})
    assert qbo_api.post(JE_PATH, json=entry()).status_code == 200
    assert [je["DocNumber"] for je in admin(intuit, "GET", f"/companies/{US_REALM}/journal-entries")] == ["REVREC-2026-03"]

    admin(intuit, "POST", f"/companies/{US_REALM}/accounts/36/deactivate")
    assert qbo_api.post(JE_PATH, json=entry(DocNumber="2")).json()["Fault"]["Error"][0]["code"] == "610"

    admin(intuit, "POST", "/clock/advance", {"seconds": 3600})
    assert qbo_api.get(PREFS).status_code == 401


def test_admin_consent_redirects_and_disconnect(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    admin(intuit, "POST", "/redirect-uris", {"uri": "http://127.0.0.1:1/other"})
    admin(intuit, "POST", "/auto-consent", {"realm_id": US_REALM, "decision": "non_admin"})
    denied = HTTP.get(intuit.authorize_url, params={**authorize_params(intuit), "redirect_uri": "http://127.0.0.1:1/other"})
    assert "error=access_denied" in denied.headers["location"]
    admin(intuit, "DELETE", "/auto-consent")
    assert HTTP.get(intuit.authorize_url, params=authorize_params(intuit)).status_code == 200

    tokens = connect_intuit(intuit)
    assert admin(intuit, "GET", "/state")["connections"] == [{"client_id": intuit.client_id, "realm_id": US_REALM}]
    admin(intuit, "POST", f"/companies/{US_REALM}/disconnect")
    assert refresh(intuit, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert admin(intuit, "GET", "/token-calls") == ["authorization_code", "refresh_token"]


def test_admin_errors(intuit: IntuitSandbox) -> None:
    assert HTTP.post(f"{intuit.url}/_sandbox/faults", json={"kind": "explode"}).status_code == 400
    assert HTTP.get(f"{intuit.url}/_sandbox/companies/123/journal-entries").status_code == 404
    assert HTTP.get(f"{intuit.url}/_sandbox/nothing").status_code == 404
    assert intuit.requests.count() == 0

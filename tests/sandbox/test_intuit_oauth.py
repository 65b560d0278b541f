"""OAuth 2.0 / OpenID behaviour of the Intuit intuit: discovery, consent, code exchange, refresh, revoke, bearer."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from deferredrev.sandbox.intuit import BIG_REALM, US_REALM, AutoConsent, IntuitSandbox
from tests.sandbox.conftest import (
    ACCOUNTING,
    HTTP,
    REDIRECT_URI,
    Connect,
    MakeSandbox,
    api_client,
    authorize_params,
    callback_params,
    exchange,
    get_code,
    refresh,
)

DAY = timedelta(days=1)


def company_info(sb: IntuitSandbox, access_token: str, realm: str = US_REALM) -> httpx.Response:
    with api_client(sb, access_token) as client:
        return client.get(f"/v3/company/{realm}/companyinfo/{realm}")


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/openid_sandbox_configuration",
        "/.well-known/openid-sandbox-configuration",
        "/.well-known/openid_configuration/",
    ],
)
def test_discovery_document_points_at_the_sandbox(intuit: IntuitSandbox, path: str) -> None:
    response = HTTP.get(intuit.url + path)

    assert response.status_code == 200
    doc = response.json()
    assert doc["authorization_endpoint"] == intuit.authorize_url
    assert doc["token_endpoint"] == intuit.token_url
    assert doc["revocation_endpoint"] == intuit.revoke_url
    assert doc["issuer"].startswith(intuit.url) and doc["jwks_uri"].startswith(intuit.url)
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_post", "client_secret_basic"]
    assert {"response_types_supported", "scopes_supported", "claims_supported", "userinfo_endpoint"} <= set(doc)


def test_consent_page_then_authorize_redirects_with_code_state_and_realm(intuit: IntuitSandbox) -> None:
    page = HTTP.get(intuit.authorize_url, params=authorize_params(intuit, state="<b>x</b>"))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Sandbox Company_US_1" in page.text and "Authorize" in page.text and "Deny" in page.text
    pending = re.search(r'name="pending" value="([^"]+)"', page.text)
    assert pending is not None

    form = {"pending": pending.group(1), "user": "admin", "realm_id": US_REALM, "decision": "allow"}
    params = callback_params(HTTP.post(f"{intuit.url}/connect/oauth2/consent", data=form))

    assert params["state"] == "<b>x</b>" and params["realmId"] == US_REALM and params["code"]
    tokens = exchange(intuit, params["code"]).json()
    assert company_info(intuit, tokens["access_token"]).json()["CompanyInfo"]["CompanyName"] == "Sandbox Company_US_1"


def test_consent_page_escapes_and_pending_requests_are_single_use(intuit: IntuitSandbox) -> None:
    intuit.add_company("Bob's <script>alert(1)</script> Shop", chart=())
    page = HTTP.get(intuit.authorize_url, params=authorize_params(intuit))
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    pending = re.search(r'name="pending" value="([^"]+)"', page.text)
    assert pending is not None
    form = {"pending": pending.group(1), "user": "admin", "realm_id": US_REALM, "decision": "deny"}

    first = HTTP.post(f"{intuit.url}/connect/oauth2/consent", data=form)
    second = HTTP.post(f"{intuit.url}/connect/oauth2/consent", data=form)

    assert callback_params(first) == {"error": "access_denied", "state": "state-123"}
    assert second.status_code == 400


def test_non_admin_user_on_the_page_is_denied(intuit: IntuitSandbox) -> None:
    page = HTTP.get(intuit.authorize_url, params=authorize_params(intuit))
    pending = re.search(r'name="pending" value="([^"]+)"', page.text)
    assert pending is not None
    form = {"pending": pending.group(1), "user": "bookkeeper", "realm_id": US_REALM, "decision": "allow"}

    params = callback_params(HTTP.post(f"{intuit.url}/connect/oauth2/consent", data=form))

    assert params == {"error": "access_denied", "state": "state-123"}


@pytest.mark.parametrize("decision", ["deny", "non_admin"])
def test_auto_consent_denials(intuit: IntuitSandbox, decision: str) -> None:
    intuit.auto_consent = AutoConsent(realm_id=US_REALM, decision=decision)  # type: ignore[arg-type]

    params = callback_params(HTTP.get(intuit.authorize_url, params=authorize_params(intuit)))

    assert params == {"error": "access_denied", "state": "state-123"}


def test_invalid_scope_redirects_with_error(intuit: IntuitSandbox) -> None:
    params = callback_params(HTTP.get(intuit.authorize_url, params=authorize_params(intuit, scope="accounting.everything")))

    assert params == {"error": "invalid_scope", "state": "state-123"}


def test_openid_only_scope_has_no_realm_id(intuit: IntuitSandbox) -> None:
    intuit.auto_consent = AutoConsent()
    params = callback_params(HTTP.get(intuit.authorize_url, params=authorize_params(intuit, scope="openid email")))

    assert "code" in params and "realmId" not in params


@pytest.mark.parametrize(
    "override",
    [{"client_id": "someone-else"}, {"redirect_uri": "http://evil.example/cb"}, {"client_id": ""}],
)
def test_unknown_client_or_redirect_uri_is_a_400_page_without_redirect(
    intuit: IntuitSandbox, override: dict[str, str]
) -> None:
    intuit.auto_consent = AutoConsent()
    response = HTTP.get(intuit.authorize_url, params={**authorize_params(intuit), **override})

    assert response.status_code == 400
    assert "location" not in response.headers and "text/html" in response.headers["content-type"]


def test_registered_redirect_uri_at_runtime(intuit: IntuitSandbox) -> None:
    intuit.register_redirect_uri("http://127.0.0.1:9999/cb")
    intuit.auto_consent = AutoConsent()
    params = {**authorize_params(intuit), "redirect_uri": "http://127.0.0.1:9999/cb"}

    response = HTTP.get(intuit.authorize_url, params=params)

    assert response.status_code == 302 and response.headers["location"].startswith("http://127.0.0.1:9999/cb?code=")


def test_token_response_shape(intuit: IntuitSandbox) -> None:
    response = exchange(intuit, get_code(intuit))

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store" and response.headers["intuit_tid"].startswith("1-")
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 100 * 86400
    assert "x_refresh_token_hard_expires_in" not in body and "id_token" not in body
    assert body["access_token"] != body["refresh_token"]
    assert intuit.token_endpoint_calls == ["authorization_code"]


def test_hard_expiry_field_only_on_request(intuit: IntuitSandbox) -> None:
    body = exchange(intuit, get_code(intuit), **{"x-include-refresh-token-hard-expires-in": "true"}).json()

    assert body["x_refresh_token_hard_expires_in"] == (5 * 365 + 1) * 86400


def test_client_secret_post_is_accepted(intuit: IntuitSandbox) -> None:
    data = {
        "grant_type": "authorization_code",
        "code": get_code(intuit),
        "redirect_uri": REDIRECT_URI,
        "client_id": intuit.client_id,
        "client_secret": intuit.client_secret,
    }
    assert HTTP.post(intuit.token_url, data=data).status_code == 200


@pytest.mark.parametrize("auth", [("wrong-client", "secret"), ("client", "wrong-secret"), None])
def test_wrong_client_credentials_are_401_invalid_client(intuit: IntuitSandbox, auth: tuple[str, str] | None) -> None:
    if auth is not None and auth[0] == "client":
        auth = (intuit.client_id, auth[1])
    data = {"grant_type": "authorization_code", "code": get_code(intuit), "redirect_uri": REDIRECT_URI}

    response = HTTP.post(intuit.token_url, data=data, auth=auth) if auth else HTTP.post(intuit.token_url, data=data)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_code_must_be_redeemed_with_the_same_redirect_uri(intuit: IntuitSandbox) -> None:
    data = {"grant_type": "authorization_code", "code": get_code(intuit), "redirect_uri": "http://127.0.0.1/other"}
    response = HTTP.post(intuit.token_url, data=data, auth=(intuit.client_id, intuit.client_secret))

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_code_expires(intuit: IntuitSandbox) -> None:
    code = get_code(intuit)
    intuit.clock.advance(timedelta(minutes=10))

    assert exchange(intuit, code).json()["error"] == "invalid_grant"


def test_code_reuse_is_invalid_grant_and_revokes_the_issued_tokens(intuit: IntuitSandbox) -> None:
    code = get_code(intuit)
    tokens = exchange(intuit, code).json()
    assert company_info(intuit, tokens["access_token"]).status_code == 200

    reused = exchange(intuit, code)

    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert company_info(intuit, tokens["access_token"]).status_code == 401
    assert refresh(intuit, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_reuse_keeps_tokens_when_configured(make_intuit: MakeSandbox) -> None:
    sb = make_intuit(revoke_on_code_reuse=False)
    code = get_code(sb)
    tokens = exchange(sb, code).json()

    assert exchange(sb, code).status_code == 400
    assert company_info(sb, tokens["access_token"]).status_code == 200


def test_unsupported_grant_type(intuit: IntuitSandbox) -> None:
    response = HTTP.post(intuit.token_url, data={"grant_type": "password"}, auth=(intuit.client_id, intuit.client_secret))

    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_refresh_keeps_the_value_within_a_day_and_always_mints_a_new_access_token(
    intuit: IntuitSandbox, connect_intuit: Connect
) -> None:
    first = connect_intuit(intuit)
    intuit.clock.advance(timedelta(hours=2))

    second = refresh(intuit, first["refresh_token"]).json()

    assert second["refresh_token"] == first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert company_info(intuit, first["access_token"]).status_code == 401
    assert company_info(intuit, second["access_token"]).status_code == 200
    assert intuit.token_endpoint_calls == ["authorization_code", "refresh_token"]


def test_refresh_rotates_after_a_day_and_the_old_value_has_a_24h_grace(
    intuit: IntuitSandbox, connect_intuit: Connect
) -> None:
    old = connect_intuit(intuit)["refresh_token"]
    intuit.clock.advance(DAY)
    new = refresh(intuit, old).json()["refresh_token"]
    assert new != old

    intuit.clock.advance(timedelta(hours=23))
    in_grace = refresh(intuit, old)
    assert in_grace.status_code == 200 and in_grace.json()["refresh_token"] == new

    intuit.clock.advance(timedelta(hours=1))
    expired = refresh(intuit, old)
    assert expired.status_code == 400
    assert expired.json() == {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}
    assert refresh(intuit, new).status_code == 200


def test_rotation_on_every_refresh_when_configured(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    sb = make_intuit(rotate_refresh_token_after=timedelta(0))
    first = connect_intuit(sb)["refresh_token"]
    second = refresh(sb, first).json()["refresh_token"]
    third = refresh(sb, second).json()["refresh_token"]

    assert len({first, second, third}) == 3


def test_refresh_token_expires_after_100_days_of_inactivity(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    token = connect_intuit(intuit)["refresh_token"]
    intuit.clock.advance(99 * DAY)
    body = refresh(intuit, token).json()
    token = body["refresh_token"]
    assert body["x_refresh_token_expires_in"] == 100 * 86400

    intuit.clock.advance(100 * DAY)

    assert refresh(intuit, token).json()["error"] == "invalid_grant"


def test_refresh_token_hard_expiry_after_five_years(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    token = connect_intuit(intuit)["refresh_token"]
    for _ in range(19):
        intuit.clock.advance(96 * DAY)
        body = refresh(intuit, token, **{"x-include-refresh-token-hard-expires-in": "true"}).json()
        token = body["refresh_token"]
    assert body["x_refresh_token_hard_expires_in"] == (5 * 365 + 1 - 19 * 96) * 86400
    assert body["x_refresh_token_expires_in"] == body["x_refresh_token_hard_expires_in"]

    intuit.clock.advance(timedelta(days=5 * 365 + 1 - 19 * 96))

    response = refresh(intuit, token)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_revoke_kills_refresh_and_access_tokens(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit)

    response = HTTP.post(
        intuit.revoke_url, json={"token": tokens["refresh_token"]}, auth=(intuit.client_id, intuit.client_secret)
    )

    assert response.status_code == 200
    assert company_info(intuit, tokens["access_token"]).status_code == 401
    assert refresh(intuit, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoke_with_an_access_token_and_bad_client(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit)
    bad = HTTP.post(intuit.revoke_url, json={"token": tokens["access_token"]}, auth=("nope", "nope"))
    assert bad.status_code == 401 and bad.json() == {"error": "invalid_client"}

    ok = HTTP.post(intuit.revoke_url, json={"token": tokens["access_token"]}, auth=(intuit.client_id, intuit.client_secret))

    assert ok.status_code == 200
    assert refresh(intuit, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_disconnect_from_quickbooks_side_revokes_everything(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit)
    other = connect_intuit(intuit, BIG_REALM)

    assert intuit.disconnect_from_quickbooks(US_REALM) is None

    assert company_info(intuit, tokens["access_token"]).status_code == 401
    assert refresh(intuit, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert company_info(intuit, other["access_token"], BIG_REALM).status_code == 200


def test_disconnect_calls_the_configured_disconnect_url(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    app = make_intuit()
    sb = make_intuit(disconnect_url=f"{app.url}/disconnected")
    connect_intuit(sb)

    assert sb.disconnect_from_quickbooks(US_REALM) == 404
    assert [(r.path, r.query) for r in app.requests] == [("/disconnected", {"realmId": US_REALM})]


def test_expired_access_token_is_401_with_the_lower_case_fault(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit)
    intuit.clock.advance(timedelta(seconds=3599))
    assert company_info(intuit, tokens["access_token"]).status_code == 200
    intuit.clock.advance(timedelta(seconds=1))

    response = company_info(intuit, tokens["access_token"])

    assert response.status_code == 401
    body = response.json()
    assert body["fault"]["type"] == "AUTHENTICATION" and body["fault"]["error"][0]["code"] == "3200"
    assert "Fault" not in body and isinstance(body["time"], int)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("other_realm", [BIG_REALM, "9341453999999999"], ids=["another-company", "no-such-company"])
def test_bearer_is_checked_per_realm(intuit: IntuitSandbox, connect_intuit: Connect, other_realm: str) -> None:
    """A token used on another company's URL (say, a callback whose realmId was edited) gets Intuit's 401."""
    tokens = connect_intuit(intuit, US_REALM)

    response = company_info(intuit, tokens["access_token"], other_realm)

    assert response.status_code == 401 and response.json()["fault"]["error"][0]["code"] == "3200"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert company_info(intuit, tokens["access_token"], US_REALM).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
def test_missing_or_bad_bearer_is_401(intuit: IntuitSandbox, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = HTTP.get(f"{intuit.url}/v3/company/{US_REALM}/preferences", headers=headers)

    assert response.status_code == 401 and response.json()["fault"]["error"][0]["code"] == "3200"


def test_xml_401_when_configured(make_intuit: MakeSandbox) -> None:
    sb = make_intuit(xml_auth_faults=True)
    response = HTTP.get(f"{sb.url}/v3/company/{US_REALM}/preferences", headers={"Accept": "application/json"})

    assert response.status_code == 401 and "xml" in response.headers["content-type"]
    assert '<Error code="100">' in response.text


def test_token_without_accounting_scope_is_403(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit, scope="openid email")

    response = company_info(intuit, tokens["access_token"])

    assert response.status_code == 403 and response.json()["Fault"]["Error"][0]["code"] == "3100"


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_id_token_is_rs256_signed_and_verifiable_with_jwks(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    tokens = connect_intuit(intuit, scope=f"{ACCOUNTING} openid email")
    header, payload, signature = tokens["id_token"].split(".")
    claims = json.loads(_b64(payload))
    key = HTTP.get(intuit.url + "/op/v1/jwks").json()["keys"][0]
    public = rsa.RSAPublicNumbers(int.from_bytes(_b64(key["e"]), "big"), int.from_bytes(_b64(key["n"]), "big")).public_key()

    public.verify(_b64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert json.loads(_b64(header))["alg"] == "RS256"
    assert claims["aud"] == [intuit.client_id] and claims["realmid"] == US_REALM
    assert claims["iss"] == HTTP.get(intuit.discovery_url).json()["issuer"]
    userinfo = HTTP.get(
        intuit.url + "/v1/openid_connect/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.json()["sub"] == claims["sub"]

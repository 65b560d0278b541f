"""OAuth / OpenID routes: discovery, authorize + consent page, token, revoke, userinfo, JWKS (reference §1, §9.1-7)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode

import jinja2

from deferredrev.sandbox.intuit.config import ACCOUNTING_SCOPE, KNOWN_SCOPES
from deferredrev.sandbox.intuit.oauth import AuthRequest, BearerError, Client, OAuthError
from deferredrev.sandbox.intuit.wire import HTML_TYPE, Request, Response, json_response, oauth_error

if TYPE_CHECKING:
    from deferredrev.sandbox.intuit.sandbox import IntuitSandbox

REALM_SCOPES = frozenset({ACCOUNTING_SCOPE, "com.intuit.quickbooks.payment"})
_PAGES = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
CONSENT_PAGE = _PAGES.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intuit sandbox: connect {{ client_id }}</title></head>
<body>
<h1>Connect an app to QuickBooks (sandbox)</h1>
<p>The app <code>{{ client_id }}</code> wants access to: {{ scopes | join(", ") }}.</p>
<form method="post" action="/connect/oauth2/consent">
  <input type="hidden" name="pending" value="{{ pending }}">
  <fieldset><legend>Sign in as</legend>
  {% for user, admin in users %}
    <label><input type="radio" name="user" value="{{ user }}" {{ "checked" if loop.first else "" }}>
      {{ user }} ({{ "company admin" if admin else "not an admin" }})</label><br>
  {% endfor %}
  </fieldset>
  <fieldset><legend>Company</legend>
  {% for realm_id, name in companies %}
    <label><input type="radio" name="realm_id" value="{{ realm_id }}" {{ "checked" if loop.first else "" }}>
      {{ name }} ({{ realm_id }})</label><br>
  {% endfor %}
  </fieldset>
  <button type="submit" name="decision" value="allow">Authorize</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
""")
ERROR_PAGE = _PAGES.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intuit sandbox: error</title></head>
<body><h1>We can't connect this app</h1><p>{{ message }}</p></body></html>
""")


def error_page(message: str, status: int = 400) -> Response:
    return Response(status=status, body=ERROR_PAGE.render(message=message).encode(), content_type=HTML_TYPE)


def redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return Response(status=302, headers={"Location": uri + separator + urlencode(params)}, content_type=HTML_TYPE)


def discovery(sb: IntuitSandbox) -> Response:
    return json_response(
        200,
        {
            "issuer": sb.issuer,
            "authorization_endpoint": sb.authorize_url,
            "token_endpoint": sb.token_url,
            "userinfo_endpoint": sb.userinfo_url,
            "revocation_endpoint": sb.revoke_url,
            "jwks_uri": sb.jwks_url,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        },
    )


def _first(request: Request) -> dict[str, str]:
    return {key: values[0] for key, values in request.query.items()}


def authorize(sb: IntuitSandbox, request: Request) -> Response:
    params = _first(request)
    client = sb.oauth.clients.get(params.get("client_id", ""))
    if client is None:
        return error_page("Unknown client_id: the app isn't registered with this sandbox.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        return error_page("The redirect_uri isn't registered for this app.")
    state = params.get("state", "")
    if params.get("response_type") != "code":
        return redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
    scopes = tuple(params.get("scope", "").split())
    if not scopes or any(scope not in KNOWN_SCOPES for scope in scopes):
        return redirect(redirect_uri, {"error": "invalid_scope", "state": state})
    if not state:
        return redirect(redirect_uri, {"error": "invalid_request", "error_description": "state is required"})
    auth_request = AuthRequest(client.client_id, redirect_uri, scopes, state)
    auto = sb.auto_consent
    if auto is not None:
        realm_id = auto.realm_id or next(iter(sb.companies), "")
        user = "bookkeeper" if auto.decision == "non_admin" else "admin"
        return decide(sb, auth_request, realm_id=realm_id, user=user, allow=auto.decision != "deny")
    pending = sb.oauth.add_pending(auth_request)
    companies = [(realm_id, company.name) for realm_id, company in sb.companies.items()]
    page = CONSENT_PAGE.render(
        client_id=client.client_id, scopes=scopes, pending=pending, users=list(sb.oauth.users.items()), companies=companies
    )
    return Response(status=200, body=page.encode(), content_type=HTML_TYPE)


def consent(sb: IntuitSandbox, request: Request) -> Response:
    form = request.form()
    auth_request = sb.oauth.take_pending(form.get("pending", ""))
    if auth_request is None:
        return error_page("This authorization request has expired or was already answered.")
    return decide(
        sb, auth_request, realm_id=form.get("realm_id", ""), user=form.get("user", ""), allow=form.get("decision") == "allow"
    )


def decide(sb: IntuitSandbox, auth_request: AuthRequest, *, realm_id: str, user: str, allow: bool) -> Response:
    denied = {"error": "access_denied", "state": auth_request.state}
    if not allow or not sb.oauth.users.get(user, False) or realm_id not in sb.companies:
        return redirect(auth_request.redirect_uri, denied)
    code = sb.oauth.issue_code(auth_request, realm_id, user, sb.clock.now())
    params = {"code": code, "state": auth_request.state}
    if REALM_SCOPES.intersection(auth_request.scopes):
        params["realmId"] = realm_id
    return redirect(auth_request.redirect_uri, params)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    scheme, _, encoded = (request.header("authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id"), form.get("client_secret")


def _authenticate(sb: IntuitSandbox, request: Request, form: dict[str, str]) -> Client:
    client_id, secret = _client_credentials(request, form)
    return sb.oauth.authenticate_client(client_id, secret)


def token(sb: IntuitSandbox, request: Request) -> Response:
    form = request.form() if request.method == "POST" else {}
    grant_type = form.get("grant_type", "")
    sb.record_token_call(grant_type)
    now = sb.clock.now()
    try:
        if request.method != "POST":
            raise OAuthError(405, "invalid_request", "The token endpoint only accepts POST")
        client = _authenticate(sb, request, form)
        if grant_type == "authorization_code":
            if not form.get("code"):
                raise OAuthError(400, "invalid_request", "code is required")
            grant = sb.oauth.exchange_code(client, form["code"], form.get("redirect_uri"), now)
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise OAuthError(400, "invalid_request", "refresh_token is required")
            grant = sb.oauth.refresh(client, form["refresh_token"], now)
        else:
            raise OAuthError(400, "unsupported_grant_type")
    except OAuthError as error:
        return oauth_error(error.status, error.error, error.description)
    include_hard = (request.header("x-include-refresh-token-hard-expires-in") or "").lower() == "true"
    body = sb.oauth.token_response(grant, now, include_hard=include_hard, issuer=sb.issuer)
    return json_response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _revoke_token_value(request: Request) -> str | None:
    if "json" in (request.header("content-type") or ""):
        try:
            payload: Any = json.loads(request.body or b"{}")
        except ValueError:
            return None
        value = payload.get("token") if isinstance(payload, dict) else None
        return value if isinstance(value, str) and value else None
    return request.form().get("token") or None


def revoke(sb: IntuitSandbox, request: Request) -> Response:
    try:
        client = _authenticate(sb, request, request.form() if "json" not in (request.header("content-type") or "") else {})
    except OAuthError as error:
        return oauth_error(error.status, error.error, error.description)
    value = _revoke_token_value(request)
    if value is None:
        return oauth_error(400, "invalid_request", "token is required")
    sb.oauth.revoke(client, value)
    return Response(status=200, content_type="application/json;charset=utf-8")


def userinfo(sb: IntuitSandbox, request: Request) -> Response:
    try:
        grant = sb.oauth.check_bearer(request.header("authorization"), None, sb.clock.now())
    except BearerError as error:
        return oauth_error(401, "invalid_token", error.detail)
    user = grant.user
    return json_response(
        200,
        {
            "sub": grant.user_sub,
            "email": f"{user}@sandbox.example",
            "emailVerified": True,
            "givenName": user.title(),
            "familyName": "Sandbox",
        },
    )


def jwks(sb: IntuitSandbox) -> Response:
    return json_response(200, sb.signer.jwks())

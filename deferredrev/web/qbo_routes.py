"""The browser side of connecting QuickBooks: ``/qbo/connect``, ``/qbo/callback``, ``/qbo/result``, ``/qbo/disconnect``.

A connect link (``GET /qbo/connect?t=<ticket>``) uses nothing up: it shows which Slack workspace the link would
connect a QuickBooks company to, with a warning for whoever was sent someone else's link (consent phishing), and a
button that posts the ticket. Only that ``POST`` redeems the ticket and answers the ``302`` to Intuit. The page has no
external resources or links and is sent with ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``; the
ticket appears on it only in the form's hidden field. The page also sets a ``SameSite=Strict`` cookie tied to the
ticket, which the ``POST`` requires: a form on another site that posts someone's ticket straight to us gets this page
(and its warning) instead of Intuit's consent page.

The other URLs that carry a code or a state never answer with a page: they answer ``302`` (Intuit's rule, so
nothing sensitive leaks through Referer) with ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import Blueprint, Response, make_response, render_template, request, url_for

from deferredrev.services.connections import ConnectFlowError, ConnectionService, ConnectOutcome

BROWSER_COOKIE = "deferredrev_qbo_browser"
COOKIE_PATH = "/qbo"
COOKIE_SECONDS = 600
CONFIRM_COOKIE = "deferredrev_qbo_confirm"  # set by the connect page, required by its POST
CONFIRM_COOKIE_PATH = "/qbo/connect"
CONTINUE_BUTTON = "Continue to Intuit"
# The connect page loads nothing and can't be framed (clicking its button for someone is worth something).
CONNECT_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"


@dataclass(frozen=True)
class ResultPage:
    title: str
    message: str
    next_step: str | None
    good: bool


RESULT_PAGES: dict[str, ResultPage] = {
    ConnectOutcome.CONNECTED: ResultPage(
        "QuickBooks is connected",
        "DeferredRev is now connected to your QuickBooks Online company.",
        "In Slack, run /deferredrev mappings to choose the Deferred Revenue and Revenue accounts.",
        True,
    ),
    ConnectOutcome.RECONNECTED: ResultPage(
        "QuickBooks is reconnected",
        "DeferredRev is connected again. Mappings, contracts and history are as you left them.",
        None,
        True,
    ),
    ConnectOutcome.DENIED: ResultPage(
        "QuickBooks access was not granted",
        "The connection was cancelled at Intuit, or the QuickBooks user who signed in is not a company admin.",
        "Ask a QuickBooks company admin to run /deferredrev connect in Slack and authorize DeferredRev.",
        False,
    ),
    ConnectOutcome.EXPIRED_LINK: ResultPage(
        "This link has expired",
        "Connect links work for 10 minutes.",
        "Run /deferredrev connect in Slack for a new one.",
        False,
    ),
    ConnectOutcome.USED_LINK: ResultPage(
        "This link was already used",
        "Each QuickBooks sign-in link works once, and this one has been used.",
        "Check /deferredrev status in Slack; if you are not connected, run /deferredrev connect again.",
        False,
    ),
    ConnectOutcome.REUSED_LINK: ResultPage(
        "This link was already used",
        "Each connect link works once, and this one has been opened before.",
        "Run /deferredrev connect in Slack for a new one.",
        False,
    ),
    ConnectOutcome.WRONG_BROWSER: ResultPage(
        "Finish in the same browser",
        "The sign-in finished in a different browser from the one that started it.",
        "Run /deferredrev connect in Slack again and complete it in one browser.",
        False,
    ),
    ConnectOutcome.INTUIT_ERROR: ResultPage(
        "QuickBooks didn't complete the connection",
        "Intuit returned an error, so nothing was connected.",
        "Try /deferredrev connect again in a minute. If it keeps failing, check Intuit's status page.",
        False,
    ),
    ConnectOutcome.WRONG_COMPANY: ResultPage(
        "QuickBooks didn't confirm the company",
        "The sign-in came back naming a QuickBooks company that the access just granted doesn't cover, so nothing was "
        "connected and that access was revoked.",
        "Run /deferredrev connect in Slack again and finish it in the same browser without changing the address.",
        False,
    ),
    ConnectOutcome.PLAN: ResultPage(
        "QuickBooks needs the Growth plan",
        "Connecting QuickBooks is available on the Growth plan and above.",
        "Ask whoever manages your DeferredRev subscription to upgrade.",
        False,
    ),
    ConnectOutcome.NOT_CONFIGURED: ResultPage(
        "DeferredRev isn't set up with Intuit yet",
        "DeferredRev isn't set up with Intuit app keys yet: whoever runs DeferredRev must set QBO_CLIENT_ID and "
        "QBO_CLIENT_SECRET.",
        "Once they have, run /deferredrev connect in Slack again.",
        False,
    ),
}
UNKNOWN_RESULT = ResultPage(
    "Something went wrong", "We couldn't tell what happened.", "Run /deferredrev status in Slack.", False
)


def qbo_blueprint(connections: ConnectionService, *, secure_cookies: bool = True) -> Blueprint:
    routes = Blueprint("qbo", __name__)

    @routes.get("/qbo/connect")
    def connect_page() -> Response:
        """The connect link: shows what it would connect and a button; uses nothing up (scanners, prefetchers, a
        second look). A used, expired or refused link goes to its result page at once."""
        if request.method == "HEAD":  # link checkers probe with HEAD: answer without even reading the link
            return _no_store(Response(b"", status=204))
        return confirm_page(request.args.get("t", ""))

    @routes.post("/qbo/connect")
    def connect() -> Response:
        """The page's button: redeems the ticket (once) and sends the browser to Intuit's consent page."""
        ticket = request.form.get("t", "")
        if not _confirmed(ticket, request.cookies.get(CONFIRM_COOKIE)):
            return confirm_page(ticket)  # not posted from our page (a form on another site, say): show it first
        try:
            start = connections.begin(ticket)
        except ConnectFlowError as error:
            return _to_result(error.outcome)
        response = _redirect(start.authorize_url)
        response.set_cookie(
            BROWSER_COOKIE,
            start.browser_nonce,
            max_age=COOKIE_SECONDS,
            path=COOKIE_PATH,
            secure=secure_cookies,
            httponly=True,
            samesite="Lax",
        )
        return response

    def confirm_page(ticket: str) -> Response:
        try:
            preview = connections.preview(ticket)
        except ConnectFlowError as error:
            return _to_result(error.outcome)
        html = render_template(
            "connect.html",
            title=f"Connect QuickBooks to {preview.workspace_label}",
            workspace_name=preview.workspace_name,
            team_id=preview.team_id,
            user_id=preview.user_id,
            ticket=ticket,
            action=url_for(".connect"),
            button=CONTINUE_BUTTON,
        )
        response = _no_store(make_response(html, 200))
        response.headers["Content-Security-Policy"] = CONNECT_PAGE_CSP
        response.set_cookie(
            CONFIRM_COOKIE,
            _confirmation(ticket),
            max_age=COOKIE_SECONDS,
            path=CONFIRM_COOKIE_PATH,
            secure=secure_cookies,
            httponly=True,
            samesite="Strict",  # never sent with a request another site starts
        )
        return response

    @routes.get("/qbo/callback")
    def callback() -> Response:
        query = dict(request.args.items())
        try:
            result = connections.complete(query, request.cookies.get(BROWSER_COOKIE))
            response = _to_result(result.outcome)
        except ConnectFlowError as error:
            response = _to_result(error.outcome)
        response.delete_cookie(BROWSER_COOKIE, path=COOKIE_PATH, secure=secure_cookies, httponly=True, samesite="Lax")
        return response

    @routes.get("/qbo/result")
    def result() -> Response:
        page = RESULT_PAGES.get(request.args.get("outcome", ""), UNKNOWN_RESULT)
        html = render_template(
            "result.html", title=page.title, message=page.message, next_step=page.next_step, good=page.good
        )
        return _no_store(make_response(html, 200))

    @routes.get("/qbo/reconnect")
    def reconnect_help() -> Response:
        """Intuit's Launch / Reconnect URL: connecting always starts in Slack, where we know who you are."""
        html = render_template(
            "result.html",
            title="Reconnect DeferredRev from Slack",
            message="DeferredRev connects to QuickBooks from Slack, so it knows which workspace and admin you are.",
            next_step="In Slack, run /deferredrev reconnect (or /deferredrev connect) and follow the button.",
            good=True,
        )
        return _no_store(make_response(html, 200))

    @routes.get("/qbo/disconnect")
    def disconnected_in_quickbooks() -> Response:
        """Intuit's Disconnect URL. Anyone can open it, so it proves nothing by itself: the service checks (in the
        background, at most once per company every few minutes) whether Intuit still accepts our tokens."""
        realm_id = request.args.get("realmId") or request.args.get("realmid")
        if realm_id and realm_id.isdigit():
            connections.check_remote_disconnect(realm_id)
        page = ResultPage(
            "DeferredRev is disconnected from QuickBooks",
            "DeferredRev no longer has access to this QuickBooks company. Contracts, mappings and posting history "
            "are kept, and entries already in QuickBooks are untouched.",
            "To connect again, run /deferredrev connect in Slack.",
            True,
        )
        html = render_template("result.html", title=page.title, message=page.message, next_step=page.next_step, good=True)
        return _no_store(make_response(html, 200))

    return routes


def _confirmation(ticket: str) -> str:
    """The connect page's cookie value: tied to the ticket, and not the ticket (a one-way hash)."""
    return hashlib.sha256(b"deferredrev connect page|" + ticket.encode()).hexdigest()


def _confirmed(ticket: str, cookie: str | None) -> bool:
    return bool(ticket) and cookie is not None and secrets.compare_digest(cookie.encode(), _confirmation(ticket).encode())


def _to_result(outcome: ConnectOutcome | str) -> Response:
    return _redirect(f"/qbo/result?outcome={outcome}")


def _redirect(location: str) -> Response:
    """A bare 302: no HTML body on URLs that carry codes, states or tickets."""
    return _no_store(Response(b"", status=302, headers={"Location": location}))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

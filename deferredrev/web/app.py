"""The WSGI app: Slack's endpoint (Bolt), the QuickBooks connect pages, health and readiness."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import text

from deferredrev.bot.ack_first import AckGate
from deferredrev.runtime import Runtime
from deferredrev.services.connections import ConnectionService
from deferredrev.web.qbo_routes import qbo_blueprint
from deferredrev.web.replay import ReplayGuard

MAX_BODY_BYTES = 8 * 1024 * 1024


def create_web_app(
    runtime: Runtime,
    *,
    bolt: App | None = None,
    ack_gate: AckGate | None = None,
    connections: ConnectionService | None = None,
) -> Flask:
    web = Flask("deferredrev.web")
    web.config.update(PROPAGATE_EXCEPTIONS=False, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)

    @web.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @web.get("/readyz")
    def readyz() -> tuple[Response, int]:
        try:
            with runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness reports any database failure as "not ready"
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok"), 200

    if bolt is not None:
        if ack_gate is None:  # the gate the Bolt app's listener pool waits on: a fresh one would hold nothing back
            raise ValueError("serving Slack's endpoint needs the AckGate the Bolt app was built with")
        _slack_routes(web, SlackRequestHandler(bolt), runtime, ack_gate)

    if connections is not None:
        web.register_blueprint(qbo_blueprint(connections, secure_cookies=True))

    @web.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return web


def _slack_routes(web: Flask, handler: SlackRequestHandler, runtime: Runtime, ack_gate: AckGate) -> None:
    settings = runtime.settings
    if settings.slack_signing_secret:  # without one (Socket Mode) Slack's requests arrive over the socket instead
        replays = ReplayGuard(settings.slack_signing_secret)

        @web.post("/slack/events")
        def slack_events() -> Response | tuple[Response, int]:
            with ack_gate.acknowledging():  # follow-ups of earlier requests wait until this one is answered
                return _answer_slack(handler, replays)

    if settings.multi_workspace:

        @web.get("/slack/install")
        def slack_install() -> Response:
            return handler.handle(request)

        @web.get("/slack/oauth_redirect")
        def slack_oauth_redirect() -> Response:
            response = handler.handle(request)
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
            return response


def _answer_slack(handler: SlackRequestHandler, replays: ReplayGuard) -> Response | tuple[Response, int]:
    body, timestamp = request.get_data(), request.headers.get("X-Slack-Request-Timestamp")
    if not _plausibly_signed(timestamp, body):
        return jsonify(error="invalid request"), 401
    if not replays.first_time(body, timestamp, request.headers.get("X-Slack-Signature")):
        return jsonify(error="replayed request"), 401
    return handler.handle(request)


def _plausibly_signed(timestamp: str | None, body: bytes) -> bool:
    """Refuse what would crash signature verification (a non-numeric timestamp, a body that is not UTF-8) with 401;
    Bolt then checks the signature itself."""
    if timestamp is not None and not timestamp.strip().isdigit():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

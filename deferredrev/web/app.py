"""HTTP routes beside Slack's: health, readiness, and (with the Slack app) the QuickBooks connect pages."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from sqlalchemy import text

from deferredrev.runtime import Runtime


def create_web_app(runtime: Runtime) -> Flask:
    web = Flask("deferredrev.web")
    web.config.update(PROPAGATE_EXCEPTIONS=False, MAX_CONTENT_LENGTH=8 * 1024 * 1024)

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

    @web.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return web

"""SlackSandbox: a Slack Web API on loopback (real HTTP) that records what the app sends and answers like Slack."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

from waitress.server import create_server
from werkzeug.wrappers import Request, Response

from deferredrev.clock import Clock
from deferredrev.sandbox.slack.model import JSON, OAuthCode, RecordedCall, SlackSandboxError, Token
from deferredrev.sandbox.slack.socket_mode import SocketModeServer
from deferredrev.sandbox.slack.state import RESPONSE_URL_TTL, RESPONSE_URL_USES, ROTATED_TOKEN_TTL, SandboxState, Workspace
from deferredrev.sandbox.slack.webapi import HANDLERS, NO_AUTH, ApiError, Ctx, apply_response

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"


SERVER_THREADS = 16


def _json_response(body: JSON, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON_TYPE, headers=headers or {})


def _parse_args(request: Request) -> JSON:
    args: JSON = dict(request.args.items())
    content_type = request.mimetype
    if content_type == "application/json":
        raw = request.get_data()
        if raw:
            parsed = json.loads(raw)
            if not isinstance(parsed, dict):
                raise ApiError("invalid_json")
            args |= parsed
    elif content_type == "multipart/form-data":
        args |= dict(request.form.items())
    elif request.method == "POST":
        args |= dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
    return args


def _basic_auth(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return client_id, client_secret


class SlackSandbox(SandboxState):
    """Slack's Web API, response_url, file hosting and OAuth authorize page, served on 127.0.0.1.

    Point the app at it with `WebClient(base_url=sb.api_url)` (the app reads SLACK_API_URL); drive it with SlackDriver.
    """

    def __init__(
        self,
        signing_secret: str = "sandbox-signing-secret",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        trigger_ttl: float | None = 3.0,
        app_id: str = "A0SANDBOX",
        bot_name: str = "deferredrev",
        client_id: str = "1111.2222",
        client_secret: str = "sandbox-client-secret",
        verification_token: str = "sandbox-verification-token",
        token_rotation: bool = False,
        token_ttl: int = ROTATED_TOKEN_TTL,
    ) -> None:
        super().__init__(
            clock=clock,
            trigger_ttl=trigger_ttl,
            app_id=app_id,
            bot_name=bot_name,
            client_id=client_id,
            client_secret=client_secret,
            token_rotation=token_rotation,
            token_ttl=token_ttl,
        )
        self.signing_secret = signing_secret
        self.verification_token = verification_token
        self._host = host
        self._port = port
        self._server: Any = None  # waitress's server
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------------------

    def start(self) -> SlackSandbox:
        if self._server is not None:
            return self
        # Waitress's thread pool rather than a thread per connection: the sandbox stands in for Slack's servers, so
        # on the machine under test it should cost as little as it can (0.8 -> 0.5 ms of CPU per response_url post).
        self._server = create_server(
            self.wsgi, host=self._host, port=self._port, threads=SERVER_THREADS, ident="slack-sandbox"
        )
        self.base_url = f"http://{self._host}:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._serve, args=(self._server,), name="slack-sandbox", daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _serve(server: Any) -> None:
        try:
            server.run()
        except (OSError, ValueError):
            pass  # closing the sockets from stop() ends waitress's loop with these

    def stop(self) -> None:
        if self.socket_mode is not None:
            self.socket_mode.stop()
        if self._server is None:
            return
        self._server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def api_url(self) -> str:
        """Use as WebClient(base_url=...) / SLACK_API_URL."""
        if self._server is None:
            raise SlackSandboxError("start() the sandbox first")
        return f"{self.base_url}/api/"

    @property
    def authorize_url(self) -> str:
        """Use as OAuthSettings(authorization_url=...) for the multi-workspace install flow."""
        return f"{self.base_url}/oauth/v2/authorize"

    def enable_socket_mode(self, app_token: str) -> SocketModeServer:
        """Accept ``app_token`` (xapp-) at ``apps.connections.open`` and serve Socket Mode on loopback."""
        self.socket_mode = SocketModeServer(self.app_id)
        self.app_token = app_token
        return self.socket_mode

    def set_browser_session(self, team_id: str, user_id: str, *, approve: bool = True) -> None:
        """Who is signed in when a browser opens the authorize page, and whether they click Allow."""
        with self.changed:
            self.workspace(team_id)
            self.browser_session = (team_id, user_id)
            self.browser_denies = not approve

    # ---- WSGI ---------------------------------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._route(request)
        except Exception:
            logger.exception("slack sandbox failed on %s %s", request.method, request.path)
            response = _json_response({"ok": False, "error": "internal_error"}, 500)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/api/"):
            return self._api(request, path.removeprefix("/api/"))
        if path.startswith("/upload/v1/") and request.method == "POST":
            return self._upload(request, path.removeprefix("/upload/v1/"))
        if path.startswith("/files-pri/"):
            return self._download(request, path.removeprefix("/files-pri/"))
        if path.startswith("/response/") and request.method == "POST":
            return self._response_url(request, path.removeprefix("/response/"))
        if path == "/oauth/v2/authorize":
            return self._authorize(request)
        if path == "/signin":
            return Response("<html><body><h1>Sign in to Slack</h1></body></html>", content_type="text/html")
        return Response("Not Found", status=404)

    # ---- Web API ------------------------------------------------------------------------------------------------------

    def _api(self, request: Request, method: str) -> Response:
        try:
            args = _parse_args(request)
        except (ValueError, ApiError):
            return _json_response({"ok": False, "error": "invalid_json"})
        token = self._token_from(request, args)
        call = RecordedCall(method=method, args=dict(args), token=token, team_id=None, at=self.clock.now())
        with self.changed:
            self.recorded.append(call)
            status, body, headers = self._answer(request, method, args, token, call)
            call.status, call.response = status, body
            self.changed.notify_all()
        return _json_response(body, status, headers)

    def _token_from(self, request: Request, args: JSON) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[7:].strip()
        token = args.pop("token", None)
        return str(token) if token else None

    def _answer(
        self, request: Request, method: str, args: JSON, token: str | None, call: RecordedCall
    ) -> tuple[int, JSON, dict[str, str]]:
        fault = self.take_fault(method)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return fault.status, {"ok": False, "error": fault.error}, headers
        handler = HANDLERS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        ctx = Ctx(state=self, args=args)
        try:
            if method in NO_AUTH:
                args["_bearer"] = token
                credentials = _basic_auth(request)
                if credentials is not None:
                    args.setdefault("client_id", credentials[0])
                    args.setdefault("client_secret", credentials[1])
            else:
                ctx.token = self._authenticate(token)
                ctx.workspace_or_none = self.workspaces[ctx.token.team_id]
                call.team_id = ctx.token.team_id
            body = handler(ctx)
        except ApiError as error:
            return error.status, error.body(), {}
        headers = {"X-OAuth-Scopes": ",".join(ctx.workspace_or_none.scopes)} if ctx.workspace_or_none else {}
        return 200, body, headers

    def _authenticate(self, token: str | None) -> Token:
        if not token:
            raise ApiError("not_authed")
        found = self.tokens.get(token)
        if found is None or found.team_id not in self.workspaces:
            raise ApiError("invalid_auth")
        if found.revoked:
            raise ApiError("token_revoked")
        if found.expires_at is not None and self.now() >= found.expires_at:
            raise ApiError("token_expired")
        return found

    # ---- files --------------------------------------------------------------------------------------------------------

    def _upload(self, request: Request, upload_id: str) -> Response:
        data = request.get_data()
        with self.changed:
            file_id = self.uploads.pop(upload_id, None)
            if file_id is None:
                return Response("invalid upload url", status=404)
            self.hosted[file_id].content = data
            self.changed.notify_all()
        return Response(f"OK - {len(data)}", content_type="text/plain")

    def _download(self, request: Request, rest: str) -> Response:
        if self.download_delay:
            time.sleep(self.download_delay)
        ref, _, _name = rest.partition("/")
        team_id, _, file_id = ref.partition("-")
        header = request.headers.get("Authorization", "")
        token = self.tokens.get(header[7:].strip()) if header.startswith("Bearer ") else None
        with self.lock:
            hosted = self.hosted.get(file_id)
            if token is None or token.revoked or token.team_id != team_id:
                return Response(status=302, headers={"Location": f"{self.base_url}/signin?redir={request.path}"})
            if hosted is None or hosted.team_id != team_id:
                return Response("Not Found", status=404)
            return Response(hosted.content, content_type=hosted.mimetype)

    # ---- response_url -------------------------------------------------------------------------------------------------

    def _response_url(self, request: Request, url_id: str) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return Response("invalid_payload", status=400)
        with self.changed:
            record = self.response_urls.get(url_id)
            if record is None:
                return Response("no_service", status=404)
            record.posts.append(body if isinstance(body, dict) else {"invalid": body})
            if self.now() - record.issued_at > RESPONSE_URL_TTL:
                return Response("expired_url", status=404)
            if record.uses >= RESPONSE_URL_USES:
                return Response("used_url", status=404)
            if not isinstance(body, dict):
                return Response("invalid_payload", status=400)
            record.uses += 1
            try:
                apply_response(self, record, body)
            except ApiError as error:
                return Response(error.error, status=error.status)
            self.changed.notify_all()
        return Response("ok", content_type="text/html")

    # ---- OAuth --------------------------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        query = request.args
        redirect_uri = query.get("redirect_uri")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return Response("<html><body>Invalid client_id or redirect_uri</body></html>", 400, content_type="text/html")
        state = query.get("state", "")
        with self.changed:
            session = self.browser_session or self._default_session(query.get("team"))
            if self.browser_denies:
                return _redirect(redirect_uri, {"error": "access_denied", "state": state})
            code = OAuthCode(
                code=f"{session[0]}.{secrets.token_hex(16)}",
                team_id=session[0],
                user_id=session[1],
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                scopes=query.get("scope", ""),
                user_scopes=query.get("user_scope", ""),
                issued_at=self.now(),
            )
            self.codes[code.code] = code
        return _redirect(redirect_uri, {"code": code.code, "state": state})

    def _default_session(self, team_id: str | None) -> tuple[str, str]:
        if not self.workspaces:
            raise SlackSandboxError("add a workspace before starting an OAuth install")
        workspace: Workspace = self.workspaces.get(team_id or "") or next(iter(self.workspaces.values()))
        humans = [u for u in workspace.users.values() if not u.is_bot]
        admins = [u for u in humans if u.is_admin]
        installer = (admins or humans or list(workspace.users.values()))[0]
        return workspace.team_id, installer.id

    # ---- the driver's side -------------------------------------------------------------------------------------------

    def apply_ack_response(self, response_url: str, body: JSON) -> None:
        """A slash command's synchronous reply (the ack body) shows up as a response_url post would."""
        url_id = response_url.split("/response/", 1)[-1]
        with self.changed:
            record = self.response_urls[url_id]
            try:
                apply_response(self, record, body)
            except ApiError as error:
                raise SlackSandboxError(f"Slack would refuse this command reply: {error.body()}") from None


def _redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return Response(status=302, headers={"Location": f"{uri}{separator}{urlencode(params)}"})

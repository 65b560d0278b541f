"""Serving: the WSGI app under waitress (a production server), started by `deferredrev serve` or in-process by
tests and the demo. With ``SLACK_APP_TOKEN`` Slack traffic arrives over Socket Mode and HTTP serves only the
QuickBooks pages and health checks."""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass
from typing import Any

from waitress.server import create_server

from deferredrev.app import build_application
from deferredrev.logs import configure_logging
from deferredrev.runtime import Runtime, build_runtime
from deferredrev.scheduler import Job, start_scheduler
from deferredrev.settings import Settings
from deferredrev.wiring import Application

logger = logging.getLogger(__name__)

HTTP_THREADS = 16


@dataclass
class RunningServer:
    """A service listening on loopback in a background thread (tests and the demo)."""

    url: str
    app: Application
    _server: Any
    _thread: threading.Thread
    _stopping: threading.Event

    @property
    def runtime(self) -> Runtime:
        return self.app.runtime

    def stop(self) -> None:
        self.app.kicker.wait()  # background posting runs finish before anything they talk to goes away
        self._stopping.set()
        # Requests in flight finish before the server closes its wake-up pipe (as waitress does on Ctrl-C).
        self._server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
        self._server.close()
        self._thread.join(timeout=5)
        self.app.close()
        self.app.runtime.close()


TOKEN_SWEEP_SECONDS = 60.0
POSTING_SECONDS = 15.0


def background_jobs(app: Application) -> list[Job]:
    return [
        Job("token-sweep", app.lifecycle.sweep, TOKEN_SWEEP_SECONDS),
        Job("posting-outbox", app.posting.run, POSTING_SECONDS),
        Job("evidence-outbox", app.evidence.run, POSTING_SECONDS),
    ]


def start_in_background(runtime: Runtime, *, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> RunningServer:
    app = build_application(runtime)
    server = create_server(
        app.web, host=host, port=port, threads=threads, ident="deferredrev", clear_untrusted_proxy_headers=True
    )
    stopping = threading.Event()
    thread = threading.Thread(target=_serve_until_stopped, args=(server, stopping), name="deferredrev-http", daemon=True)
    thread.start()
    return RunningServer(
        url=f"http://{host}:{server.effective_port}", app=app, _server=server, _thread=thread, _stopping=stopping
    )


def _serve_until_stopped(server: Any, stopping: threading.Event) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        if not stopping.is_set():
            raise  # closing the sockets from another thread ends waitress's loop with these; anything else is real


def connect_socket_mode(app: Application) -> Any:
    """Receive Slack's requests over Socket Mode (SLACK_APP_TOKEN) instead of HTTP; returns the handler to close."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert app.bolt is not None
    handler = SocketModeHandler(app.bolt, app.runtime.settings.slack_app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    logger.info("Slack over Socket Mode")
    return handler


def freeze_startup_objects() -> None:
    """Take what startup built (modules, the app, its clients: nearly every object the process will ever hold) out of
    the cyclic garbage collector's sight. A full collection otherwise walks all of it and pauses every thread for
    ~50 ms, which lands on whatever acks are in flight; after this it walks only what requests created since."""
    gc.collect()
    gc.freeze()


def run_server(settings: Settings) -> int:
    runtime = build_runtime(settings, migrate=settings.database_url.startswith("sqlite"))
    configure_logging(runtime.secrets)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" per queued request is noise
    app = build_application(runtime)
    assert app.web is not None and app.bolt is not None
    socket_mode = connect_socket_mode(app) if settings.slack_app_token else None
    scheduler = start_scheduler(background_jobs(app))
    server = create_server(app.web, host="0.0.0.0", port=settings.port, threads=HTTP_THREADS, ident="deferredrev")
    logger.info("serving HTTP on port %s", server.effective_port)
    freeze_startup_objects()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=False)
        if socket_mode is not None:
            socket_mode.close()
        app.close()
        runtime.close()
    return 0

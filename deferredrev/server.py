"""Serving: the WSGI app under waitress (a production server), started from `deferredrev serve` or in-process by tests."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask
from waitress.server import create_server

from deferredrev.logs import configure_logging
from deferredrev.runtime import Runtime, build_runtime
from deferredrev.settings import Settings
from deferredrev.web.app import create_web_app

logger = logging.getLogger(__name__)


@dataclass
class RunningServer:
    """A service listening on loopback in a background thread (used by tests and the demo)."""

    url: str
    runtime: Runtime
    web: Flask
    _server: Any
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)
        self.runtime.close()


def build_web_app(runtime: Runtime) -> Flask:
    return create_web_app(runtime)


def start_in_background(runtime: Runtime, *, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> RunningServer:
    web = build_web_app(runtime)
    server = create_server(
        web, host=host, port=port, threads=threads, ident="deferredrev", clear_untrusted_proxy_headers=True
    )
    thread = threading.Thread(target=server.run, name="deferredrev-http", daemon=True)
    thread.start()
    return RunningServer(
        url=f"http://{host}:{server.effective_port}", runtime=runtime, web=web, _server=server, _thread=thread
    )


def run_server(settings: Settings) -> int:
    runtime = build_runtime(settings, migrate=settings.database_url.startswith("sqlite"))
    configure_logging(runtime.secrets)
    web = build_web_app(runtime)
    server = create_server(web, host="0.0.0.0", port=settings.port, threads=16, ident="deferredrev")
    logger.info("serving on port %s", server.effective_port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0

"""Serve any WSGI app (e.g. a Bolt app behind slack_bolt's WSGI adapter) on loopback in a thread, for tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class ServedApp:
    url: str
    _server: BaseWSGIServer
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_wsgi(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> ServedApp:
    """Start `app` on a free port; returns its base URL and a stop()."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="wsgi-app", daemon=True)
    thread.start()
    return ServedApp(url=f"http://{host}:{server.server_port}", _server=server, _thread=thread)

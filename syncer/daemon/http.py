"""The daemon's HTTP endpoint: a tiny threaded server that maps GET paths to callables.

Routes answer ``(status, content type, body)``; the server knows nothing else of the
daemon. It runs on its own daemon thread, so a slow ``/status`` never delays a sync.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, str, bytes]
Route = Callable[[], Reply]
JSON_TYPE = "application/json"


def json_reply(status: int, body: Any) -> Reply:
    """A JSON reply; values JSON cannot hold (datetimes) become strings."""
    return status, JSON_TYPE, json.dumps(body, indent=2, default=str).encode() + b"\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: Mapping[str, Route]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path.split("?", 1)[0])
        try:
            status, content_type, body = (
                route() if route else json_reply(404, {"error": f"no route {self.path}"})
            )
        except Exception as exc:  # a route's bug must not kill the endpoint
            status, content_type, body = json_reply(500, {"error": f"{type(exc).__name__}"})
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes and probes every few seconds would drown the sync logs


class Endpoint:
    """Serve ``routes`` on ``host:port`` (port 0: any free port; see ``port``)."""

    def __init__(self, host: str, port: int, routes: Mapping[str, Route]) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.routes = routes
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="http-endpoint",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

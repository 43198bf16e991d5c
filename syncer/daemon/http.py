"""The daemon's HTTP endpoint: a tiny threaded server that maps requests to callables.

A route is a method and a path pattern (``/sources/{name}``: a segment in braces
matches one path segment, URL-decoded, into ``Request.params``) and a callable that
takes the ``Request`` and answers a ``Reply``. The server knows nothing else of the
daemon. It reads at most ``MAX_BODY`` bytes of a request body (POSTed forms are small;
a route with a ``max_body`` attribute sets its own, webhooks' larger),
answers 404 for an unknown path and 405 for a known path with another method, and runs
on its own daemon thread, so a slow page never delays a sync.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024


class Reply(NamedTuple):
    """What a route answers: status, content type, body and any further headers."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Request:
    """One request as a route sees it; header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, list[str]] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    client: str = ""
    body: bytes = b""

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else None

    def field(self, name: str) -> str | None:
        """The first value of form field ``name``."""
        values = self.form.get(name)
        return values[0] if values else None


Route = Callable[[Request], Reply]


def json_reply(status: int, body: Any) -> Reply:
    """A JSON reply; values JSON cannot hold (datetimes) become strings."""
    return Reply(status, JSON_TYPE, json.dumps(body, indent=2, default=str).encode() + b"\n")


@dataclass(frozen=True)
class _Pattern:
    method: str
    parts: tuple[str, ...]
    route: Route

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        if len(segments) != len(self.parts):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(self.parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    return None
                params[part[1:-1]] = unquote(segment)
            elif part != segment:
                return None
        return params


class Router:
    """``(method, pattern, route)`` triples, matched in order."""

    def __init__(self, routes: Sequence[tuple[str, str, Route]]) -> None:
        self._patterns = [
            _Pattern(method, tuple(pattern.strip("/").split("/")), route)
            for method, pattern, route in routes
        ]
        self.paths = sorted({pattern for _method, pattern, _route in routes})

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | int:
        """The route for ``method path`` and its params; else 404 or 405."""
        segments = path.strip("/").split("/")
        known = False
        for pattern in self._patterns:
            params = pattern.match(segments)
            if params is None:
                continue
            known = True
            if pattern.method == method or (method == "HEAD" and pattern.method == "GET"):
                return pattern.route, params
        return 405 if known else 404


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    router: Router


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_POST(self) -> None:
        self._answer("POST")

    # Answered 405 (or 404): no route takes them, but they are HTTP, not "unsupported".
    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        found = self.server.router.find(method, url.path)
        if isinstance(found, int):
            self.close_connection = True  # the body, if any, is left unread
            self._send(json_reply(found, {"error": f"no route {method} {url.path}"}), method)
            return
        route, params = found
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > getattr(route, "max_body", MAX_BODY):
            self.close_connection = True
            self._send(json_reply(413, {"error": "request body too large"}), method)
            return
        body = self.rfile.read(length) if length else b""
        form: dict[str, list[str]] = {}
        if body and headers.get("content-type", "").split(";")[0].strip() == FORM_TYPE:
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        request = Request(
            method=method,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers=headers,
            form=form,
            params=params,
            client=str(self.client_address[0]),
            body=body,
        )
        try:
            reply = route(request)
        except Exception as exc:  # a route's bug must not kill the endpoint
            reply = json_reply(500, {"error": f"{type(exc).__name__}"})
        self._send(reply, method)

    def _send(self, reply: Reply, method: str) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes and probes every few seconds would drown the sync logs


class Endpoint:
    """Serve ``routes`` on ``host:port`` (port 0: any free port; see ``port``)."""

    def __init__(self, host: str, port: int, routes: Sequence[tuple[str, str, Route]]) -> None:
        self.router = Router(routes)
        self._server = _Server((host, port), _Handler)
        self._server.router = self.router
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

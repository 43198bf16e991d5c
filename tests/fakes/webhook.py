"""A webhook receiver for alert tests: real HTTP on 127.0.0.1 that records every POST.

Each path may be told what to answer first (``answer``: statuses, with ``Retry-After``
for a 429) and how long to take (``delay``); after those it answers 200. ``received``
lists what arrived, in order, with its headers and JSON body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    status: int


class Receiver:
    """``with Receiver() as hooks: ... hooks.url + "/path"``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, list[int]] = {}
        self._delays: dict[str, float] = {}
        self._received: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status = receiver._answer(self.path)
                delay = receiver._delays.get(self.path, 0.0)
                if delay:
                    time.sleep(delay)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver._received.append(
                        Delivery(self.path, headers, body, time.monotonic(), status)
                    )
                reply = b'{"ok": true}' if status < 300 else b'{"error": "try later"}'
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, path: str, *statuses: int) -> None:
        """Answer the next POSTs to ``path`` with ``statuses``, in order, then 200."""
        with self._lock:
            self._answers.setdefault(path, []).extend(statuses)

    def delay(self, path: str, seconds: float) -> None:
        self._delays[path] = seconds

    def received(self, path: str | None = None, *, ok_only: bool = True) -> list[Delivery]:
        with self._lock:
            found = list(self._received)
        return [
            d for d in found if (path is None or d.path == path) and (not ok_only or d.status < 300)
        ]

    def bodies(self, path: str) -> list[Any]:
        return [d.body for d in self.received(path)]

    def wait(self, check: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.05)
        return check()

    def _answer(self, path: str) -> int:
        with self._lock:
            queue = self._answers.get(path)
            return queue.pop(0) if queue else 200

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

"""A loopback HTTP server that answers requests with the replies it was given, in order,
and remembers what it was sent: for a client's handling of exact replies (a 429 with
this header, a 503 then a 200) over a real connection, where a full fake would take
many steps to reach them."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from tests.fakes.server import Handler, Running


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names


class Scripted:
    """Serves ``answers`` one per request; a request past the last is answered 599 and
    recorded in ``unexpected``, so a test sees a client that asked once too often."""

    def __init__(self, *answers: Answer) -> None:
        self._answers = list(answers)
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        self.unexpected = 0
        self._running: Running | None = None

    @property
    def url(self) -> str:
        assert self._running is not None, "the server is not running"
        return f"http://127.0.0.1:{self._running.port}"

    def __enter__(self) -> Scripted:
        self._running = Running(("127.0.0.1", 0), self, "scripted")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def _serve(self, handler: Handler) -> None:
        handler.read_body()
        with self._lock:
            self.seen.append(
                Seen(
                    handler.command,
                    handler.path,
                    {k.lower(): v for k, v in handler.headers.items()},
                )
            )
            answer = self._answers.pop(0) if self._answers else None
            if answer is None:
                self.unexpected += 1
        answer = answer or Answer(599, json={"message": "no reply scripted"})
        body = b"" if answer.json is None else json.dumps(answer.json).encode()
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        if answer.json is not None:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

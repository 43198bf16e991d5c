"""What the fakes share: a loopback HTTP server on its own thread, whose ``stop`` closes
every keep-alive connection and joins every thread, and a handler that passes each
request to its fake's ``_serve``."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


class Fake(Protocol):
    def _serve(self, handler: Handler) -> None: ...


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread
    block_on_close = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a client opening its pool's connections at
    # once (64) would see resets no real service gives.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], fake: Fake) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by a fault or by `stop` are expected; anything else is not."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self.connections_lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real services
    server: LoopbackServer
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self) -> None:
        self.server.fake._serve(self)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return b"".join(iter(self._read_chunk, b""))
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        if len(data) < length:
            # The client died between its headers and its body (a kill): a real server
            # drops such a request, unanswered and unapplied (handle_error: an OSError).
            raise ConnectionAbortedError("the connection closed before the request body")
        return data

    def _read_chunk(self) -> bytes:
        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
        data = self.rfile.read(size) if size else b""
        self.rfile.readline()  # the CRLF after each chunk
        if not size:
            while self.rfile.readline().strip():  # trailers
                pass
        return data

    def drop(self) -> None:
        """Close the connection without a byte of reply."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Running:
    """A fake's server, serving on its own thread until ``stop``."""

    def __init__(self, address: tuple[str, int], fake: Fake, name: str) -> None:
        self.server = LoopbackServer(address, fake)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{name}-{self.port}",
            daemon=True,
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread."""
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self.thread.join()

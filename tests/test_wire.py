"""The wire (``syncer.http.wire``) against a loopback server scripted byte by byte, in
plain TCP and in TLS: what it sends, how it frames replies (``Content-Length``, chunked,
gzip, ``100 Continue``, read to close), when it keeps a connection and when it opens
another (a server's close while idle, ``Connection: close``), how many it opens at once,
and the kind of each failure with whether the request can have left (``unsent``)."""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from syncer.http.wire import Wire, WireError

Request = tuple[str, dict[str, str], bytes]  # its line, lower-cased headers, body


class Peer:
    """One accepted connection: reads requests (each handed to ``seen``), writes raw
    bytes."""

    def __init__(self, sock: socket.socket, seen: Callable[[Request], None]) -> None:
        self.sock = sock
        self._seen = seen
        self._buffer = b""

    def request(self) -> Request | None:
        """The next request; None at a close."""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        line, *fields = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            self._buffer += self.sock.recv(65536)
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        self._seen((line, headers, body))
        return line, headers, body

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


def reply(body: bytes = b"{}", *, status: str = "200 OK", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


class Server:
    """Accepts connections on 127.0.0.1 and runs ``script(peer)`` for each in a thread
    of its own; keeps every request read (``seen``), counts connections, and how many
    were open at once."""

    def __init__(self, script: Callable[[Peer], None], tls: ssl.SSLContext | None = None):
        self._script = script
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self.open = 0
        self.most_open = 0
        self.seen: list[Request] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(sock,), daemon=True).start()

    def _run(self, sock: socket.socket) -> None:
        with self._lock:
            self.accepted += 1
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
            self._script(Peer(sock, self._record))
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self._lock:
                self.open -= 1
            sock.close()

    def _record(self, request: Request) -> None:
        with self._lock:
            self.seen.append(request)

    def close(self) -> None:
        self._listener.close()


def serving(answer: Callable[[Peer, str, dict[str, str], bytes], bool]) -> Callable[[Peer], None]:
    """A script answering each request with ``answer`` until it returns False."""

    def script(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            if not answer(peer, *request):
                return

    return script


@contextmanager
def server_with(
    answer: Callable[[Peer, str, dict[str, str], bytes], bool],
    tls: ssl.SSLContext | None = None,
) -> Iterator[Server]:
    server = Server(serving(answer), tls)
    try:
        yield server
    finally:
        server.close()


def wire(url: str, *, timeout: float = 5.0, connections: int = 4) -> Wire:
    return Wire(
        url,
        headers={"Authorization": "Bearer t0ken", "Accept": "application/json"},
        timeout=timeout,
        max_connections=connections,
    )


def ok(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
    peer.send(reply(b'{"ok": true}'))
    return True


def test_a_request_goes_out_as_written_and_connections_are_kept() -> None:
    with server_with(ok) as server:
        w = wire(server.url + "/base/")
        for n in range(5):
            got = w.send("POST", "/pages", json={"n": n, "title": "Über"}, params={"a": [1, 2]})
            assert got.status_code == 200
            assert got.json() == {"ok": True}
        w.close()
    assert server.accepted == 1  # one connection for all five
    line, headers, body = server.seen[-1]
    assert line == "POST /base/pages?a=1&a=2 HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["content-type"] == "application/json"
    assert headers["accept-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(body)
    assert body == '{"n":4,"title":"Über"}'.encode()


def test_query_parameters_are_spelt_as_httpx_spells_them() -> None:
    with server_with(ok) as server:
        w = wire(server.url)
        w.send("GET", "/x?kept=1", params={"on": True, "off": False, "gone": None, "s": "a b"})
        w.send("GET", server.url + "/abs", params={"page": 2})
    assert [line for line, _, _ in server.seen] == [
        "GET /x?kept=1&on=true&off=false&s=a+b HTTP/1.1",
        "GET /abs?page=2 HTTP/1.1",
    ]


def test_replies_are_framed_by_length_chunks_or_close_and_decoded() -> None:
    payload = b'{"words": "' + b"many words " * 500 + b'"}'

    def framed(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
        kind = line.split()[1]
        if kind == "/chunked":
            half = len(payload) // 2
            peer.send(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
                % (half, payload[:half], len(payload) - half, payload[half:])
            )
        elif kind == "/gzip":
            packed = gzip.compress(payload)
            peer.send(reply(packed, extra="Content-Encoding: gzip\r\n"))
        elif kind == "/continue":
            peer.send(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(payload))
        elif kind == "/to-close":
            peer.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + payload)
            return False
        return True

    with server_with(framed) as server:
        w = wire(server.url)
        for path in ("/chunked", "/gzip", "/continue", "/chunked", "/to-close", "/gzip"):
            got = w.send("GET", path)
            assert (path, got.status_code, got.content) == (path, 200, payload)
    # Kept alive through the first four; the fifth's server closed; the sixth opened anew.
    assert server.accepted == 2


def test_an_idle_connection_the_server_closed_is_not_sent_on() -> None:
    def one_each(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
        peer.send(reply())  # says nothing of closing, then closes
        return False

    with server_with(one_each) as server:
        w = wire(server.url)
        for _ in range(3):
            assert w.send("POST", "/pages", json={}).status_code == 200
            time.sleep(0.05)  # the close reaches us while the connection is idle
    assert server.accepted == 3
    assert len(server.seen) == 3


def test_a_reply_saying_close_is_not_kept() -> None:
    def closing(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
        peer.send(reply(extra="Connection: close\r\n"))
        return True  # the server would read on: the client must not send again

    with server_with(closing) as server:
        w = wire(server.url)
        for _ in range(3):
            assert w.send("GET", "/x").status_code == 200
    assert server.accepted == 3


def test_no_more_connections_than_the_limit_and_callers_wait() -> None:
    def slow(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
        time.sleep(0.1)
        peer.send(reply())
        return True

    with server_with(slow) as server:
        w = wire(server.url, connections=3)
        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(lambda n: w.send("GET", f"/{n}").status_code, range(24)))
    assert codes == [200] * 24
    assert server.most_open == 3
    assert server.accepted == 3


def test_a_caller_that_waits_past_the_timeout_for_a_connection_sent_nothing() -> None:
    def trickling(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
        # A reply that takes a second, each byte well inside the read timeout.
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n")
        for byte in b"12345678":
            time.sleep(0.12)
            peer.send(bytes([byte]))
        return True

    with server_with(trickling) as server:
        w = wire(server.url, timeout=0.3, connections=1)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(w.send, "GET", "/slow")
            time.sleep(0.1)
            with pytest.raises(WireError) as failed:
                w.send("POST", "/second", json={})
            assert first.result().content == b"12345678"
    assert (failed.value.kind, failed.value.unsent) == ("PoolTimeout", True)
    assert [line.split()[1] for line, _, _ in server.seen] == ["/slow"]


def failure(w: Wire, path: str = "/x") -> WireError:
    with pytest.raises(WireError) as failed:
        w.send("POST", path, json={"a": 1})
    return failed.value


def test_a_refused_connection_is_unsent() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    got = failure(wire(f"http://127.0.0.1:{port}"))
    assert (got.kind, got.unsent) == ("ConnectError", True)


def test_an_unknown_host_is_unsent() -> None:
    got = failure(wire("http://no-such-host.invalid"))
    assert (got.kind, got.unsent) == ("ConnectError", True)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (lambda peer: None, "RemoteProtocolError"),  # read, then closed without a word
        (
            lambda peer: peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"),
            "RemoteProtocolError",
        ),
        (lambda peer: peer.send(b"hello, this is not HTTP\r\n\r\n"), "RemoteProtocolError"),
        (
            lambda peer: peer.send(reply(b"not gzip", extra="Content-Encoding: gzip\r\n")),
            "DecodingError",
        ),
    ],
    ids=["closed", "cut-short", "not-http", "bad-gzip"],
)
def test_a_request_that_reached_the_server_is_never_unsent(
    answer: Callable[[Peer], None], kind: str
) -> None:
    def once(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
        answer(peer)
        return False

    with server_with(once) as server:
        got = failure(wire(server.url))
    assert (got.kind, got.unsent) == (kind, False)
    assert len(server.seen) == 1


def test_a_reply_that_does_not_come_is_a_read_timeout() -> None:
    def silent(peer: Peer, line: str, headers: dict[str, str], body: bytes) -> bool:
        time.sleep(1.0)
        return False

    with server_with(silent) as server:
        started = time.monotonic()
        got = failure(wire(server.url, timeout=0.3))
    assert (got.kind, got.unsent) == ("ReadTimeout", False)
    assert time.monotonic() - started < 0.9


def test_multipart_bodies_are_encoded_by_httpx() -> None:
    with server_with(ok) as server:
        w = wire(server.url)
        w.send("POST", "/upload", files={"catalog": ("c.json", b"[1, 2]", "application/json")})
    _, headers, body = server.seen[0]
    boundary = headers["content-type"].removeprefix("multipart/form-data; boundary=")
    assert boundary != headers["content-type"]
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b'name="catalog"; filename="c.json"' in body
    assert b"\r\n\r\n[1, 2]\r\n" in body


def test_closing_the_wire_closes_its_idle_connections() -> None:
    closed = threading.Event()

    def then_wait(peer: Peer) -> None:
        peer.request()
        peer.send(reply())
        if peer.request() is None:  # the client's close
            closed.set()

    server = Server(then_wait)
    try:
        w = wire(server.url)
        w.send("GET", "/x")
        w.close()
        assert closed.wait(2)
    finally:
        server.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def tls_server(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_tls_connections_are_verified_and_kept(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust it, as an admin would
    with server_with(ok, tls_server(certificate)) as server:
        w = wire(server.url)
        for _ in range(3):
            assert w.send("GET", "/x").json() == {"ok": True}
    assert server.accepted == 1


def test_an_untrusted_certificate_is_a_connect_error_and_unsent(
    certificate: tuple[Path, Path],
) -> None:
    with server_with(ok, tls_server(certificate)) as server:
        got = failure(wire(server.url))
    assert (got.kind, got.unsent) == ("ConnectError", True)
    assert "certificate" in str(got).lower()
    assert server.seen == []

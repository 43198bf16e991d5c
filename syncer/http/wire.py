"""The wire under ``HttpCore``: one request out, its reply back, over kept-alive
connections, the reply as an ``httpx.Response`` for the services.

The standard library's ``http.client`` writes each request and parses each reply
(status line, headers, ``Content-Length`` and chunked bodies, ``100 Continue``); what
is ours is the pool around it, a few lines: per origin, the idle connections newest
first (the one most likely still open), and a queue of slots that bounds how many are
open at once (a caller beyond the limit waits for a slot). An idle connection the
server has closed meanwhile is dropped before reuse, not sent on.

Chosen by figures (``bench/transport_options.py``: client CPU per 1,000 3 kB upserts,
64 in flight, replies after 100 ms, one run): bare ``http.client`` threads 0.37 s,
urllib3's pool 0.59 s, ``httpx.Client`` 3.14 s (its pool scans every connection under
one lock for each request); on one event loop, aiohttp 0.53 s and ``httpx.AsyncClient``
13.2 s; syncer's whole publisher (client, pacing and this wire) 0.57 s. libcurl (pycurl)
costs less, 0.29 s with a handle a thread and 0.27 s with its multi interface on one
thread, but it resends a request on its own when a kept-alive connection turns out dead,
even one already written (curl/curl#18417 describes it and proposes an option against
it, which pycurl 7.49 does not have; only ``FORBID_REUSE``, no kept-alive connections at
all): a create sent twice, which the unsent rule below exists to prevent. syncer's own
calls need nothing the others add (no cookies, auth flows, proxies or redirects: a link
to follow is the caller's to check, ``HttpCore.own``). httpx stays the reply's type (it
decodes a gzip body) and encodes multipart bodies.

A failure to talk is a ``WireError`` that says whether the request can have reached the
server (``unsent``: it never connected), which decides whether any call may be repeated.
Its ``kind`` is httpx's name for it (``ConnectError``, ``ReadTimeout``...), the names
logs and errors have always shown.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import select
import threading
from collections.abc import Mapping
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx

if TYPE_CHECKING:
    import ssl

CONNECT_TIMEOUT = 10.0  # at most: a host that does not answer in 10 s is not there


class WireError(Exception):
    """No reply: ``kind`` names what went wrong (``ConnectError``, ``ReadTimeout``...),
    ``unsent`` whether the request cannot have reached the server."""

    def __init__(self, kind: str, detail: str, *, unsent: bool) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.unsent = unsent


class _Origin:
    """The connections to one scheme, host and port: the idle ones (a stack: ``append``
    and ``pop`` are atomic) and one slot per connection that may be open."""

    __slots__ = ("host", "idle", "port", "secure", "slots")

    def __init__(self, secure: bool, host: str, port: int | None, limit: int) -> None:
        self.secure = secure
        self.host = host
        self.port = port
        self.idle: list[http.client.HTTPConnection] = []
        self.slots: SimpleQueue[None] = SimpleQueue()
        for _ in range(limit):
            self.slots.put(None)


class Wire:
    """Sends requests to ``base_url`` (and absolute URLs) with ``headers`` on each;
    thread-safe, at most ``max_connections`` open to an origin (more callers wait)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        max_connections: int,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept-Encoding": "gzip", **headers}
        self._timeout = timeout
        self._limit = max_connections
        self._origins: dict[tuple[str, str, int | None], _Origin] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    def close(self) -> None:
        """Close the idle connections; one in use is closed when its call ends."""
        self._closed = True
        for origin in list(self._origins.values()):
            while origin.idle:
                origin.idle.pop().close()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; its reply, body read. ``files`` is a multipart body as
        httpx takes it (``{name: (filename | None, bytes | str | file, type?)}``)."""
        target = url if url.startswith(("http://", "https://")) else self.base_url + url
        parts = urlsplit(target)
        query = "&".join(q for q in (parts.query, urlencode(_pairs(params or {}))) if q)
        path = (parts.path or "/") + (f"?{query}" if query else "")
        sent = {**self._headers, **(headers or {})}
        body: bytes | None = None
        if files:
            encoded = httpx.Request(method, target, files=files)
            body, sent["Content-Type"] = encoded.read(), encoded.headers["Content-Type"]
        elif json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        origin = self._origin(parts.scheme == "https", parts.hostname or "", parts.port)
        try:
            origin.slots.get(timeout=self._timeout)
        except Empty:
            raise WireError("PoolTimeout", "no free connection", unsent=True) from None
        try:
            conn = self._connection(origin)
            try:
                status, replied, data = _exchange(conn, method, path, body, sent)
            except BaseException:
                conn.close()
                raise
            if conn.sock is None or self._closed:  # the server said it closes, or we did
                conn.close()
            else:
                origin.idle.append(conn)
        finally:
            origin.slots.put(None)
        try:
            return httpx.Response(status, headers=replied, content=data)
        except httpx.DecodingError as exc:  # a body its Content-Encoding does not describe
            raise WireError("DecodingError", str(exc), unsent=False) from exc

    def _origin(self, secure: bool, host: str, port: int | None) -> _Origin:
        key = ("https" if secure else "http", host, port)
        origin = self._origins.get(key)
        if origin is None:
            with self._lock:
                origin = self._origins.setdefault(key, _Origin(secure, host, port, self._limit))
        return origin

    def _connection(self, origin: _Origin) -> http.client.HTTPConnection:
        """The newest idle connection still open, or a new one (connected here, so a
        failure is known to have sent nothing)."""
        while origin.idle:
            try:
                conn = origin.idle.pop()
            except IndexError:  # another thread took the last one
                break
            if not _dropped(conn):
                return conn
            conn.close()
        connect = min(self._timeout, CONNECT_TIMEOUT)
        if origin.secure:
            conn = http.client.HTTPSConnection(
                origin.host, origin.port, timeout=connect, context=self._tls_context()
            )
        else:
            conn = http.client.HTTPConnection(origin.host, origin.port, timeout=connect)
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise WireError("ConnectTimeout", str(exc), unsent=True) from exc
        except OSError as exc:  # refused, unreachable, no such host, a failed handshake
            conn.close()
            raise WireError("ConnectError", str(exc), unsent=True) from exc
        assert conn.sock is not None
        conn.sock.settimeout(self._timeout)
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            import ssl  # here: a client of plain http never loads OpenSSL's trust store

            with self._lock:
                if self._tls is None:
                    self._tls = ssl.create_default_context()
        return self._tls


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request written and its reply read whole: status, headers, body."""
    try:
        conn.request(method, path, body=body, headers=headers)
    except TimeoutError as exc:
        raise WireError("WriteTimeout", str(exc), unsent=False) from exc
    except OSError as exc:
        raise WireError("WriteError", str(exc), unsent=False) from exc
    try:
        reply = conn.getresponse()
        data = reply.read()
    except TimeoutError as exc:
        raise WireError("ReadTimeout", str(exc), unsent=False) from exc
    except (http.client.HTTPException, ConnectionError) as exc:
        # No reply, a reply cut short, or one that is not HTTP.
        detail = str(exc) or type(exc).__name__
        raise WireError("RemoteProtocolError", detail, unsent=False) from exc
    except OSError as exc:
        raise WireError("ReadError", str(exc), unsent=False) from exc
    return reply.status, reply.getheaders(), data


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection is closed: readable while no request is out means the
    server closed it (or sent what no request asked for: unusable either way)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        poll = select.poll()
        poll.register(sock, select.POLLIN)
        return bool(poll.poll(0))
    except (OSError, ValueError):
        return True


def _pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters as httpx sends them: a list repeats its key, ``None`` is left out."""
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                pairs.append((key, _text(item)))
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as httpx (and Intercom) spell them
    return str(value)

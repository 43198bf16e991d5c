"""The wire under ``HttpCore``: one request out, its reply back, over kept-alive
connections (urllib3's pools), the reply as an ``httpx.Response`` for the services.

Chosen by figures (``bench/transport_options.py``: client CPU per 1,000 3 kB upserts, 16
in flight, replies after 100 ms): the standard library's ``http.client`` 0.26 s,
urllib3's pool 0.38 s, ``httpx.Client`` 0.72 s (and more as connections grow: its pool
scans every connection under one lock for each request), ``httpx.AsyncClient`` 1.25 s.
urllib3 hands a connection out of a queue, and is what ``requests`` and pip send with;
syncer's own calls need nothing ``httpx.Client`` adds (no cookies, auth flows or
redirects: a link to follow is the caller's to check, ``HttpCore.own``).

A failure to talk is a ``WireError`` that says whether the request can have reached the
server (``unsent``: it never connected), which decides whether any call may be repeated.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx

if TYPE_CHECKING:
    from urllib3 import exceptions as errors

# Pools per host: one is the API's; more only for links that name another port of it.
POOLS = 4


class WireError(Exception):
    """No reply: ``kind`` names what went wrong (``ConnectError``, ``ReadTimeout``...),
    ``unsent`` whether the request cannot have reached the server."""

    def __init__(self, kind: str, detail: str, *, unsent: bool) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.unsent = unsent


class Wire:
    """Sends requests to ``base_url`` (and absolute URLs) with ``headers`` on each;
    thread-safe, at most ``max_connections`` open to a host (more callers wait)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        max_connections: int,
    ) -> None:
        import urllib3  # here: importing a client stays cheap (``syncer --help``)

        self._urllib3 = urllib3
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept-Encoding": "gzip", **headers}
        self._timeout = timeout
        self._pools = urllib3.PoolManager(
            num_pools=POOLS,
            maxsize=max_connections,
            block=True,  # no connection beyond the limit: a caller waits for a free one
            retries=False,  # HttpCore decides what is retried
            timeout=urllib3.Timeout(connect=min(timeout, 10.0), read=timeout),
        )

    def close(self) -> None:
        self._pools.clear()

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
        query = urlencode(_pairs(params or {}))
        if query:
            target += ("&" if urlsplit(target).query else "?") + query
        sent = {**self._headers, **(headers or {})}
        body: bytes | None = None
        if files:
            body, sent["Content-Type"] = self._urllib3.encode_multipart_formdata(_fields(files))
        elif json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        try:
            reply = self._pools.urlopen(
                method,
                target,
                body=body,
                headers=sent,
                redirect=False,
                assert_same_host=False,
                pool_timeout=self._timeout,
                preload_content=True,
                decode_content=True,
            )
        except self._urllib3.exceptions.HTTPError as exc:
            raise _failure(exc) from exc
        # The body is decoded already: the header would have httpx decode it again.
        kept = [(k, v) for k, v in reply.headers.items() if k.lower() != "content-encoding"]
        return httpx.Response(reply.status, headers=kept, content=reply.data)


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


def _fields(files: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, part in files.items():
        filename, content, *rest = part
        data = content.read() if hasattr(content, "read") else content
        if filename is None:
            fields[name] = data if isinstance(data, str) else data.decode()
        else:
            fields[name] = (filename, data, *(rest or ["application/octet-stream"]))
    return fields


def _failure(exc: errors.HTTPError) -> WireError:
    """What went wrong, in httpx's words (the names logs and errors have always shown),
    and whether the request can have left."""
    from urllib3 import exceptions as errors

    reason = exc.reason if isinstance(exc, errors.MaxRetryError) and exc.reason else exc
    detail = str(reason)
    # urllib3 makes a refused connection a kind of connect timeout: ask it first.
    if isinstance(reason, errors.NewConnectionError | errors.NameResolutionError):
        return WireError("ConnectError", detail, unsent=True)
    if isinstance(reason, errors.ConnectTimeoutError):
        return WireError("ConnectTimeout", detail, unsent=True)
    if isinstance(reason, errors.EmptyPoolError):
        return WireError("PoolTimeout", "no free connection", unsent=True)
    if isinstance(reason, errors.ReadTimeoutError):
        return WireError("ReadTimeout", detail, unsent=False)
    if isinstance(reason, errors.ProtocolError):
        return WireError("RemoteProtocolError", detail, unsent=False)
    if isinstance(reason, errors.SSLError):
        return WireError("ConnectError", detail, unsent=True)
    return WireError(type(reason).__name__, detail, unsent=False)

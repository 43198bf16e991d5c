"""Walk Intercom list replies page by page, lazily, stopping on a repeated cursor."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from syncer.errors import IntercomError
from syncer.intercom.transport import Transport


def follow_next(
    transport: Transport, path: str, params: Mapping[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Items of ``data`` across pages linked by ``pages.next`` (a URL or a cursor object)."""
    seen: set[str] = set()
    target: str | None = path
    query: Mapping[str, Any] | None = params
    while target is not None:
        body = transport.request("GET", target, params=query)
        if not isinstance(body, dict):
            raise IntercomError(f"GET {path}: expected a list object, got {type(body).__name__}")
        yield from body.get("data") or []
        nxt = (body.get("pages") or {}).get("next")
        if not nxt:
            return
        if isinstance(nxt, str):
            target, query = nxt, None
        elif isinstance(nxt, dict) and nxt.get("starting_after"):
            target, query = path, {**(params or {}), "starting_after": nxt["starting_after"]}
        else:
            return
        token = f"{target}?{sorted((query or {}).items())}"
        if token in seen:
            return  # Intercom handed back a cursor we already followed: the end.
        seen.add(token)

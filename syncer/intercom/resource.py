"""The base of the generated resources: one call and one pager per operation.

A generated method (``client.contacts.search(...)``) names its operation and hands its
arguments here; ``Resource`` builds the request (``operation.build``), sends it
(``operation.send``) and types the reply with the generated models (``model_base``),
which are imported only when a reply first needs one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

from syncer.errors import IntercomError
from syncer.intercom.operation import Operation, Request, build, send
from syncer.intercom.paging import Pager
from syncer.intercom.transport import Transport

T = TypeVar("T")
PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


class Resource:
    """One group of operations (a tag of the spec) over a shared transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    @overload
    def _call(
        self,
        operation: str,
        *,
        returns: type[T],
        path: Mapping[str, Any] | None = ...,
        query: Mapping[str, Any] | None = ...,
        body: Any = ...,
        api_version: str | None = ...,
    ) -> T: ...

    @overload
    def _call(
        self,
        operation: str,
        *,
        returns: None,
        path: Mapping[str, Any] | None = ...,
        query: Mapping[str, Any] | None = ...,
        body: Any = ...,
        api_version: str | None = ...,
    ) -> None: ...

    @overload
    def _call(
        self,
        operation: str,
        *,
        returns: object,
        path: Mapping[str, Any] | None = ...,
        query: Mapping[str, Any] | None = ...,
        body: Any = ...,
        api_version: str | None = ...,
    ) -> Any: ...

    def _call(
        self,
        operation: str,
        *,
        returns: object,
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        api_version: str | None = None,
    ) -> Any:
        op = _operation(operation)
        request = build(op, path=path, query=query, body=body)
        reply = send(self._transport, op, request, api_version=api_version)
        return _typed(returns, reply)

    def _pages(
        self,
        operation: str,
        *,
        returns: type[PageT],
        items: Callable[[PageT], Sequence[ItemT] | None],
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        api_version: str | None = None,
    ) -> Pager[PageT, ItemT]:
        op = _operation(operation)
        assert op.paging is not None, f"{op.id} does not page"
        first = build(op, path=path, query=query, body=body)
        transport = self._transport

        def fetch(request: Request) -> Any:
            return send(transport, op, request, api_version=api_version)

        return Pager(
            fetch,
            first,
            op.paging.mechanism,
            op.paging.items,
            lambda reply: _typed(returns, reply),
            items,
        )


def _operation(operation_id: str) -> Operation:
    from syncer.intercom.api.operations import OPERATIONS

    return OPERATIONS[operation_id]


def _typed(returns: object, reply: Any) -> Any:
    """``reply`` as ``returns``; a reply that does not fit is an ``IntercomError``."""
    if returns is None or reply is None:
        return None
    if returns in (str, bytes, object, dict):
        return reply
    from pydantic import BaseModel, ValidationError

    try:
        if isinstance(returns, type) and issubclass(returns, BaseModel):
            return returns.model_validate(reply)
        return _adapter(returns).validate_python(reply)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise IntercomError(
            f"Intercom's reply does not match {getattr(returns, '__name__', returns)}: "
            f"{where}: {first['msg']} ({exc.error_count()} problems)"
        ) from None


@functools.cache
def _adapter(returns: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(returns)

"""What one Intercom operation is, and how to turn a call of it into an HTTP request.

The generated registry (``syncer.intercom.api.operations``) describes each of the
Preview spec's operations with the plain data here: its path, its parameters and where
each one goes, how its replies page, whether only the Preview version has it. ``send``
turns such a description plus arguments into one ``Transport`` call; the typed
resource methods, the pagers and ``syncer api`` all go through it, so a path is
encoded, a body validated and a version checked in one place.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal
from urllib.parse import quote

from syncer.errors import UsageError
from syncer.intercom.transport import Transport

Location = Literal["path", "query", "body"]
Mechanism = Literal["page", "starting_after", "search", "scroll", "cursor"]
Returns = Literal["json", "text", "bytes", "redirect", "none"]
PREVIEW_NAMES = frozenset({"preview", "unstable"})  # "Unstable" is Preview's old name


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its name in the spec, its keyword in Python, where it goes."""

    name: str
    python: str
    location: Location
    kind: str  # string | integer | number | boolean | array | object | binary | any
    required: bool = False
    items: str | None = None  # the item kind of an array
    explode: bool = True  # arrays in the query: repeat the key (True) or join with commas


@dataclass(frozen=True, slots=True)
class Paging:
    """How an operation's replies page: the mechanism and the reply's list field."""

    mechanism: Mechanism
    items: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the spec, as the generator read it."""

    id: str  # the operationId, or a derived one for the few the spec leaves unnamed
    resource: str  # the client attribute: client.<resource>.<method>
    method: str
    http_method: str
    path: str
    summary: str
    params: tuple[Param, ...] = ()
    body: Literal["json", "multipart"] | None = None
    body_model: str | None = None  # its name in syncer.intercom.api.request_models
    returns: Returns = "json"
    paging: Paging | None = None
    preview_only: bool = False
    idempotent: bool = False
    accept: str | None = None

    def param(self, name: str) -> Param | None:
        """The parameter with this spec name or Python keyword."""
        return next((p for p in self.params if name in (p.name, p.python)), None)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request of an operation: what a pager changes from page to page."""

    path: str  # a path, or a same-host `next` URL from a reply
    query: Mapping[str, Any]
    body: Any = None
    files: Any = None


def build(
    op: Operation,
    *,
    path: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
) -> Request:
    """The request for ``op``: path parameters filled in, query encoded, body validated.

    ``None`` values mean "not given" and are left out. A JSON body is validated against
    the operation's request model (unknown fields are errors) and sent as dumped by it.
    """
    target = op.path
    for path_param in op.params:
        if path_param.location != "path":
            continue
        value = (path or {}).get(path_param.name)
        if value is None or value == "":
            raise UsageError(f"{op.id}: path parameter {path_param.name!r} is required")
        target = target.replace("{" + path_param.name + "}", quote(_text(value), safe=""))
    for name in re.findall(r"\{([^}]+)\}", target):
        # The spec declares two reporting-export job ids as query parameters while its
        # path template names them too: send the value in both places.
        value = (query or {}).get(name)
        if value is None:
            raise UsageError(f"{op.id}: {name!r} is required")
        target = target.replace("{" + name + "}", quote(_text(value), safe=""))
    encoded: dict[str, Any] = {}
    for name, value in (query or {}).items():
        if value is None:
            continue
        param = op.param(name)
        if param is not None and param.kind == "object" and isinstance(value, Mapping):
            encoded.update({k: _text(v) for k, v in value.items() if v is not None})
        elif isinstance(value, list | tuple):
            texts = [_text(v) for v in value]
            explode = param.explode if param is not None else True
            encoded[name] = texts if explode else ",".join(texts)
        else:
            encoded[name] = _text(value)
    if op.body == "multipart":
        files = {k: _part(k, v) for k, v in (body or {}).items() if v is not None}
        return Request(target, encoded, None, files or None)
    if op.body is None or body is None:
        return Request(target, encoded)
    if isinstance(body, Mapping):
        body = {k: v for k, v in body.items() if v is not None}
    return Request(target, encoded, validate_body(op, body))


def validate_body(op: Operation, body: Any) -> Any:
    """``body`` checked against ``op``'s request model and dumped as JSON-ready data."""
    if op.body_model is None:
        return body
    from pydantic import ValidationError

    adapter = _adapter(op.body_model)
    try:
        value = adapter.validate_python(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise UsageError(f"{op.id}: the request body does not match the spec: {problems}") from None
    return adapter.dump_python(value, mode="json", by_alias=True, exclude_unset=True)


def send(
    transport: Transport,
    op: Operation,
    request: Request,
    *,
    api_version: str | None = None,
) -> Any:
    """Send ``request`` for ``op``; the reply as ``op.returns`` says (JSON, text, ...)."""
    version = api_version or transport.api_version
    check_version(op, version)
    raw = op.returns in ("text", "bytes", "redirect")
    reply = transport.request(
        op.http_method,
        request.path,
        params=request.query or None,
        json=request.body,
        files=request.files,
        idempotent=op.idempotent or None,
        version=version,
        accept=op.accept,
        raw=raw,
    )
    if op.returns == "text":
        return reply.text
    if op.returns == "bytes":
        return reply.content
    if op.returns == "redirect":
        return reply.headers.get("location", "")
    if op.returns == "none":
        return None
    return reply


def check_version(op: Operation, version: str) -> None:
    """Refuse, before sending, a Preview-only operation under a numbered version."""
    if op.preview_only and version.lower() not in PREVIEW_NAMES:
        raise UsageError(
            f"{op.id} exists only in Intercom's Preview API, but this call would send "
            f"Intercom-Version {version}; pass api_version='Preview' (or set "
            "intercom.api_version: Preview)"
        )


def lazy_module(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on first attribute access.

    The generated resources name their models through these, so importing the client
    does not build some five hundred pydantic classes before anyone calls anything.
    """
    return _LazyModule(name)


class _LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None
        self._lock = threading.Lock()

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            with self._lock:
                module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)


@functools.cache
def _adapter(model: str) -> Any:
    from pydantic import TypeAdapter

    module = importlib.import_module("syncer.intercom.api.request_models")
    return TypeAdapter(getattr(module, model))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _part(name: str, value: Any) -> Any:
    """A multipart field: bytes and files as uploads, anything else as a plain field."""
    if isinstance(value, bytes):
        return (name, value, "application/octet-stream")
    if hasattr(value, "read"):
        return (name, value, "application/octet-stream")
    return (None, _text(value))

"""``syncer api``: call any Intercom operation by its operationId and print the JSON.

    syncer api --list [FILTER]                      every operation (or those matching)
    syncer api ListContacts --all-pages             every contact, as one JSON array
    syncer api UpdateContact -p id=123 -p name=Bob  path, query and body fields by name
    syncer api SearchContacts --body @query.json    a whole body, from a file or inline

Parameters are named as in the spec and typed by it (``-p per_page=50`` sends a number,
``-p states=draft -p states=published`` an array). Bodies are checked against the
spec's request model before anything is sent. The credentials, region and version come
from the config file (``-c``), like every other command; ``--api-version`` overrides
the version for this call. What a call prints is redacted of the config's secrets (a
reply may echo the token), and its errors never hold the token (the transport's own
scrubbing; ``syncer.cli`` prints them through a redacting stderr).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from syncer.errors import UsageError

if TYPE_CHECKING:
    from syncer.config.settings import Settings
    from syncer.intercom.operation import Operation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``syncer api`` arguments (the caller adds ``-c``)."""
    parser.add_argument(
        "operation",
        nargs="?",
        metavar="OPERATION",
        help="an operationId (ListContacts) or resource.method (contacts.list); "
        "with --list, a filter",
    )
    parser.add_argument(
        "--list", action="store_true", dest="list_operations", help="list the operations"
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a path, query or body parameter, named as in the spec (repeat for arrays)",
    )
    parser.add_argument("--body", metavar="JSON|@FILE", help="the request body, whole")
    parser.add_argument(
        "--all-pages", action="store_true", help="follow the pages; print every item"
    )
    parser.add_argument("--api-version", metavar="VERSION", help="Intercom-Version for this call")


def run(
    args: argparse.Namespace, load_settings: Callable[[], Settings], out: TextIO | None = None
) -> int:
    """Carry out ``syncer api``; returns the exit code."""
    from syncer.intercom.api.operations import OPERATIONS

    out = out or sys.stdout
    if args.list_operations:
        _print_list(OPERATIONS.values(), args.operation, out)
        return 0
    if not args.operation:
        raise UsageError("name an operation (syncer api --list shows them all)")
    op = find(args.operation, OPERATIONS)
    path, query, body = parse_params(op, args.param)
    if args.body is not None:
        whole = _read_body(args.body)
        if body and isinstance(whole, dict):
            whole = {**whole, **body}
        body = whole
    if args.all_pages and op.paging is None:
        raise UsageError(f"{op.id} does not page; leave out --all-pages")
    settings = load_settings()
    from syncer.redact import RedactingStream, Redactor

    redacting = RedactingStream(out, Redactor.from_settings(settings))
    try:
        return _call(args, op, path, query, body, settings, cast(TextIO, redacting))
    finally:
        redacting.flush()


def _call(
    args: argparse.Namespace,
    op: Operation,
    path: dict[str, Any],
    query: dict[str, Any],
    body: Any,
    settings: Settings,
    out: TextIO,
) -> int:
    """Send the call (every page of it with ``--all-pages``) and print the reply."""
    from syncer.intercom.client import IntercomClient
    from syncer.intercom.operation import build, send
    from syncer.intercom.paging import Pager

    if op.body == "multipart" and isinstance(body, dict):
        body = {k: _file_or_value(v) for k, v in body.items()}
    request = build(op, path=path, query=query, body=body)
    with IntercomClient.from_settings(settings.intercom) as client:
        transport = client.transport
        if args.all_pages:
            assert op.paging is not None
            field = op.paging.items
            pager: Pager[Any, Any] = Pager(
                lambda r: send(transport, op, r, api_version=args.api_version),
                request,
                op.paging.mechanism,
                field,
                lambda reply: reply,
                lambda reply: reply.get(field) or [],
            )
            _print_items(pager, out)
            return 0
        reply = send(transport, op, request, api_version=args.api_version)
    _print_reply(op, reply, out)
    return 0


def find(name: str, operations: Mapping[str, Operation]) -> Operation:
    """The operation called ``name``: an operationId, ``resource.method``, or snake_case."""
    if name in operations:
        return operations[name]
    wanted = name.lower().replace("-", "_")
    for op in operations.values():
        if wanted in (op.id.lower(), f"{op.resource}.{op.method}", _snake(op.id)):
            return op
    names = [*operations, *(f"{op.resource}.{op.method}" for op in operations.values())]
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UsageError(f"no Intercom operation {name!r}{hint} (syncer api --list shows them all)")


def parse_params(
    op: Operation, pairs: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``NAME=VALUE`` pairs as (path, query, body) values typed by the spec."""
    found: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "body": {}}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE")
        param = op.param(name)
        if param is None:
            known = ", ".join(p.name for p in op.params) or "none"
            raise UsageError(f"{op.id} has no parameter {name!r} (it takes: {known})")
        value = _typed(op, param.name, param.kind, param.items, text)
        group = found[param.location]
        if param.kind == "array" and not text.startswith("["):
            group.setdefault(param.name, []).extend(value)
        else:
            group[param.name] = value
    missing = [
        p.name
        for p in op.params
        if p.required and p.location != "body" and p.name not in found[p.location]
    ]
    if missing:
        raise UsageError(f"{op.id} needs {', '.join(missing)} (-p NAME=VALUE)")
    return found["path"], found["query"], found["body"]


def _typed(op: Operation, name: str, kind: str, items: str | None, text: str) -> Any:
    try:
        if kind == "array":
            if text.startswith("["):
                return json.loads(text)
            return [_scalar(items or "string", text)]
        if kind in ("object", "any") and text[:1] in "{[":
            return json.loads(text)
        return _scalar(kind, text)
    except ValueError as exc:
        raise UsageError(f"{op.id}: {name}={text!r} is not a valid {kind}: {exc}") from None


def _scalar(kind: str, text: str) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError("expected true or false")
    return text


def _read_body(text: str) -> Any:
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--body {text}: {exc.strerror or exc}") from None
    try:
        return json.loads(source)
    except ValueError as exc:
        raise UsageError(f"--body is not valid JSON: {exc}") from None


def _file_or_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return Path(value[1:]).read_bytes()
    return value


def _print_list(operations: Iterable[Operation], needle: str | None, out: TextIO) -> None:
    rows = []
    for op in operations:
        call = f"{op.resource}.{op.method}"
        if needle and not any(
            needle.lower() in text.lower() for text in (op.id, call, op.path, op.summary)
        ):
            continue
        flags = []
        if op.paging:
            flags.append(f"pages:{op.paging.mechanism}")
        if op.preview_only:
            flags.append("preview-only")
        rows.append((op.id, call, f"{op.http_method} {op.path}", " ".join(flags)))
    if not rows:
        print(f"no operation matches {needle!r}", file=out)
        return
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3]]
        print("  ".join(cells).rstrip(), file=out)


def _print_items(items: Iterable[Any], out: TextIO) -> None:
    """A JSON array, written item by item so a long listing streams."""
    out.write("[")
    count = 0
    for item in items:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(item, ensure_ascii=False))
        out.flush()
        count += 1
    out.write("\n]\n" if count else "]\n")


def _print_reply(op: Operation, reply: Any, out: TextIO) -> None:
    if op.returns == "none" or reply is None:
        return
    if op.returns == "bytes":
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.write(reply)
        else:
            out.write(reply.decode("utf-8", "replace"))
        return
    if op.returns == "text":
        out.write(reply if reply.endswith("\n") else reply + "\n")
        return
    if op.returns == "redirect":
        reply = {"location": reply}
    print(json.dumps(reply, indent=2, ensure_ascii=False), file=out)


def _snake(name: str) -> str:
    import re

    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()

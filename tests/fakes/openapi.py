"""Check HTTP requests and responses against an OpenAPI 3.0 document.

`load_openapi(path)` reads a spec (YAML or JSON) once and caches it. The `OpenAPI`
object matches a method and path to an `Operation` (a literal segment beats a templated
one, so `GET /contacts/search` is not `GET /contacts/{id}`), and `check_request` lists
every way a request breaks the contract as human-readable strings such as
``"POST /ai/external_pages: body.locale: 'fr' is not one of ['en']"``. The same object
checks responses (`check_response`) and builds plausible samples from the spec
(`sample_response`, `sample_request`), which the fakes use to answer operations they do
not model.

OpenAPI 3.0 schemas are almost JSON Schema draft 4: the document is rewritten once so
that ``nullable: true`` admits ``null``, then validated with `jsonschema`'s draft 4
validator over a `referencing` registry holding the whole document, so every ``$ref``
resolves in place. Two checks are stricter than the spec, on purpose, and can be turned
off: unknown query parameters and unknown body properties are reported, because a fake
that silently ignores a misspelt field hides exactly the bug it exists to catch.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import referencing
import referencing.jsonschema
import yaml
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

__all__ = [
    "Match",
    "OpenAPI",
    "Operation",
    "RequestCheck",
    "SampleRequest",
    "SampleResponse",
    "load_openapi",
]

_SPEC_URI = "urn:openapi:spec"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# OpenAPI 3.0 §4.7.12.1: header parameters with these names "SHALL be ignored".
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class Operation:
    """One method on one path template, with the spec's pointer to it."""

    method: str  # upper case
    path: str  # the template, e.g. "/ai/external_pages/{id}"
    operation_id: str
    pointer: str  # JSON pointer of the operation object in the document
    parameters: tuple[tuple[Mapping[str, Any], str], ...]  # (parameter, its pointer)
    segments: tuple[re.Pattern[str] | str, ...] = field(repr=False)
    names: tuple[tuple[str, ...], ...] = field(repr=False)  # template names per segment

    @property
    def specificity(self) -> tuple[bool, ...]:
        """Literal segments first: compare these to prefer the most literal template."""
        return tuple(isinstance(s, str) for s in self.segments)


@dataclass(frozen=True)
class Match:
    """An operation matched by a request, with its decoded path parameters."""

    operation: Operation
    path_params: Mapping[str, str]

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    @property
    def path_template(self) -> str:
        return self.operation.path


@dataclass(frozen=True)
class RequestCheck:
    """What `OpenAPI.check_request` found: the match, the problems, the parsed inputs."""

    match: Match | None
    violations: tuple[str, ...]
    params: Mapping[str, Any]  # query and header parameters, coerced to schema types
    body: Any  # the parsed JSON body, or None

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class SampleResponse:
    """A reply built from the spec: its example if valid, else synthesised."""

    status: int
    content_type: str | None
    body: Any


@dataclass(frozen=True)
class SampleRequest:
    """A request built from the spec that passes `check_request`."""

    method: str
    path: str  # with path parameters filled in, no query
    query: Mapping[str, list[str]]
    content_type: str | None
    body: Any


def load_openapi(path: Path | str, base_path: str | None = None) -> OpenAPI:
    """Read and index a spec file once per process (YAML or JSON)."""
    return _load(str(Path(path).resolve()), base_path)


@functools.cache
def _load(path: str, base_path: str | None) -> OpenAPI:
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".json"):
        return OpenAPI(json.loads(text), base_path=base_path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster
    return OpenAPI(yaml.load(text, loader), base_path=base_path)  # noqa: S506 - a safe loader


class OpenAPI:
    """An indexed OpenAPI 3.0 document: match, check and sample HTTP exchanges.

    Thread-safe after construction: the only mutable parts are caches.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        base_path: str | None = None,
        reject_unknown_query: bool = True,
        reject_unknown_properties: bool = True,
    ) -> None:
        self.document: dict[str, Any] = _normalise(document)
        self.base_path = _server_path(self.document) if base_path is None else base_path
        self.reject_unknown_query = reject_unknown_query
        self.reject_unknown_properties = reject_unknown_properties
        resource = referencing.jsonschema.DRAFT4.create_resource(self.document)
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            _SPEC_URI, resource
        )
        self._validators: dict[str, Draft4Validator] = {}
        self._samples: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.operations = tuple(self._index_operations())
        self._by_length: dict[int, list[Operation]] = {}
        for op in self.operations:
            self._by_length.setdefault(len(op.segments), []).append(op)
        self.by_id = {op.operation_id: op for op in self.operations}

    # ---- matching -------------------------------------------------------------------

    def match(self, method: str, path: str) -> Match | None:
        """The most literal operation for `method` on `path` (no query), or None."""
        found = self._candidates(path)
        same_method = [(op, params) for op, params in found if op.method == method.upper()]
        if not same_method:
            return None
        op, params = max(same_method, key=lambda pair: pair[0].specificity)
        return Match(op, params)

    def _candidates(self, path: str) -> list[tuple[Operation, dict[str, str]]]:
        if self.base_path:
            if not path.startswith(self.base_path + "/"):
                return []
            path = path[len(self.base_path) :]
        parts = path.split("/")[1:] if path.startswith("/") else []
        found = []
        for op in self._by_length.get(len(parts), []):
            params = _match_segments(op, parts)
            if params is not None:
                found.append((op, params))
        return found

    # ---- requests -------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        path: str,
        *,
        query: str | Mapping[str, list[str]] = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        extra_query: Mapping[str, Collection[str]] | None = None,
        case_insensitive_headers: Collection[str] = (),
    ) -> RequestCheck:
        """Every way this request breaks the spec (empty when it conforms).

        `extra_query` names query parameters to tolerate per operationId beyond the
        spec (for instance the paging parameters a server puts in its own `next` links).
        Values of `case_insensitive_headers` match their enum ignoring case.
        """
        method = method.upper()
        prefix = f"{method} {path}"
        match = self.match(method, path)
        if match is None:
            known = [op.method for op, _ in self._candidates(path)]
            why = f"method not allowed (spec has {sorted(known)})" if known else "unknown path"
            return RequestCheck(None, (f"{prefix}: {why}",), {}, None)
        query_map = parse_qs(query, keep_blank_values=True) if isinstance(query, str) else query
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        tolerated = frozenset((extra_query or {}).get(match.operation_id, ()))
        problems: list[str] = []
        params: dict[str, Any] = {}
        problems += self._check_path_params(match)
        problems += self._check_query(match.operation, query_map, tolerated, params)
        folded = frozenset(h.lower() for h in case_insensitive_headers)
        problems += self._check_headers(match.operation, lowered, folded, params)
        body_problems, parsed = self._check_body(match.operation, body, content_type)
        problems += body_problems
        violations = tuple(f"{prefix}: {p}" for p in dict.fromkeys(problems))
        return RequestCheck(match, violations, params, parsed)

    def _check_path_params(self, match: Match) -> list[str]:
        problems = []
        for param, pointer in match.operation.parameters:
            if param.get("in") == "path" and param["name"] in match.path_params:
                raw = match.path_params[param["name"]]
                problems += self._check_scalar(raw, pointer, f"path.{param['name']}")[0]
        return problems

    def _check_query(
        self,
        op: Operation,
        query: Mapping[str, list[str]],
        tolerated: frozenset[str],
        out: dict[str, Any],
    ) -> list[str]:
        problems: list[str] = []
        consumed: set[str] = set()
        for param, pointer in op.parameters:
            if param.get("in") != "query":
                continue
            name = param["name"]
            schema, schema_ptr = self._deref(param.get("schema", {}), pointer + "/schema")
            if _first_type(schema) == "object" and param.get("explode", True):
                keys = self._object_keys(schema_ptr) & set(query)
                consumed |= keys
                if not keys:
                    if param.get("required"):
                        problems.append(f"query.{name}: required parameter is missing")
                    continue
                value: Any = {k: self._coerce(query[k][-1], schema_ptr, k) for k in keys}
            elif name not in query:
                if param.get("required"):
                    problems.append(f"query.{name}: required parameter is missing")
                continue
            else:
                consumed.add(name)
                value, more = self._query_value(query[name], param, schema_ptr, f"query.{name}")
                problems += more
            problems += self._schema_problems(schema_ptr, value, f"query.{name}")
            out[name] = value
        if self.reject_unknown_query:
            for key in sorted(set(query) - consumed - tolerated):
                problems.append(f"query.{key}: unknown parameter (not in the spec)")
        return problems

    def _query_value(
        self, raw: list[str], param: Mapping[str, Any], schema_ptr: str, where: str
    ) -> tuple[Any, list[str]]:
        schema = self._deref_ptr(schema_ptr)[0]
        if _first_type(schema) == "array":
            items_ptr = self._deref(schema.get("items", {}), schema_ptr + "/items")[1]
            explode = param.get("explode", param.get("style", "form") == "form")
            values = raw if explode else [v for r in raw for v in r.split(",") if r]
            return [self._coerce(v, items_ptr) for v in values], []
        if len(raw) > 1:
            return self._coerce(raw[-1], schema_ptr), [
                f"{where}: given {len(raw)} times, the spec takes one value"
            ]
        return self._coerce(raw[0], schema_ptr), []

    def _check_headers(
        self,
        op: Operation,
        headers: Mapping[str, str],
        folded: frozenset[str],
        out: dict[str, Any],
    ) -> list[str]:
        problems: list[str] = []
        for param, pointer in op.parameters:
            name = str(param.get("name", ""))
            if param.get("in") != "header" or name.lower() in _IGNORED_HEADERS:
                continue
            if name.lower() not in headers:
                if param.get("required"):
                    problems.append(f"header.{name}: required header is missing")
                continue
            raw = headers[name.lower()]
            if name.lower() in folded:
                raw = self._enum_casing(raw, pointer)
            found, value = self._check_scalar(raw, pointer, f"header.{name}")
            problems += found
            out[name] = value
        return problems

    def _enum_casing(self, raw: str, param_ptr: str) -> str:
        """`raw` spelt as the enum member it equals ignoring case, if there is one."""
        param = self._deref_ptr(param_ptr)[0]
        schema = self._deref(param.get("schema", {}), param_ptr + "/schema")[0]
        members = [m for m in schema.get("enum") or [] if isinstance(m, str)]
        return next((m for m in members if m.casefold() == raw.casefold()), raw)

    def _check_scalar(self, raw: str, param_ptr: str, where: str) -> tuple[list[str], Any]:
        param = self._deref_ptr(param_ptr)[0]
        schema_ptr = self._deref(param.get("schema", {}), param_ptr + "/schema")[1]
        value = self._coerce(raw, schema_ptr)
        return self._schema_problems(schema_ptr, value, where), value

    def _check_body(
        self, op: Operation, body: bytes, content_type: str | None
    ) -> tuple[list[str], Any]:
        spec_body, body_ptr = self._deref(
            self._deref_ptr(op.pointer)[0].get("requestBody"), op.pointer + "/requestBody"
        )
        if spec_body is None:
            return (["body: the operation takes no request body"] if body.strip() else []), None
        if not body:
            return (["body: required but missing"] if spec_body.get("required") else []), None
        media = _media_type(content_type)
        content = spec_body.get("content", {})
        if media not in content:
            return [f"body: content type {media!r} not accepted, expected {sorted(content)}"], None
        if not _is_json(media):
            return [], None
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            return [f"body: not valid JSON ({exc})"], None
        media_ptr = f"{body_ptr}/content/{_escape(media)}"
        if "schema" not in content[media]:
            return [], parsed
        schema_ptr = self._deref(content[media]["schema"], media_ptr + "/schema")[1]
        return self._instance_problems(schema_ptr, parsed, "body"), parsed

    # ---- responses ------------------------------------------------------------------

    def check_response(
        self, operation: Operation, status: int, body: bytes, content_type: str | None
    ) -> list[str]:
        """Every way a reply breaks the spec's declared responses for `operation`."""
        prefix = f"{status} reply to {operation.method} {operation.path}"
        found = self._response_spec(operation, status)
        if found is None:
            return [f"{prefix}: status {status} is not declared"]
        spec, pointer = found
        content = spec.get("content") or {}
        if not content:
            return [f"{prefix}: body: the spec declares no body"] if body.strip() else []
        media = _media_type(content_type)
        if media not in content:
            return [f"{prefix}: content type {media!r} not declared ({sorted(content)})"]
        if not _is_json(media) or "schema" not in content[media]:
            return []
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            return [f"{prefix}: body: not valid JSON ({exc})"]
        media_ptr = f"{pointer}/content/{_escape(media)}/schema"
        schema_ptr = self._deref(content[media]["schema"], media_ptr)[1]
        return [f"{prefix}: {p}" for p in self._instance_problems(schema_ptr, parsed, "body")]

    def _response_spec(
        self, operation: Operation, status: int
    ) -> tuple[dict[str, Any], str] | None:
        responses_ptr = operation.pointer + "/responses"
        responses = self._deref_ptr(responses_ptr)[0]
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                return self._deref(responses[key], f"{responses_ptr}/{_escape(key)}")
        return None

    # ---- schemas --------------------------------------------------------------------

    def validate(self, pointer: str, instance: Any, where: str = "body") -> list[str]:
        """Problems of `instance` against the schema at JSON pointer `pointer`."""
        return self._instance_problems(pointer, instance, where)

    def schema_pointer(self, name: str) -> str:
        """The pointer of a named component schema, e.g. ``schema_pointer("error")``."""
        return f"/components/schemas/{_escape(name)}"

    def _instance_problems(self, pointer: str, instance: Any, where: str) -> list[str]:
        problems = self._schema_problems(pointer, instance, where)
        if self.reject_unknown_properties:
            problems += self._unknown_properties(pointer, instance, where)
        return problems

    def _schema_problems(self, pointer: str, instance: Any, where: str) -> list[str]:
        errors = sorted(self._validator(pointer).iter_errors(instance), key=_error_key)
        return [f"{_where(where, e.absolute_path)}: {_shorten(e.message)}" for e in errors]

    def _is_valid(self, pointer: str, instance: Any) -> bool:
        return bool(self._validator(pointer).is_valid(instance))

    def _validator(self, pointer: str) -> Draft4Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            schema = {"$ref": f"{_SPEC_URI}#{pointer}"}
            validator = Draft4Validator(schema, registry=self._registry)
            with self._lock:
                self._validators[pointer] = validator
        return validator

    def _unknown_properties(self, pointer: str, instance: Any, where: str) -> list[str]:
        """Keys the schema does not declare, where it declares any (recursively)."""
        branches = list(self._applicable(pointer, instance))
        problems: list[str] = []
        if isinstance(instance, dict):
            declared: dict[str, list[str]] = {}
            for schema, ptr in branches:
                for name in schema.get("properties") or {}:
                    declared.setdefault(name, []).append(f"{ptr}/properties/{_escape(name)}")
            open_ended = any(
                "additionalProperties" in s or "patternProperties" in s for s, _ in branches
            )
            for key, value in instance.items():
                if key in declared:
                    for sub in declared[key]:
                        problems += self._unknown_properties(sub, value, f"{where}.{key}")
                elif declared and not open_ended:
                    problems.append(f"{where}.{key}: unknown property (not in the schema)")
        elif isinstance(instance, list):
            for schema, ptr in branches:
                if isinstance(schema.get("items"), dict):
                    for i, item in enumerate(instance):
                        problems += self._unknown_properties(f"{ptr}/items", item, f"{where}[{i}]")
        return list(dict.fromkeys(problems))

    def _applicable(self, pointer: str, instance: Any) -> Iterator[tuple[dict[str, Any], str]]:
        """The schema and the composed branches that apply to `instance`."""
        schema, pointer = self._deref_ptr(pointer)
        yield schema, pointer
        for keyword in ("allOf", "anyOf", "oneOf"):
            for i, _ in enumerate(schema.get(keyword) or []):
                branch = f"{pointer}/{keyword}/{i}"
                if keyword == "allOf" or self._is_valid(branch, instance):
                    yield from self._applicable(branch, instance)

    def _object_keys(self, pointer: str) -> set[str]:
        keys: set[str] = set()
        for schema, _ in self._applicable_all(pointer):
            keys |= set(schema.get("properties") or {})
        return keys

    def _applicable_all(self, pointer: str) -> Iterator[tuple[dict[str, Any], str]]:
        schema, pointer = self._deref_ptr(pointer)
        yield schema, pointer
        for keyword in ("allOf", "anyOf", "oneOf"):
            for i, _ in enumerate(schema.get(keyword) or []):
                yield from self._applicable_all(f"{pointer}/{keyword}/{i}")

    def _coerce(self, raw: str, schema_ptr: str, prop: str | None = None) -> Any:
        """A query/path/header string as the schema's type, or unchanged if it isn't one."""
        schema = self._deref_ptr(schema_ptr)[0]
        if prop is not None:
            for branch, _ in self._applicable_all(schema_ptr):
                if prop in (branch.get("properties") or {}):
                    schema = self._deref(branch["properties"][prop], "")[0]
                    break
        kind = _first_type(schema)
        if kind == "integer" and re.fullmatch(r"-?\d+", raw):
            return int(raw)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", raw):
            return float(raw)
        if kind == "boolean" and raw in ("true", "false"):
            return raw == "true"
        return raw

    # ---- samples --------------------------------------------------------------------

    def sample_response(self, operation: Operation) -> SampleResponse:
        """The operation's success reply: the lowest 2xx (else 3xx, else default)."""
        responses = self._deref_ptr(operation.pointer + "/responses")[0]
        status_key = _success_key(responses)
        spec, pointer = self._deref(
            responses[status_key], f"{operation.pointer}/responses/{_escape(status_key)}"
        )
        status = 200 if status_key == "default" else int(status_key)
        content = spec.get("content") or {}
        if not content:
            return SampleResponse(status, None, None)
        media = "application/json" if "application/json" in content else next(iter(content))
        media_ptr = f"{pointer}/content/{_escape(media)}"
        if not _is_json(media):
            return SampleResponse(status, media, "sample")
        body = self._media_sample(media_ptr)
        return SampleResponse(status, media, body)

    def sample_request(self, operation: Operation) -> SampleRequest:
        """A conforming request: path and required query params, a JSON body if any."""
        path = operation.path
        query: dict[str, list[str]] = {}
        for param, pointer in operation.parameters:
            schema_ptr = self._deref(param.get("schema", {}), pointer + "/schema")[1]
            if param.get("in") == "path":
                value = _as_text(self.sample_value(schema_ptr))
                path = path.replace("{" + param["name"] + "}", quote(value, safe=""))
            elif param.get("in") == "query" and param.get("required"):
                query.update(self._sample_query(param, schema_ptr))
        body_spec, body_ptr = self._deref(
            self._deref_ptr(operation.pointer)[0].get("requestBody"),
            operation.pointer + "/requestBody",
        )
        content = (body_spec or {}).get("content") or {}
        if "application/json" not in content:
            return SampleRequest(operation.method, self.base_path + path, query, None, None)
        body = self._media_sample(f"{body_ptr}/content/application~1json")
        return SampleRequest(
            operation.method, self.base_path + path, query, "application/json", body
        )

    def _sample_query(self, param: Mapping[str, Any], schema_ptr: str) -> dict[str, list[str]]:
        value = self.sample_value(schema_ptr)
        if isinstance(value, dict) and param.get("explode", True):
            return {k: [_as_text(v)] for k, v in value.items()}
        if isinstance(value, list):
            return {param["name"]: [_as_text(v) for v in value]}
        return {param["name"]: [_as_text(value)]}

    def _media_sample(self, media_ptr: str) -> Any:
        media = self._deref_ptr(media_ptr)[0]
        schema_ptr = self._deref(media.get("schema", {}), media_ptr + "/schema")[1]
        for example in _examples(self, media):
            if not self._instance_problems(schema_ptr, example, "body"):
                return copy.deepcopy(example)
        return self.sample_value(schema_ptr)

    def sample_value(self, pointer: str) -> Any:
        """A value valid against the schema at `pointer`, built once and cached."""
        if pointer not in self._samples:
            value = _Sampler(self).build(pointer, 0)
            with self._lock:
                self._samples[pointer] = value
        return copy.deepcopy(self._samples[pointer])

    # ---- document access ------------------------------------------------------------

    def _deref_ptr(self, pointer: str) -> tuple[Any, str]:
        return self._deref(_resolve_pointer(self.document, pointer), pointer)

    def _deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow local `$ref`s; returns the target and its pointer."""
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#") or ref in seen:
                return {}, pointer
            seen.add(ref)
            pointer = unquote(ref[1:])
            node = _resolve_pointer(self.document, pointer)
        return node, pointer

    def _index_operations(self) -> Iterator[Operation]:
        for path, item in (self.document.get("paths") or {}).items():
            item_ptr = f"/paths/{_escape(path)}"
            item, item_ptr = self._deref(item, item_ptr)
            shared = self._parameters(item.get("parameters") or [], item_ptr + "/parameters")
            for method in _METHODS:
                if method not in item:
                    continue
                op_ptr = f"{item_ptr}/{method}"
                own = self._parameters(item[method].get("parameters") or [], op_ptr + "/parameters")
                merged = {**shared, **own}
                segments, names = _compile(path)
                yield Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=str(item[method].get("operationId") or f"{method} {path}"),
                    pointer=op_ptr,
                    parameters=tuple(merged.values()),
                    segments=segments,
                    names=names,
                )

    def _parameters(
        self, params: list[Any], pointer: str
    ) -> dict[tuple[str, str], tuple[Mapping[str, Any], str]]:
        found = {}
        for i, raw in enumerate(params):
            param, ptr = self._deref(raw, f"{pointer}/{i}")
            found[(param.get("name", ""), param.get("in", ""))] = (param, ptr)
        return found


class _Sampler:
    """Builds schema-valid values: examples and defaults when valid, else by type."""

    _MAX_DEPTH = 8

    def __init__(self, spec: OpenAPI) -> None:
        self.spec = spec

    def build(self, pointer: str, depth: int) -> Any:
        schema, pointer = self.spec._deref_ptr(pointer)
        for key in ("example", "default"):
            if key in schema and self.spec._is_valid(pointer, schema[key]):
                return copy.deepcopy(schema[key])
        enum = [v for v in schema.get("enum") or [] if v is not None]
        if enum:
            return enum[0]
        base = None
        if _first_type(schema) or "properties" in schema:
            base = self._by_type(schema, pointer, depth)
        for i, _ in enumerate(schema.get("allOf") or []):
            base = _merge(base, self.build(f"{pointer}/allOf/{i}", depth))
        options = [
            _merge(copy.deepcopy(base), self.build(f"{pointer}/{keyword}/{i}", depth))
            for keyword in ("oneOf", "anyOf")
            for i, _ in enumerate(schema.get(keyword) or [])
        ]
        if not options:
            return "string" if base is None and not schema.get("allOf") else base
        ranked = sorted(options, key=lambda v: v is None)
        return next((v for v in ranked if self.spec._is_valid(pointer, v)), ranked[0])

    def _by_type(self, schema: dict[str, Any], pointer: str, depth: int) -> Any:
        kind = _first_type(schema) or ("object" if "properties" in schema else None)
        if kind == "object":
            return self._object(schema, pointer, depth)
        if kind == "array":
            if depth >= self._MAX_DEPTH and not schema.get("minItems"):
                return []
            item = self.build(f"{pointer}/items", depth + 1) if "items" in schema else "item"
            return [copy.deepcopy(item) for _ in range(max(1, schema.get("minItems", 1)))]
        if kind in ("integer", "number"):
            return _number(schema, kind)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return _string(schema)

    def _object(self, schema: dict[str, Any], pointer: str, depth: int) -> dict[str, Any]:
        required = set(schema.get("required") or [])
        value = {}
        for name in schema.get("properties") or {}:
            if depth < self._MAX_DEPTH or name in required:
                value[name] = self.build(f"{pointer}/properties/{_escape(name)}", depth + 1)
        return value


# ---- helpers ------------------------------------------------------------------------


def _normalise(node: Any) -> Any:
    """A JSON-Schema-ready copy: string keys, ISO dates, `nullable` admitting null."""
    if isinstance(node, dict):
        out = {
            str(k): (copy.deepcopy(_jsonable(v)) if k in ("example", "examples") else _normalise(v))
            for k, v in node.items()
        }
        return _nullable(out) if out.get("nullable") is True else out
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    return _jsonable(node)


def _jsonable(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _jsonable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_jsonable(v) for v in node]
    if isinstance(node, dt.date | dt.datetime):
        return node.isoformat()
    return node


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 `nullable: true` as draft 4: add "null" to the type, or wrap."""
    schema = {k: v for k, v in schema.items() if k != "nullable"}
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    keep: dict[str, Any] = {
        k: schema.pop(k) for k in ("description", "example", "title") if k in schema
    }
    return {"anyOf": [{"type": "null"}, schema], **keep}


def _server_path(document: Mapping[str, Any]) -> str:
    servers = document.get("servers") or [{}]
    url = str(servers[0].get("url", ""))
    path = urlsplit(url if "//" in url else "//host" + url).path
    return path.rstrip("/")


def _compile(path: str) -> tuple[tuple[re.Pattern[str] | str, ...], tuple[tuple[str, ...], ...]]:
    segments: list[re.Pattern[str] | str] = []
    names: list[tuple[str, ...]] = []
    for segment in path.split("/")[1:]:
        found = re.findall(r"\{([^}]+)\}", segment)
        if not found:
            segments.append(segment)
            names.append(())
            continue
        segments.append(re.compile(_template_regex(segment)))
        names.append(tuple(found))
    return tuple(segments), tuple(names)


def _template_regex(segment: str) -> str:
    parts = re.split(r"(\{[^}]+\})", segment)
    return "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts if p)


def _match_segments(op: Operation, parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for segment, names, part in zip(op.segments, op.names, parts, strict=True):
        if isinstance(segment, str):
            if segment != part:
                return None
            continue
        found = segment.fullmatch(part)
        if found is None:
            return None
        params.update({n: unquote(v) for n, v in zip(names, found.groups(), strict=True)})
    return params


def _resolve_pointer(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node.get(token, {})
    return node


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _first_type(schema: Any) -> str | None:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _examples(spec: OpenAPI, media: Mapping[str, Any]) -> Iterator[Any]:
    if "example" in media:
        yield media["example"]
    for example in (media.get("examples") or {}).values():
        resolved = spec._deref(example, "")[0]
        if isinstance(resolved, dict) and "value" in resolved:
            yield resolved["value"]


def _success_key(responses: Mapping[str, Any]) -> str:
    for prefix in ("2", "3"):
        keys = sorted(k for k in responses if k.startswith(prefix))
        if keys:
            return keys[0]
    return "default" if "default" in responses else next(iter(responses))


def _merge(base: Any, part: Any) -> Any:
    if isinstance(base, dict) and isinstance(part, dict):
        return {**base, **part}
    if base is None or not isinstance(base, dict):
        return part
    return base


def _string(schema: Mapping[str, Any]) -> str:
    formats = {
        "date-time": "2024-01-01T00:00:00Z",
        "date": "2024-01-01",
        "uri": "https://example.com/",
        "url": "https://example.com/",
        "email": "someone@example.com",
        "uuid": "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    }
    text = formats.get(str(schema.get("format")), "string")
    min_length = int(schema.get("minLength", 0))
    return text.ljust(min_length, "x")[: schema.get("maxLength", None)]


def _number(schema: Mapping[str, Any], kind: str) -> int | float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    value: float = 1
    if low is not None:
        value = max(value, low + (1 if schema.get("exclusiveMinimum") else 0))
    if high is not None:
        value = min(value, high - (1 if schema.get("exclusiveMaximum") else 0))
    return int(value) if kind == "integer" else float(value)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _where(where: str, path: Iterator[Any] | Any) -> str:
    out = where
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _error_key(error: ValidationError) -> tuple[str, str]:
    return (_where("", error.absolute_path), error.message)


def _shorten(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"

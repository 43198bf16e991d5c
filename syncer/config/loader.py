"""Read ``syncer.yaml`` into ``Settings``, reporting every problem at once with file:line.

The steps: parse YAML keeping each node's line; expand ``${VAR}`` / ``${VAR:-default}`` in
string values; merge ``defaults:`` into each source; validate each part with its model
(each source with its connector's model, chosen by ``type:``). Pydantic's errors become
``Problem`` s located by key path, unknown keys get a "did you mean" hint, and values of
secret fields are never echoed.

``syncer validate`` (``for_sync``) also asks what a sync needs: that the file says what
it syncs (an empty file, or one without ``sources:``, is a problem; ``syncer init``
writes a starter), and an ``intercom:`` token once there are sources (a dry run needs
none). Other commands need neither: ``syncer api`` runs on an ``intercom:`` section
alone. Those are reported only when nothing else is wrong, since a mistake elsewhere (a
bad indent) can be what hid the section.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from syncer import registry
from syncer.config import database_url
from syncer.config.alerts import AlertSettings
from syncer.config.settings import (
    DaemonSettings,
    IntercomSettings,
    Settings,
    SourceDefaults,
    SourceSettings,
    StoreSettings,
)
from syncer.errors import ConfigError, Problem
from syncer.identity import source_url

Loc = tuple[str | int, ...]

_SECTIONS: dict[str, type[BaseModel]] = {
    "intercom": IntercomSettings,
    "store": StoreSettings,
    "defaults": SourceDefaults,
    "daemon": DaemonSettings,
    "alerts": AlertSettings,
}
_TOP_LEVEL = [*_SECTIONS, "sources"]
# Keys an older release read: a config that still sets one is told why it went and what
# to do, not just that the key is unknown.
_REMOVED: dict[Loc, str] = {
    ("daemon", "lease_seconds"): "removed: replicas no longer take leases; each run holds "
    "its source's lock alone, which frees at once when its replica dies and within half a "
    "minute when its machine vanishes; delete this key",
}
_VAR = re.compile(r"\$(\$)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?")
_SECRET_WORDS = ("token", "password", "secret")
# A webhook secret is one variable, without a default (which would be the secret itself).
_ONE_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def default_config_path() -> Path:
    """``$SYNCER_CONFIG``, else ``./syncer.yaml``."""
    return Path(os.environ.get("SYNCER_CONFIG") or "syncer.yaml")


def load(
    path: Path,
    env: Mapping[str, str] | None = None,
    *,
    check_environment: bool = True,
    for_sync: bool = False,
) -> Settings:
    """Load and validate ``path``; raise ``ConfigError`` listing every problem found.

    ``check_environment`` also checks what the config points at on this machine (that a
    source's folder exists and is readable): ``syncer validate`` does; a run does not,
    so that one source's missing folder fails that source alone, not the whole pass or
    the daemon's start. ``for_sync`` (``syncer validate``) also wants what a sync needs:
    its sources, and an Intercom token to write with (see the module).
    """
    env = os.environ if env is None else env
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(name, None, "", "no such file; pass -c FILE or set SYNCER_CONFIG")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([Problem(name, None, "", f"cannot read the file: {reason}")]) from None
    return loads(
        text,
        name=name,
        base_dir=path.resolve().parent,
        env=env,
        check_environment=check_environment,
        for_sync=for_sync,
    )


def loads(
    text: str,
    *,
    name: str = "<config>",
    base_dir: Path | None = None,
    env: Mapping[str, str],
    check_environment: bool = True,
    complete: bool = False,
    for_sync: bool = False,
) -> Settings:
    """Validate config ``text``; relative paths in it resolve against ``base_dir``.

    ``complete``: the text is a whole config for syncing, so it must list its sources
    (``for_sync`` implies it); a fragment (a test's, one for ``syncer api``) need not.
    ``for_sync``: see ``load``.
    """
    reader = _Reader(
        name=name,
        env=env,
        base_dir=base_dir or Path.cwd(),
        check_environment=check_environment,
        complete=complete or for_sync,
        for_sync=for_sync,
    )
    settings = reader.read(text)
    if reader.problems or settings is None:
        # A bad value in `defaults:` fails every source that inherits it: say it once.
        unique = dict.fromkeys(reader.problems)
        raise ConfigError(sorted(unique, key=lambda p: (p.line or 0, p.path)))
    return settings


@dataclass
class _Reader:
    name: str
    env: Mapping[str, str]
    base_dir: Path
    check_environment: bool = True
    complete: bool = False
    for_sync: bool = False
    problems: list[Problem] = field(default_factory=list)
    lines: dict[Loc, int] = field(default_factory=dict)
    # The file held no YAML node at all (nothing, or only comments).
    empty: bool = False

    # -- reporting -----------------------------------------------------------------

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.name, self.line_of(loc), _dotted(loc), message))

    def line_of(self, loc: Loc) -> int | None:
        # A missing key has no line of its own: point at the nearest enclosing mapping.
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None

    # -- the steps -----------------------------------------------------------------

    def read(self, text: str) -> Settings | None:
        data = self.parse(text)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.problem((), "the config must be a mapping with keys like intercom:, sources:")
            return None
        data = self.expand(data, ())
        for key in data:
            if key not in _TOP_LEVEL:
                self.unknown_key((key,), _TOP_LEVEL)
        sections = {
            key: self.validate(model, data.get(key) or {}, (key,))
            for key, model in _SECTIONS.items()
        }
        sources = self.read_sources(data.get("sources"), data.get("defaults"))
        if sections["alerts"] is not None:
            self.alert_sources(sections["alerts"], {s.name for s in sources})
        if sections["daemon"] is not None and sections["store"] is not None:
            self.engine_store(sections["daemon"], sections["store"])
        if self.problems or any(s is None for s in sections.values()):
            return None
        settings = Settings(**sections, sources=tuple(sources))
        self.missing_sections(data, settings)
        return None if self.problems else settings

    def missing_sections(self, data: dict[str, Any], settings: Settings) -> None:
        """What a sync needs of a config file: its sources (``complete``), a token
        (``for_sync``)."""
        if not self.complete:
            return
        starter = "syncer init writes a commented starter config"
        if self.empty:
            self.problems.append(
                Problem(
                    self.name,
                    1,
                    "",
                    "the file is empty: a config lists the sources to sync under "
                    f"sources: ({starter}; config/example.yaml has every key)",
                )
            )
            return
        if data.get("sources") is None:
            self.problem(
                ("sources",),
                "missing: list the sources to sync, e.g. sources: [{name: docs, type: "
                f"filesystem, path: ./docs}}] ({starter}); sources: [] syncs none",
            )
        if not (self.for_sync and settings.sources):
            return
        token = settings.intercom.token
        if "intercom" not in data:
            self.problem(
                ("intercom",),
                "missing: the sources are synced to Intercom, which needs its access "
                "token; add intercom: {token: ${INTERCOM_TOKEN}} (only sync --dry-run "
                "works without it)",
            )
        elif token is None or not token.get_secret_value():
            self.problem(
                ("intercom", "token"),
                "not set: a sync writes to Intercom with this access token; write "
                "token: ${INTERCOM_TOKEN} and export it (only sync --dry-run works without it)",
            )

    def parse(self, text: str) -> Any:
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                self.empty = True
                return {}
            self.index(node, ())
            return loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            what = exc.problem or exc.context or "invalid YAML"
            self.problems.append(Problem(self.name, line, "", f"invalid YAML: {what}"))
        except yaml.YAMLError as exc:
            self.problems.append(Problem(self.name, None, "", f"invalid YAML: {exc}"))
        finally:
            loader.dispose()
        return None

    def index(self, node: yaml.Node, loc: Loc) -> None:
        """Remember the line of every key and item; report duplicate keys."""
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is None:
                    continue
                child = (*loc, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.problems.append(
                        Problem(
                            self.name,
                            line,
                            _dotted(child),
                            f"duplicate key (first set on line {seen[key]}); keep one",
                        )
                    )
                seen[key] = line
                self.index(value_node, child)
                self.lines[child] = line
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.index(item, (*loc, i))

    def expand(self, value: Any, loc: Loc) -> Any:
        if isinstance(value, str):
            if loc[-2:] == ("webhook", "secret") and not _ONE_VAR.fullmatch(value.strip()):
                # Never the value itself: it is a secret, now in the file (and its copies).
                self.problem(
                    loc,
                    "write the webhook secret as ${VAR} and export it: a secret in the "
                    "file travels with every copy of it",
                )
            return self.expand_string(value, loc)
        if isinstance(value, dict):
            return {k: self.expand(v, (*loc, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.expand(v, (*loc, i)) for i, v in enumerate(value)]
        return value

    def expand_string(self, text: str, loc: Loc) -> str:
        def substitute(match: re.Match[str]) -> str:
            escaped, var, default, malformed = match.groups()
            if escaped:
                return "$"
            if malformed is not None:
                self.problem(
                    loc,
                    f"malformed variable ${{{malformed}}}; write ${{NAME}} or ${{NAME:-default}}",
                )
                return ""
            if var in self.env:
                return self.env[var]
            if default is not None:
                return default
            self.problem(
                loc,
                f"environment variable {var} is not set; export it, or write "
                f"${{{var}:-default}} for a fallback",
            )
            return ""

        return _VAR.sub(substitute, text) if "$" in text else text

    def validate(self, model: type[BaseModel], data: Any, loc: Loc) -> Any:
        if not isinstance(data, dict):
            self.problem(loc, f"must be a mapping of keys, not {_kind(data)}")
            return None
        try:
            context = {
                "base_dir": self.base_dir,
                "check_environment": self.check_environment,
                # store.state_dir's default: where a container keeps what syncer writes.
                "state_dir": self.env.get("SYNCER_STATE_DIR") or None,
            }
            return model.model_validate(data, context=context)
        except ValidationError as exc:
            self.report(exc, model, loc)
            return None

    def read_sources(self, raw: Any, raw_defaults: Any) -> list[SourceSettings]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(("sources",), f"must be a list of sources, not {_kind(raw)}")
            return []
        defaults = raw_defaults if isinstance(raw_defaults, dict) else {}
        sources: list[SourceSettings] = []
        names: dict[str, int] = {}
        for i, item in enumerate(raw):
            loc: Loc = ("sources", i)
            if not isinstance(item, dict):
                self.problem(loc, f"each source must be a mapping, not {_kind(item)}")
                continue
            model = self.connector_model(item, loc)
            if model is None:
                continue
            source = self.validate(model, {**defaults, **item}, loc)
            if source is None:
                continue
            if source.name in names:
                self.problem(
                    (*loc, "name"),
                    f"duplicate source name {source.name!r} (also source "
                    f"#{names[source.name] + 1}); names must be unique",
                )
            names.setdefault(source.name, i)
            self.unique_identity(source, loc, sources)
            sources.append(source)
        return sources

    def unique_identity(
        self, source: SourceSettings, loc: Loc, earlier: list[SourceSettings]
    ) -> None:
        """Each source needs a Content Import Source of its own, told apart by its url."""
        url = source_url(source)
        for n, other in enumerate(earlier):
            if (
                url is not None
                and source_url(other) == url
                and not (source.import_source_id or other.import_source_id)
            ):
                key = "url" if source.url else "page_url"
                self.problem(
                    (*loc, key if (*loc, key) in self.lines else "url"),
                    f"source {source.name!r} has the same url as source {other.name!r} "
                    f"(#{n + 1}), {url}: the url is how syncer knows which Content Import "
                    "Source in Intercom is each source's own; give each source a url: of its own",
                )
            if source.import_source_id and source.import_source_id == other.import_source_id:
                self.problem(
                    (*loc, "import_source_id"),
                    f"source {source.name!r} has the import_source_id of source "
                    f"{other.name!r}; two sources cannot share one Content Import Source",
                )

    def alert_sources(self, alerts: AlertSettings, names: set[str]) -> None:
        """A webhook's ``sources:`` must name configured sources: a typo would mute it."""
        for i, webhook in enumerate(alerts.webhooks):
            for j, name in enumerate(webhook.sources):
                if name not in names:
                    hint = _did_you_mean(name, sorted(names))
                    self.problem(
                        ("alerts", "webhooks", i, "sources", j), f"no source named {name!r}{hint}"
                    )

    def engine_store(self, daemon: DaemonSettings, store: StoreSettings) -> None:
        """The procrastinate engine keeps its jobs in the store's Postgres."""
        if (
            daemon.engine == "procrastinate"
            and database_url.parse(store.url).backend != "postgresql"
        ):
            self.problem(
                ("daemon", "engine"),
                "procrastinate keeps its jobs in the store's database and needs PostgreSQL; "
                "store.url is SQLite, where the daemon runs everything in one process "
                "(engine: in_process)",
            )

    def connector_model(self, item: dict[str, Any], loc: Loc) -> type[SourceSettings] | None:
        kind = item.get("type")
        if isinstance(kind, str) and kind in registry.BUILTIN:
            # A built-in type: no package's metadata is read for the plugins' names.
            return self.connector_settings(kind, loc)
        known = registry.available()
        if kind is None:
            self.problem(loc, f"missing key 'type'; one of: {', '.join(known)}")
            return None
        if not isinstance(kind, str) or kind not in known:
            hint = _did_you_mean(str(kind), known) or f"; one of: {', '.join(known)}"
            self.problem((*loc, "type"), f"unknown source type {kind!r}{hint}")
            return None
        return self.connector_settings(kind, loc)

    def connector_settings(self, kind: str, loc: Loc) -> type[SourceSettings] | None:
        try:
            return registry.get(kind).settings
        except Exception as exc:  # a broken third-party plugin must not hide other problems
            self.problem((*loc, "type"), f"connector {kind!r} failed to load: {exc}")
            return None

    # -- pydantic errors to problems -----------------------------------------------

    def report(self, exc: ValidationError, model: type[BaseModel], loc: Loc) -> None:
        for error in exc.errors(include_url=False, include_input=False):
            where = self.locate(loc, error["loc"])
            kind = error["type"]
            if kind == "extra_forbidden":
                self.unknown_key(where, _allowed_keys(model, error["loc"][:-1]))
            elif kind == "missing":
                self.problem(where, "missing required key")
            else:
                self.problem(where, _message(error["msg"], where))

    def locate(self, loc: Loc, error_loc: tuple[int | str, ...]) -> Loc:
        where = (*loc, *error_loc)
        # A source's value that came from `defaults:` is reported where it was written.
        if loc[:1] == ("sources",) and error_loc and where[:3] not in self.lines:
            inherited = ("defaults", *error_loc)
            if inherited[:2] in self.lines:
                return inherited
        return where

    def unknown_key(self, loc: Loc, allowed: list[str]) -> None:
        if loc in _REMOVED:
            self.problem(loc, _REMOVED[loc])
            return
        key = str(loc[-1])
        hint = _did_you_mean(key, allowed)
        if not hint and allowed:
            hint = f"; allowed here: {', '.join(sorted(allowed))}"
        self.problem(loc, f"unknown key {key!r}{hint}")


class _LineLoader(yaml.SafeLoader):
    """SafeLoader; a class of our own so nothing registered here leaks into PyYAML."""


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model accepts at ``loc`` (walking nested models), for hints."""
    current: Any = model
    for part in loc:
        is_model = isinstance(current, type) and issubclass(current, BaseModel)
        if isinstance(part, int) or not is_model:
            continue
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _message(msg: str, loc: Loc) -> str:
    msg = msg.removeprefix("Value error, ")
    if any(word in str(part).lower() for part in loc for word in _SECRET_WORDS):
        # Never echo what might be a secret's value back into a message.
        return msg.split(":")[0]
    return msg


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), f"a {type(value).__name__}"
    )

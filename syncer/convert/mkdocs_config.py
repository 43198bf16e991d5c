"""What MkDocs reads from a site's ``mkdocs.yml``, read without running MkDocs.

Only what decides how a page renders: ``docs_dir``, the ``nav`` titles, the
``markdown_extensions`` with their options (MkDocs' own ``toc``, ``tables`` and
``fenced_code`` first, as MkDocs adds them), and the names of the ``plugins``. The file is
YAML with Python tags (``!!python/name:material.extensions.emoji.to_svg``,
``!!python/object/apply:pymdownx.slugs.slugify``, ``!ENV``, ``!relative``): the loader is
a ``SafeLoader`` that reads every such tag as an ``Opaque`` value (its tag, the name it
carries, its plain content) and never imports or calls anything; what a name may mean is
decided later, from an allow-list (``syncer.convert.mkdocs``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from syncer.convert.stamp import MKDOCS_CONFIGS

CONFIG_NAMES = MKDOCS_CONFIGS
# What MkDocs always loads before the configured extensions (its config's ``builtins``).
BUILTIN_EXTENSIONS = ("toc", "tables", "fenced_code")


@dataclass(frozen=True, slots=True)
class Opaque:
    """A YAML value under a tag the loader does not construct, kept as data.

    ``tag`` is the tag without its name (``python/name``, ``python/object/apply``,
    ``!ENV``); ``name`` the part after the colon (``pymdownx.slugs.slugify``);
    ``value`` the node's content as plain YAML (a scalar, a list, a mapping).
    """

    tag: str
    name: str = ""
    value: Any = None


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, reading every tag it does not know as an ``Opaque`` value."""


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


def _python(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Opaque:
    tag, _, name = suffix.partition(":")
    return Opaque(f"python/{tag}", name, _plain(loader, node))


def _local(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Opaque:
    return Opaque(f"!{suffix}", "", _plain(loader, node))


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", _python)
_Loader.add_multi_constructor("!", _local)


def load_yaml(text: str) -> Any:
    """``text`` as YAML, every unknown tag an ``Opaque``; ``ValueError`` if it is not YAML."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        line = f" on line {error.problem_mark.line + 1}" if error.problem_mark else ""
        raise ValueError(f"not valid YAML{line}: {error.problem or error.context}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise ValueError(f"not valid YAML: {error}") from None


@dataclass(frozen=True, slots=True)
class MkDocsConfig:
    """The parts of ``mkdocs.yml`` that decide how a page renders.

    ``docs_dir`` is relative to the folder of ``mkdocs.yml``; ``nav`` maps a page's
    path under ``docs_dir`` to the title ``nav:`` gives it (only entries that give one);
    ``extensions`` are ``(name, options)`` in the order MkDocs loads them;
    ``use_directory_urls``: a page's URL is a folder (``setup/page/``), as by default.
    """

    docs_dir: str = "docs"
    nav: Mapping[str, str] = field(default_factory=dict)
    extensions: tuple[tuple[str, Mapping[str, Any]], ...] = tuple(
        (name, {}) for name in BUILTIN_EXTENSIONS
    )
    plugins: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    use_directory_urls: bool = True


def parse_config(text: str) -> MkDocsConfig:
    """The ``MkDocsConfig`` of a ``mkdocs.yml``; a part that cannot be read is a problem
    (named in ``problems``) and left at MkDocs' default, never an error."""
    try:
        data = load_yaml(text)
    except ValueError as error:
        return MkDocsConfig(problems=(f"mkdocs.yml is {error}: MkDocs' defaults used",))
    if not isinstance(data, dict):
        return MkDocsConfig(problems=("mkdocs.yml is not a mapping: MkDocs' defaults used",))
    problems: list[str] = []
    docs_dir = data.get("docs_dir", "docs")
    if not isinstance(docs_dir, str) or not docs_dir.strip():
        problems.append(f"docs_dir {docs_dir!r} is not a folder name: 'docs' used")
        docs_dir = "docs"
    return MkDocsConfig(
        docs_dir=posixpath.normpath(docs_dir.strip().strip("/")) or ".",
        nav=nav_titles(data.get("nav")),
        extensions=_extensions(data.get("markdown_extensions"), data.get("mdx_configs"), problems),
        plugins=_names(data.get("plugins")),
        problems=tuple(problems),
        use_directory_urls=data.get("use_directory_urls") is not False,
    )


def nav_titles(nav: Any) -> dict[str, str]:
    """``path -> title`` for every ``Title: path.md`` entry of a ``nav:`` tree."""
    titles: dict[str, str] = {}
    stack = [nav]
    while stack:
        items = stack.pop()
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            continue
        for item in reversed(items):
            if not isinstance(item, dict):
                continue
            for title, value in item.items():
                if isinstance(value, str):
                    path = value.strip().lstrip("/")
                    if "://" not in path:
                        titles.setdefault(posixpath.normpath(path), str(title))
                else:
                    stack.append(value)
    return titles


def _extensions(
    configured: Any, mdx_configs: Any, problems: list[str]
) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    found: dict[str, Mapping[str, Any]] = {name: {} for name in BUILTIN_EXTENSIONS}
    entries: list[Any]
    if configured is None:
        entries = []
    elif isinstance(configured, dict):
        entries = [{name: options} for name, options in configured.items()]
    elif isinstance(configured, list):
        entries = configured
    else:
        problems.append("markdown_extensions is not a list: ignored")
        entries = []
    for entry in entries:
        if isinstance(entry, str):
            found[entry] = found.get(entry, {})
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, options),) = entry.items()
            if options is None:
                options = {}
            if not isinstance(options, dict):
                problems.append(f"markdown extension {name}: options are not a mapping: ignored")
                options = {}
            found[str(name)] = {str(key): value for key, value in options.items()}
        else:
            problems.append(f"markdown_extensions entry {entry!r} is not understood: ignored")
    if isinstance(mdx_configs, dict):  # the old way of giving options
        for name, options in mdx_configs.items():
            if str(name) in found and isinstance(options, dict):
                found[str(name)] = {**found[str(name)], **options}
    return tuple(found.items())


def _names(plugins: Any) -> tuple[str, ...]:
    if isinstance(plugins, dict):
        return tuple(str(name) for name in plugins)
    if isinstance(plugins, list):
        names = []
        for entry in plugins:
            if isinstance(entry, str):
                names.append(entry)
            elif isinstance(entry, dict):
                names.extend(str(name) for name in entry)
        return tuple(names)
    return ()


def docs_dir_of(config_folder: str, config: MkDocsConfig) -> str:
    """The docs folder as a path of the tree, from the folder ``mkdocs.yml`` is in."""
    return posixpath.normpath(posixpath.join(config_folder or ".", config.docs_dir))

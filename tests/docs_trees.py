"""The two real documentation trees of ``../shared/corpus/docs/``, for the flavour tests.

Where they are, and the title each generator would show for a page, written from the
generators' own rules (not from syncer's code, so the two do not share a mistake):

- MkDocs (``mkdocs/structure/pages.py``, ``Page._set_title``): the ``nav:`` title, else
  front matter ``title``, else the page's H1 when the page opens with one, else the
  file name (``index.md``: its folder's name; the home page: "Home").
- Docusaurus (``docusaurus-plugin-content-docs``): front matter ``title``, else the
  page's first ``#`` heading, else its id (the file name).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "docs"
MKDOCS = CORPUS / "mkdocs-material"
REDUX = CORPUS / "redux"

_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_ATTRS = re.compile(r"\s*\{[^{}]*\}\s*$")
_INLINE = re.compile(r"[`*_]|<[^>]+>")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\[[^\]]*\]")


def tree(root: Path) -> Path:
    if not root.is_dir():
        pytest.skip(f"the shared docs corpus is not at {root}")
    return root


def copy_tree(root: Path, to: Path) -> Path:
    """A copy of a corpus tree (for a git repository made of it)."""
    shutil.copytree(tree(root), to, dirs_exist_ok=True)
    return to


class _AnyTag(yaml.SafeLoader):
    """A YAML loader that reads every tag it does not know as ``None``."""


_AnyTag.add_multi_constructor("", lambda loader, suffix, node: None)
_AnyTag.add_multi_constructor("!", lambda loader, suffix, node: None)
_AnyTag.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def split_front(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    data = yaml.safe_load(text[4:end]) or {}
    return (data if isinstance(data, dict) else {}), text[end + 4 :].split("\n", 1)[-1]


def _heading_text(raw: str) -> str:
    text = _ATTRS.sub("", raw)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2) or "", text)
    return " ".join(_INLINE.sub("", text).split())


def nav_titles(mkdocs_yml: Path) -> dict[str, str]:
    """``path under docs_dir`` -> the title ``nav:`` gives it (entries with a title only)."""
    config = yaml.load(mkdocs_yml.read_text(), Loader=_AnyTag)  # noqa: S506 (a SafeLoader)
    titles: dict[str, str] = {}

    def walk(items: Any) -> None:
        for item in items or ():
            if isinstance(item, dict):
                for title, value in item.items():
                    if isinstance(value, str):
                        titles[value] = str(title)
                    else:
                        walk(value)

    walk(config.get("nav"))
    return titles


def mkdocs_title(docs: Path, rel: str, nav: dict[str, str]) -> str:
    """The title MkDocs gives the page at ``rel`` (relative to ``docs``)."""
    if rel in nav:
        return nav[rel]
    front, body = split_front((docs / rel).read_text(encoding="utf-8"))
    if front.get("title"):
        return str(front["title"])
    first = next((line for line in body.split("\n") if line.strip()), "")
    match = _H1.match(first)
    if match:
        return _heading_text(match.group(1))
    path = PurePosixPath(rel)
    if rel == "index.md":
        return "Home"
    stem = path.parent.name if path.stem in ("index", "README") and path.parent.name else path.stem
    words = stem.replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def docusaurus_title(docs: Path, rel: str) -> str:
    """The title Docusaurus gives the doc at ``rel`` (relative to the docs folder)."""
    front, body = split_front((docs / rel).read_text(encoding="utf-8"))
    if front.get("title"):
        return str(front["title"])
    in_code = False
    for line in body.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        match = None if in_code else _H1.match(line)
        if match:
            return _heading_text(match.group(1))
    return str(front.get("id") or PurePosixPath(rel).stem)


def markdown_files(root: Path, suffixes: tuple[str, ...] = (".md",)) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.suffix in suffixes and path.is_file():
            yield path

"""Old normaliser against new: the same inputs through two checkouts, output compared byte
for byte.

    git archive <old rev> | tar -x -C /tmp/old
    .venv/bin/python bench/normaliser_parity.py /tmp/old .   [--fuzz 20000] [--show 5]

Each side runs in a process of its own with ``PYTHONPATH`` at that checkout, and writes
what it made of every input; the two are then compared. The inputs:

- ``mkdocs-material`` and ``redux`` (``../shared/corpus/docs/``): every page through a
  filesystem source, once per flavour (``commonmark``, ``gfm``, the tree's own
  generator): title, HTML and notes of each document, or its failure;
- ``confluence`` (``../shared/corpus/confluence/``): every page through the Confluence
  converter (HTML and notes);
- ``fixtures``: every string constant of the repository's ``tests/*.py`` and the files
  of ``examples/``, through ``normalise`` (with and without a base URL),
  ``main_content``, ``first_heading``, ``page_title`` and ``convert_file`` (as ``.md``
  and as ``.html``);
- ``fuzz``: ``--fuzz`` random HTML fragments from a fixed seed (void elements that
  libxml2 takes for containers, ``<head>`` content before the body, callouts in other
  tools' markup, anchors, comments, entities, control characters, unclosed and stray
  tags), through the same functions.

Exit 0 when every output is identical, 1 otherwise (each difference shown with its
first differing line).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "corpus"
TREES = {
    "mkdocs-material": ("mkdocs", ["docs/**/*.md"], []),
    "redux": ("docusaurus", ["docs/**/*.md", "docs/**/*.mdx"], ["**/_*"]),
}
BASE_URL = "https://docs.example.com/guide/page"


# ---- inputs (made once, by the comparing process) ------------------------------------


def fixture_strings() -> list[str]:
    """Every string constant of ``tests/*.py`` (f-strings aside) and every example file."""
    found: dict[str, None] = {}
    for path in sorted((REPO / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
                found.setdefault(node.value, None)
    for path in sorted((REPO / "examples").rglob("*")):
        if path.is_file():
            found.setdefault(path.read_text(encoding="utf-8", errors="replace"), None)
    return list(found)


_TAGS = [
    *("p", "div", "span", "a", "img", "b", "i", "em", "strong", "code", "pre", "ul", "li"),
    *("ol", "table", "tr", "td", "th", "thead", "h1", "h2", "h3", "blockquote", "br", "hr"),
    *("aside", "details", "summary", "section", "article", "main", "nav", "header"),
    *("footer", "embed", "source", "track", "keygen", "bgsound", "wbr", "input", "meta"),
    *("link", "title", "style", "script", "noscript", "template", "iframe", "svg", "form"),
    *("head", "body", "html", "ruby", "rt", "rp", "font", "center", "tt", "x-custom"),
    *("textarea", "xmp", "dl", "dt", "dd", "sup", "abbr", "caption", "figure", "frame"),
]
_CLASSES = [
    *("admonition note", "admonition", "admonition warning inline", "admonition-title"),
    *("theme-admonition theme-admonition-tip", "alert alert-danger", "alert--info"),
    *("markdown-alert markdown-alert-tip", "markdown-alert-title", "callout callout-note"),
    *("callout-title", "tabs", "tab", "tab-label", "language-python", "warning", "title"),
    *("confluence-information-macro confluence-information-macro-note", "note", "x y"),
    *("admonitionHeading_abc", "seealso", "alert-heading"),
]
_ATTRIBUTES = [
    *("id", "name", "href", "src", "alt", "title", "role", "hidden", "aria-hidden"),
    *("colspan", "rowspan", "start", "lang", "style", "onclick"),
]
_VALUES = [
    *("x", "#x", "#fn:1", "main", "note", "navigation", "true", "2", "en-GB", "page.md"),
    *("../up.md", "https://example.com/a b", "javascript:alert(1)", "//cdn.example.com/i"),
    *("img.png", " spaced ", "a\tb", "", "é", "a\"b'c", "1" * 5, "data:x"),
]
_TEXTS = [
    *("word", "two words", " ", "\n", "  lead", "trail  ", "\t\n", "&amp;", "&nbsp;", "<"),
    *("&lt;b&gt;", "a\x0cb", "\x01", "é", "&#0;", "&bogus;", "]]>", "\u00a0"),
]
_SPECIALS = ["<!-- c -->", "<!DOCTYPE html>", "<![CDATA[x<y]]>", "<?php x ?>", "</p>", "</div>"]


def fuzz_inputs(count: int, seed: int = 13) -> list[str]:
    rng = random.Random(seed)

    def attributes() -> str:
        out = []
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            if rng.random() < 0.3:
                out.append(f' class="{rng.choice(_CLASSES)}"')
            else:
                name, value = rng.choice(_ATTRIBUTES), rng.choice(_VALUES)
                out.append(f" {name}" if rng.random() < 0.1 else f' {name}="{value}"')
        return "".join(out)

    def fragment(depth: int) -> str:
        parts = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.35:
                parts.append(rng.choice(_TEXTS))
            elif roll < 0.45:
                parts.append(rng.choice(_SPECIALS))
            else:
                tag = rng.choice(_TAGS)
                inner = fragment(depth + 1) if depth < 5 else rng.choice(_TEXTS)
                close = f"</{tag}>" if rng.random() < 0.8 else ""
                parts.append(f"<{tag}{attributes()}>{inner}{close}")
        return "".join(parts)

    return [fragment(0) for _ in range(count)]


# ---- one side (run with PYTHONPATH at its checkout) -----------------------------------


def _call(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except Exception as error:  # a raise is an output to compare too
        return f"raised {type(error).__name__}: {error}"


def _functions(text: str) -> dict[str, Any]:
    from syncer.convert.html import first_heading, main_content, normalise, page_title
    from syncer.convert.source_file import Page, convert_file

    def convert(path: str) -> Any:
        page = convert_file(
            path, text.encode("utf-8", "surrogatepass"), url_of=lambda p: f"{BASE_URL}/{p}"
        )
        return [page.title, page.html, list(page.notes)] if isinstance(page, Page) else str(page)

    return {
        "normalise": _call(lambda: normalise(text, base_url=BASE_URL)),
        "normalise-no-base": _call(lambda: normalise(text, base_url=None)),
        "main_content": _call(lambda: main_content(text)),
        "first_heading": _call(lambda: first_heading(text)),
        "page_title": _call(lambda: page_title(text)),
        "convert .md": _call(lambda: convert("doc.md")),
        "convert .html": _call(lambda: convert("doc.html")),
    }


def _trees() -> dict[str, Any]:
    from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
    from syncer.model import Document

    out: dict[str, Any] = {}
    for name, (own, include, exclude) in TREES.items():
        root = SHARED / "docs" / name
        for flavour in ("commonmark", "gfm", own):
            source = FilesystemSettings.model_validate(
                {
                    "name": "parity",
                    "type": "filesystem",
                    "path": str(root),
                    "include": include,
                    "exclude": exclude,
                    "markdown": flavour,
                    "page_url": "https://docs.example.com/{path_stem}",
                }
            )
            connector = FilesystemConnector(source)
            for fetched in connector.fetch(connector.list().stubs):
                if isinstance(fetched, Document):
                    value: Any = [fetched.title, fetched.html, fetched.url, fetched.external_id]
                else:
                    value = repr(fetched)
                out[f"{name}/{flavour}/{fetched.key}"] = value
            # What conversion had to change (links to nothing...), by page, counted.
            out[f"{name}/{flavour}/(notes)"] = dict(sorted(connector.notes().items()))
    return out


def _confluence() -> dict[str, Any]:
    from syncer.connectors.confluence.convert import PageRef, convert_page
    from syncer.connectors.confluence.resolve import SiteResolver
    from syncer.connectors.confluence.site import Site

    site = Site("https://acme.atlassian.net/wiki")
    page = PageRef("1001", "DOC", "This page", site.document_url("1001", "DOC", "This page"))
    out: dict[str, Any] = {}
    for path in sorted((SHARED / "confluence").glob("[0-9][0-9][0-9]-*.xml")):
        storage = path.read_text(encoding="utf-8")
        done = _call(lambda storage=storage: convert_page(storage, page, SiteResolver(site)))
        out[path.name] = done if isinstance(done, str) else [done.html, dict(done.notes)]
    return out


def dump(inputs: Path, output: Path) -> None:
    # bs4 (the old side) warns when an input looks like a file name or a URL.
    warnings.filterwarnings("ignore")
    given = json.loads(inputs.read_text(encoding="utf-8"))
    result = {
        "mkdocs-material+redux": _trees(),
        "confluence": _confluence(),
        "fixtures": {str(n): _functions(text) for n, text in enumerate(given["fixtures"])},
        "fuzz": {str(n): _functions(text) for n, text in enumerate(given["fuzz"])},
    }
    output.write_text(json.dumps(result), encoding="utf-8")


# ---- comparing ------------------------------------------------------------------------


def _first_difference(old: Any, new: Any) -> str:
    old_lines = json.dumps(old, indent=0, ensure_ascii=False).split("\n")
    new_lines = json.dumps(new, indent=0, ensure_ascii=False).split("\n")
    for index, (a, b) in enumerate(zip(old_lines, new_lines, strict=False)):
        if a != b:
            return f"line {index}: old {a[:160]!r}\n{' ' * 12}new {b[:160]!r}"
    return f"old {len(old_lines)} lines, new {len(new_lines)} lines"


def run_side(checkout: Path, inputs: Path, output: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
    command = [sys.executable, str(Path(__file__).resolve()), "--dump", str(inputs), str(output)]
    subprocess.run(command, env=env, check=True, cwd=checkout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path, nargs="?")
    parser.add_argument("new", type=Path, nargs="?")
    parser.add_argument("--fuzz", type=int, default=20_000)
    parser.add_argument("--show", type=int, default=5, help="differences shown per corpus")
    parser.add_argument("--dump", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(*args.dump)
        return 0
    if args.old is None or args.new is None:
        parser.error("give the old and the new checkout")
    with tempfile.TemporaryDirectory(prefix="parity-") as work:
        inputs = Path(work) / "inputs.json"
        fixtures = fixture_strings()
        inputs.write_text(
            json.dumps({"fixtures": fixtures, "fuzz": fuzz_inputs(args.fuzz)}), encoding="utf-8"
        )
        sides = {}
        for name, checkout in (("old", args.old), ("new", args.new)):
            output = Path(work) / f"{name}.json"
            run_side(checkout, inputs, output)
            sides[name] = json.loads(output.read_text(encoding="utf-8"))
    same = True
    print(f"{'corpus':<22} {'inputs':>7} {'outputs':>8} {'identical':>9} {'differ':>7}")
    for corpus, old_outputs in sides["old"].items():
        new_outputs = sides["new"][corpus]
        if not old_outputs:  # a corpus that is not there would compare as identical
            raise SystemExit(f"nothing read for {corpus}: is {SHARED} there?")
        keys = sorted(set(old_outputs) | set(new_outputs))
        differing = [key for key in keys if old_outputs.get(key) != new_outputs.get(key)]
        outputs = sum(len(v) if corpus in ("fixtures", "fuzz") else 1 for v in old_outputs.values())
        print(
            f"{corpus:<22} {len(keys):>7} {outputs:>8} {len(keys) - len(differing):>9} "
            f"{len(differing):>7}"
        )
        for key in differing[: args.show]:
            print(f"  {key}: {_first_difference(old_outputs.get(key), new_outputs.get(key))}")
        same = same and not differing
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

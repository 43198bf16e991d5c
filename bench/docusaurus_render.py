"""Redux's Docusaurus docs through the Docusaurus flavour, beside the GFM renderer it
replaces: what Fin gets (admonitions, tabs, images, links, heading ids) and docs/second.

    .venv/bin/python bench/docusaurus_render.py [TREE] [--before REV]

TREE defaults to ../shared/corpus/docs/redux. "before" is ``render_markdown`` as commit
REV has it (default ``HEAD``; CommonMark with GitHub's tables and alerts, the Markdown
path before the flavours; it is given the ``.mdx`` files too, which that pipeline sent
as plain text) with that pipeline's link rule (a relative path to a file of the tree);
"after" is ``render_docusaurus``. A link counts as resolved
when it names a document of the site (its anchor aside), an anchor as resolved when the
target's rendering has that id.
"""

from __future__ import annotations

import argparse
import posixpath
import re
import subprocess
import time
import types
from collections.abc import Callable, Iterable
from pathlib import Path

from bs4 import BeautifulSoup

from syncer.convert.docusaurus import docusaurus_site, render_docusaurus
from syncer.convert.markdown import split_front_matter

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "docs" / "redux"
_EXTERNAL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:|//")
_FENCE = re.compile(r"^\s*(```+|~~~+)")


class Folder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        return target.read_bytes() if target.is_file() else None

    def paths(self) -> Iterable[str]:
        return [p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()]


def outside_fences(text: str) -> str:
    kept, fence = [], None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match and (fence is None or match.group(1)[0] == fence[0]):
            fence = None if fence else match.group(1)
            continue
        if fence is None:
            kept.append(line)
    return "\n".join(kept)


def figures(pages: dict[str, str], docs: set[str], sources: dict[str, str]) -> dict[str, int]:
    soups = {path: BeautifulSoup(html, "html.parser") for path, html in pages.items()}
    ids = {path: {str(t["id"]) for t in soup.find_all(id=True)} for path, soup in soups.items()}
    found = dict.fromkeys(
        (
            "admonitions",
            "tabs",
            "useBaseUrl images resolved",
            "links resolved",
            "links unresolved",
            "anchors resolved",
            "anchors unresolved",
            "headings with ids",
            "headings",
        ),
        0,
    )
    for path, soup in soups.items():
        found["admonitions"] += len(soup.select("blockquote.callout"))
        found["tabs"] += len(soup.select("div.tabs"))
        headings = soup.find_all(re.compile(r"^h[1-6]$"))
        found["headings"] += len(headings)
        found["headings with ids"] += sum(1 for h in headings if h.get("id"))
        for img in soup.find_all("img", src=True):
            src = str(img["src"])
            if "static/" in src and not _EXTERNAL.match(src) and "useBaseUrl" in sources[path]:
                found["useBaseUrl images resolved"] += 1
        for a in soup.find_all("a", href=True):
            href = str(a["href"])
            if _EXTERNAL.match(href) or href.startswith("#fn"):
                continue
            link, _, fragment = href.partition("#")
            target = (
                path
                if not link
                else (
                    None
                    if link.startswith("/")
                    else posixpath.normpath(posixpath.join(posixpath.dirname(path), link))
                )
            )
            if target is None or target not in docs:
                found["links unresolved"] += 1
                continue
            found["links resolved"] += 1
            if fragment:
                key = (
                    "anchors resolved" if fragment in ids.get(target, ()) else "anchors unresolved"
                )
                found[key] += 1
    return found


def markdown_renderer_at(rev: str) -> Callable[[str], str]:
    """``render_markdown`` as commit ``rev`` of this repository has it."""
    repo = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{rev}:syncer/convert/markdown.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
    ).stdout
    module = types.ModuleType(f"markdown_at_{rev}")
    exec(compile(source, f"{rev}:syncer/convert/markdown.py", "exec"), module.__dict__)  # noqa: S102 (this repository's own code, at a commit)
    render: Callable[[str], str] = module.render_markdown
    return render


def main(root: Path, before_rev: str) -> None:
    render_markdown = markdown_renderer_at(before_rev)
    files = Folder(root)
    started = time.perf_counter()
    site = docusaurus_site(files)
    site_seconds = time.perf_counter() - started
    sources = {path: (root / path).read_text() for path in site.pages}
    docs = set(site.pages)

    started = time.perf_counter()
    before = {path: render_markdown(split_front_matter(text)[1]) for path, text in sources.items()}
    before_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rendered = {path: render_docusaurus(path, text, site) for path, text in sources.items()}
    after_seconds = time.perf_counter() - started
    after = {path: page.html for path, page in rendered.items()}

    in_source = {
        "admonitions": sum(
            len(re.findall(r"^\s*:::[a-z]+", outside_fences(t), re.MULTILINE))
            for t in sources.values()
        ),
        "tabs": sum(len(re.findall(r"<Tabs\b", outside_fences(t))) for t in sources.values()),
        "useBaseUrl images": sum(t.count("useBaseUrl(") for t in sources.values()),
    }
    print(f"tree: {root} ({len(docs)} docs; site read in {site_seconds * 1000:.0f} ms)")
    print(f"before: render_markdown at {before_rev}")
    print(f"in the sources: {in_source}")
    b, a = figures(before, docs, sources), figures(after, docs, sources)
    width = max(len(key) for key in a)
    print(f"{'':{width}}  {'before':>8}  {'after':>8}")
    for key in a:
        print(f"{key:{width}}  {b[key]:>8}  {a[key]:>8}")
    notes = [note for page in rendered.values() for note in page.notes]
    kinds: dict[str, int] = {}
    for note in notes:
        kind = re.sub(r" .*", "", note.split(":")[0]) if not note.startswith("dropped") else note
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"notes: {len(notes)} {dict(sorted(kinds.items()))}")
    print(
        f"speed: GFM {len(docs) / before_seconds:.0f} docs/s, "
        f"Docusaurus {len(docs) / after_seconds:.0f} docs/s "
        f"({len(docs) / (after_seconds + site_seconds):.0f} with the site read)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument(
        "--before", default="HEAD", help="the commit whose render_markdown is 'before'"
    )
    arguments = parser.parse_args()
    main(arguments.tree, arguments.before)

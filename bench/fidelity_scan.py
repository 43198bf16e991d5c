"""The fidelity scan of what Fin would receive from the two real docs trees, before -> after.

    .venv/bin/python bench/fidelity_scan.py [--against CHECKOUT] [--corpus DIR]

For each tree of ``../shared/corpus/docs/`` (MkDocs Material's docs, Redux's Docusaurus
docs), a filesystem source over the tree is listed and every page fetched, in a child
process run with ``PYTHONPATH`` and ``cwd`` at a checkout, through that checkout's own
``FilesystemConnector`` (with ``markdown:`` set to the tree's flavour; a checkout whose
settings reject the key is run without it). The child prints one JSON line per page
(``--emit TREE``). Every set of pages is then scanned here, by this checkout's
``tests/fidelity.py`` (``scan_tree``, titles by ``tests/docs_trees.py``), so both sides
are measured by the same scanner. The table: per tree and kind of problem, the count in
the ``--against`` checkout and in this one; also pages sent, left out and failed, and the
callouts and tab sets found. Links to a page the source left out are counted apart, as
the docs-tree tests do.

    git -C /work/main archive ef5b991^ | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    .venv/bin/python bench/fidelity_scan.py --against /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
CORPUS = HERE.parent / "shared" / "corpus" / "docs"
SITE = "https://docs.example.com/"
TREES = {
    "mkdocs-material": ("mkdocs", ["docs/**/*.md"], []),
    "redux": ("docusaurus", ["docs/**/*.md", "docs/**/*.mdx"], ["**/_*"]),
}


# ---- the child: runs against whichever syncer PYTHONPATH gives it ------------------------


def emit(name: str, corpus: Path) -> int:
    """List and fetch the tree ``name`` through the importable syncer; print JSON lines."""
    from pydantic import ValidationError

    import syncer
    import syncer.convert
    from syncer.model import Document, Excluded

    try:
        from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
    except ImportError:  # before the connectors lived in syncer's namespace
        from connectors.filesystem import (
            FilesystemConnector,
            FilesystemSettings,
        )
    flavour, include, exclude = TREES[name]
    data: dict[str, Any] = {
        "name": "bench",
        "type": "filesystem",
        "path": str(corpus / name),
        "include": include,
        "exclude": exclude,
        "markdown": flavour,
        "page_url": f"{SITE}{{path_stem}}",
    }
    rejected = None
    try:
        settings = FilesystemSettings.model_validate(data)
    except ValidationError as error:
        if not any(e["loc"][:1] == ("markdown",) for e in error.errors()):
            raise
        rejected = error.errors()[0]["msg"]
        del data["markdown"]
        settings = FilesystemSettings.model_validate(data)
    meta = {
        "syncer": syncer.__file__,
        "converter_version": getattr(syncer.convert, "CONVERTER_VERSION", None),
        "markdown": data.get("markdown"),
        "rejected": rejected,
    }
    print(json.dumps({"meta": meta}))
    connector = FilesystemConnector(settings)
    for item in connector.fetch(connector.list().stubs):
        if isinstance(item, Document):
            line = {"path": item.key, "title": item.title, "html": item.html, "url": item.url}
        elif isinstance(item, Excluded):
            line = {"path": item.key, "left_out": item.reason}
        else:
            line = {"path": item.key, "failed": getattr(item, "message", repr(item))}
        print(json.dumps(line))
    return 0


# ---- the parent: one child per checkout and tree, one scanner for all ---------------------


class Side:
    """What one checkout sent for one tree, or why it could not say."""

    def __init__(self, checkout: Path, name: str, corpus: Path) -> None:
        started = time.perf_counter()
        child = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--emit",
                name,
                "--corpus",
                str(corpus),
            ],
            cwd=checkout,
            env={**os.environ, "PYTHONPATH": str(checkout)},
            capture_output=True,
            text=True,
            check=False,
        )
        self.seconds = time.perf_counter() - started
        lines = [json.loads(line) for line in child.stdout.splitlines() if line.startswith("{")]
        self.meta: dict[str, Any] = lines[0]["meta"] if lines and "meta" in lines[0] else {}
        self.rows = lines[1:]
        self.error: str | None = None
        if child.returncode != 0 or not self.meta:
            tail = (child.stderr.strip().splitlines() or ["no output"])[-1]
            self.error = f"exit {child.returncode}: {tail}"
        elif not str(self.meta["syncer"]).startswith(str(checkout.resolve())):
            self.error = f"imported syncer from {self.meta['syncer']}, not from the checkout"


def title_rule(name: str, root: Path) -> Callable[[str], str]:
    from tests import docs_trees

    docs = root / "docs"
    if name == "mkdocs-material":
        nav = docs_trees.nav_titles(root / "mkdocs.yml")
        return lambda path: docs_trees.mkdocs_title(docs, path.removeprefix("docs/"), nav)
    return lambda path: docs_trees.docusaurus_title(docs, path.removeprefix("docs/"))


def counts(side: Side, name: str, root: Path) -> dict[str, int]:
    """The scan of one side's pages, by kind, with what was sent and found."""
    from tests import fidelity

    pages = [
        fidelity.Sent(r["path"], r["title"], r["html"], r["url"]) for r in side.rows if "html" in r
    ]
    unsent = {r["path"] for r in side.rows if "html" not in r}
    scan = fidelity.scan_tree(
        pages,
        lambda path: (root / path).read_text(encoding="utf-8"),
        site=SITE,
        title_of=title_rule(name, root),
    )
    urls = tuple(f"{SITE}{path.rsplit('.', 1)[0]}" for path in unsent)
    apart = [
        line
        for line in scan.found["links"]
        if any(f"link to {url}{end}" in line for url in urls for end in (" ", "#"))
    ]
    scan.found["links"] = [line for line in scan.found["links"] if line not in apart]
    scan.found["links to pages not sent"] = apart
    return {
        "pages sent": len(pages),
        "pages left out": sum("left_out" in r for r in side.rows),
        "pages failed": sum("failed" in r for r in side.rows),
        **scan.counts(),
        "problems (bar links to unsent)": sum(
            n for kind, n in scan.counts().items() if kind != "links to pages not sent"
        ),
        "callouts found": sum(len(fidelity.callouts(p.html)) for p in pages),
        "tab sets found": sum(len(fidelity.tab_sets(p.html)) for p in pages),
    }


def commit_of(checkout: Path) -> str:
    """``git rev-parse HEAD`` of a checkout that is a git tree's top, else the folder."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    if Path(git("rev-parse", "--show-toplevel") or "/nonexistent").resolve() != checkout:
        return f"{checkout} (not a git tree: a folder)"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{checkout} at {git('rev-parse', 'HEAD')}" + (" (+ uncommitted)" if dirty else "")


def describe(side: Side) -> str:
    if side.error:
        return f"no output: {side.error}"
    flavour = side.meta["markdown"] or f"none (markdown: rejected: {side.meta['rejected']})"
    return f"markdown {flavour}, converter {side.meta['converter_version']}, {side.seconds:.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--against", type=Path, help="the other checkout (before)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--emit", choices=sorted(TREES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.emit:
        return emit(args.emit, args.corpus.resolve())
    sys.path.insert(0, str(HERE))  # this checkout's tests/: the one scanner for both sides
    corpus = args.corpus.resolve()
    checkouts = {"this": HERE}
    if args.against is not None:
        checkouts = {"other": args.against.resolve(), **checkouts}
    print("$ " + shlex.join([Path(sys.executable).name, *sys.argv]))
    for label, checkout in checkouts.items():
        print(f"{label}: {commit_of(checkout)}")
    print(f"corpus: {corpus}; scanner: {HERE / 'tests' / 'fidelity.py'}")
    print(f"{'tree':<16}  {'scan':<28}  " + "  ".join(f"{label:>8}" for label in checkouts))
    for name in TREES:
        root = corpus / name
        if not root.is_dir():
            print(f"{name}: not at {root}; skipped")
            continue
        sides = {label: Side(checkout, name, corpus) for label, checkout in checkouts.items()}
        found = {k: counts(s, name, root) for k, s in sides.items() if s.error is None}
        kinds = list(dict.fromkeys(kind for c in found.values() for kind in c))
        for kind in kinds:
            cells = [str(found[k].get(kind, "-")) if k in found else "n/a" for k in sides]
            print(f"{name:<16}  {kind:<28}  " + "  ".join(f"{c:>8}" for c in cells))
        for label, side in sides.items():
            print(f"{'':<16}  {label}: {describe(side)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

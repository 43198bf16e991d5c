"""Pages per second of each Markdown flavour on the two real docs trees, and a no-op re-sync.

    .venv/bin/python bench/flavours.py [--rounds 3]

For each tree of ``../shared/corpus/docs/`` (MkDocs Material's docs, Redux's Docusaurus
docs), a filesystem source over the tree is listed and every page fetched and converted
(read, render, normalise), once per flavour: ``commonmark`` and ``gfm`` (markdown-it-py,
the path every source had before), and the tree's own generator (``mkdocs``: Python-Markdown
with pymdown-extensions; ``docusaurus``: markdown-it-py with MDX). The best of
``--rounds`` is shown. Then a no-op re-sync: the store holds what the first pass saw, the
source is listed again and planned; the files it opens are counted by Python's audit
hook (``open`` events), so "reads no file" is measured, not assumed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
from syncer.model import Document, Excluded, Record
from syncer.plan import to_fetch

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "docs"
TREES = {
    "mkdocs-material": ("mkdocs", ["docs/**/*.md"], []),
    "redux": ("docusaurus", ["docs/**/*.md", "docs/**/*.mdx"], ["**/_*"]),
}
OPENED: list[str] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and OPENED is not None:
        OPENED.append(str(args[0]))


def settings(
    root: Path, flavour: str, include: list[str], exclude: list[str]
) -> FilesystemSettings:
    return FilesystemSettings.model_validate(
        {
            "name": "bench",
            "type": "filesystem",
            "path": str(root),
            "include": include,
            "exclude": exclude,
            "markdown": flavour,
            "page_url": "https://docs.example.com/{path_stem}",
        }
    )


def one_pass(source: FilesystemSettings) -> tuple[float, list[Document | Excluded]]:
    """The seconds of one list-and-fetch, and what it gave: pages, and pages left out
    (a redirect page has nothing to send), which the store remembers as well."""
    started = time.perf_counter()
    connector = FilesystemConnector(source)
    fetched = connector.fetch(connector.list().stubs)
    documents = [d for d in fetched if isinstance(d, Document | Excluded)]
    return time.perf_counter() - started, documents


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.addaudithook(_audit)
    print(f"{'tree':<16} {'flavour':<11} {'pages':>5} {'best s':>7} {'pages/s':>8}")
    for name, (own, include, exclude) in TREES.items():
        root = CORPUS / name
        if not root.is_dir():
            print(f"{name}: not at {root}; skipped")
            continue
        documents: list[Document | Excluded] = []
        for flavour in ("commonmark", "gfm", own):
            source = settings(root, flavour, include, exclude)
            best = min(one_pass(source)[0] for _ in range(args.rounds))
            _, documents = one_pass(source)
            pages = sum(isinstance(d, Document) for d in documents)
            print(f"{name:<16} {flavour:<11} {pages:>5} {best:>7.2f} {pages / best:>8.0f}")
        # The no-op: every page known at the version it was read at, as the store holds
        # it (a page left out without a hash or a page id).
        source = settings(root, own, include, exclude)
        records = {
            d.key: Record(d.key, d.external_id, d.version, "hash", str(n))
            if isinstance(d, Document)
            else Record(d.key, d.key, d.version, None, None)
            for n, d in enumerate(documents)
        }
        OPENED.clear()
        started = time.perf_counter()
        connector = FilesystemConnector(source)
        wanted = to_fetch(records, connector.list())
        fetched = list(connector.fetch(wanted))
        seconds = time.perf_counter() - started
        opened = [path for path in OPENED if not path.endswith(".syncignore")]
        # A page that failed has no record, so every run tries it again.
        retried = ", ".join(f.key for f in fetched if not isinstance(f, Document))
        print(
            f"{name:<16} {'no-op':<11} {len(records):>5} {seconds:>7.3f}  "
            f"fetched {len(fetched)} ({retried or 'none'}), files opened {len(opened)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

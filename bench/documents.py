"""Pages per second of each document format on a folder of 200 generated documents, and
a no-op re-sync that reads none of them.

    .venv/bin/python bench/documents.py [--documents 200] [--rounds 3]

The folder holds PDFs (reportlab, 8 pages each), Word documents (python-docx, 8 sections)
and PowerPoint decks (python-pptx, 8 slides), each with headings, lists, tables and
links (``tests/documents.py``), a third of each. For each format, a filesystem source of
those files alone is listed and every file fetched: read, format detected from the bytes,
converted (pypdfium2, mammoth, python-pptx) and normalised. The best of ``--rounds`` is
shown, as documents and pages (PDF pages, slides; a DOCX has no pages, so its figure is
per document) per second, with the CPU seconds of that round (on a shared machine the
wall clock also counts other processes' turns). Beside it, the reference: the library
alone on the same files (``reference``: pypdfium2 reading each page's text, mammoth
converting the untouched DOCX, python-pptx reading every shape's text), so what syncer
adds (layout, lists, tables, links, the normaliser) or saves (mammoth on the styles the
text uses) shows. Then a real sync fills a SQLite store, and a second sync over the
unchanged folder runs with Python's audit hook counting the files it opens (``open``
events): "reads none of them" is measured, not assumed; a third, after one file's
mtime moved, must open exactly that one, so the hook is seen to count.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from dry_run import NullPublisher

from syncer.config import loader
from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
from syncer.model import Document
from syncer.run import Options, sync
from syncer.store import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.documents import docx_bytes, pdf_bytes, pptx_bytes  # noqa: E402

PAGES = 8
OPENED: list[str] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open":
        OPENED.append(str(args[0]))


def make_folder(root: Path, count: int) -> dict[str, int]:
    """``count`` documents under ``root``, a third of each format; pages by format."""
    pages = {"pdf": 0, "docx": 0, "pptx": 0}
    for n in range(count):
        kind = ("pdf", "docx", "pptx")[n % 3]
        title = f"Widget manual {n:03d}"
        if kind == "pdf":
            data = pdf_bytes(title, sections=PAGES)
        elif kind == "docx":
            data = docx_bytes(title, sections=PAGES)
        else:
            data = pptx_bytes(title, slides=PAGES)
        folder = root / f"team-{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc-{n:03d}.{kind}").write_bytes(data)
        pages[kind] += PAGES
    return pages


def settings(root: Path, include: list[str]) -> FilesystemSettings:
    return FilesystemSettings.model_validate(
        {
            "name": "bench",
            "type": "filesystem",
            "path": str(root),
            "include": include,
            "page_url": "https://files.example.com/{path}",
        }
    )


def one_pass(source: FilesystemSettings) -> tuple[float, float, int]:
    """Wall and CPU seconds to list and fetch every file of ``source``; documents made."""
    started, cpu = time.perf_counter(), time.process_time()
    connector = FilesystemConnector(source)
    fetched = list(connector.fetch(connector.list().stubs))
    documents = sum(1 for d in fetched if isinstance(d, Document))
    return time.perf_counter() - started, time.process_time() - cpu, documents


def reference(kind: str, data: bytes) -> int:
    """The library alone on one file, as a plain text extraction would use it; pages."""
    if kind == "pdf":
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        try:
            for page in document:
                page.get_textpage().get_text_range()
            return len(document)
        finally:
            document.close()
    if kind == "docx":
        import mammoth

        mammoth.convert_to_html(io.BytesIO(data))
        return 0
    from pptx import Presentation

    deck = Presentation(io.BytesIO(data))
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                _ = shape.text_frame.text
    return len(deck.slides)


def reference_pass(files: list[Path], kind: str) -> tuple[float, float, int]:
    """Wall and CPU seconds of ``reference`` over ``files`` (read from disk); documents."""
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        reference(kind, path.read_bytes())
    return time.perf_counter() - started, time.process_time() - cpu, len(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncer-documents-") as scratch:
        work = Path(scratch)
        root = work / "share"
        started = time.perf_counter()
        pages = make_folder(root, args.documents)
        print(f"{args.documents} documents generated in {time.perf_counter() - started:.1f} s")
        print(
            f"{'format':<7} {'run':<10} {'docs':>5} {'pages':>6} {'best s':>7} {'cpu s':>6} "
            f"{'docs/s':>7} {'pages/s':>8}"
        )
        for kind in ("pdf", "docx", "pptx"):
            source = settings(root, [f"**/*.{kind}"])
            files = sorted(root.rglob(f"*.{kind}"))
            for label, measure in (
                ("syncer", partial(one_pass, source)),
                ("reference", partial(reference_pass, files, kind)),
            ):
                wall, cpu, documents = min(measure() for _ in range(args.rounds))
                paged = kind != "docx"
                print(
                    f"{kind:<7} {label:<10} {documents:>5} "
                    f"{pages[kind] if paged else '-':>6} {wall:>7.2f} {cpu:>6.2f} "
                    f"{documents / wall:>7.1f} "
                    f"{f'{pages[kind] / wall:.0f}' if paged else '-':>8}"
                )
        config = work / "syncer.yaml"
        config.write_text(
            f"store:\n  url: sqlite:///{work / 'store.db'}\nsources:\n  - name: share\n"
            f"    type: filesystem\n    path: {root}\n"
            "    page_url: https://files.example.com/{path}\n"
        )
        loaded = loader.load(config)
        store = Store.open(loaded.store.url, migrate=True)
        publisher = NullPublisher()
        cache = work / ".syncer-cache"
        started = time.perf_counter()
        first = sync(loaded, store, publisher, Options(), cache_dir=cache, clock=_now)
        print(
            f"first sync: {first[0].counts.created} pages created in "
            f"{time.perf_counter() - started:.2f} s"
        )
        sys.addaudithook(_audit)
        OPENED.clear()
        started = time.perf_counter()
        again = sync(loaded, store, publisher, Options(), cache_dir=cache, clock=_now)
        seconds = time.perf_counter() - started
        read = opened(root)
        print(
            f"no-op re-sync: {seconds:.2f} s, unchanged {again[0].counts.unchanged}, "
            f"written {publisher.next_id - first[0].counts.created}, "
            f"documents opened {len(read)}"
        )
        # The control: one file's mtime moved (same bytes), so that file alone is read.
        touched = sorted(root.rglob("*.pdf"))[0]
        info = touched.stat()
        os.utime(touched, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        OPENED.clear()
        sync(loaded, store, publisher, Options(), cache_dir=cache, clock=_now)
        store.close()
        control = opened(root)
        print(
            f"one file touched: documents opened {len(control)} "
            f"({', '.join(sorted({Path(path).name for path in control}))})"
        )
    return 0


def opened(root: Path) -> list[str]:
    """Files under ``root`` opened since ``OPENED`` was cleared (folders left out)."""
    return [path for path in OPENED if path.startswith(str(root)) and not Path(path).is_dir()]


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    raise SystemExit(main())

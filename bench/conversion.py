"""Benchmark: what converting Markdown costs beside rendering it, and a cold dry run.

For ``--files`` generated docs pages (front matter, headings, paragraphs with emphasis,
inline code and links to other pages, to anchors and to the web, bullet and numbered
lists, fenced code, tables, GitHub alerts, images, block quotes, now and then raw HTML),
in one run:

1. the reference: a bare markdown-it-py loop (CommonMark with GFM's tables and
   strikethrough, nothing of syncer's) that lists the folder, reads every file and
   renders it;
2. ``convert_file`` alone over the same files (syncer's GFM render, the normaliser,
   the title), in this process;
3. a cold ``syncer sync --dry-run`` over the same folder: a fresh process, an empty
   SQLite store, no cache, so every file is listed, read, converted and hashed
   (target: at most 2.5x the reference).

Each is the best of ``--rounds`` (the three taken in turn each round), wall time and CPU
time (the dry run's is its child's user + system), with its ratio to the reference: on a
shared machine the CPU ratio is the steadier one. For a *before* figure, run the same
file against an export of an earlier commit (the dry run's child imports the syncer this
process imports)::

    git archive <rev> | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before .venv/bin/python bench/conversion.py
    .venv/bin/python bench/conversion.py [--files 10000] [--rounds 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORDS = [
    *("account", "billing", "invoice", "refund", "team", "member", "password", "login"),
    *("export", "report", "api", "workspace", "admin", "setting", "permission", "webhook"),
    *("token", "integration", "customer", "message", "inbox", "article", "help", "center"),
    *("search", "filter", "audience", "rule", "trigger"),
]
ALERTS = ("NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION")
LANGUAGES = ("python", "bash", "json", "yaml", "")


def _sentence(rng: random.Random, pages: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    at = rng.randrange(len(words))
    word = words[at]
    roll = rng.random()
    if roll < 0.2:
        words[at] = f"**{word}**"
    elif roll < 0.35:
        words[at] = f"`{word}_id`"
    elif roll < 0.45:
        other = rng.randrange(pages)
        words[at] = f"[{word}](../../{_folder(other)}/{_name(other)})"
    elif roll < 0.55:
        words[at] = f"[{word}](https://example.com/{word})"
    elif roll < 0.6:
        words[at] = f"[{word}](#overview)"
    elif roll < 0.65:
        words[at] = f"_{word}_"
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, pages: int, sentences: int = 0) -> str:
    count = sentences or rng.randint(2, 5)
    return " ".join(_sentence(rng, pages) for _ in range(count))


def _folder(n: int) -> str:
    return f"section-{n % 40:02d}/topic-{n % 7}"


def _name(n: int) -> str:
    return f"article-{n:05d}.md"


def page(n: int, pages: int, rng: random.Random) -> str:
    """One realistic docs page (about 4-8 kB of Markdown)."""
    say = lambda count=0: _paragraph(rng, pages, count)  # noqa: E731
    out = [f"---\ntitle: Article {n}\n---\n", f"# Article {n}\n", say(), "## Overview\n", say()]
    for section in range(rng.randint(2, 4)):
        out += [f"## {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {section}\n", say()]
        if rng.random() < 0.4:
            out.append("\n".join(f"- {_sentence(rng, pages)}" for _ in range(rng.randint(2, 6))))
            out.append(
                "\n".join(
                    f"{i}. {_sentence(rng, pages)}\n   - {_sentence(rng, pages)}"
                    for i in range(1, rng.randint(2, 5))
                )
            )
        if rng.random() < 0.5:
            lines = "\n".join(
                f"{rng.choice(WORDS)} = {rng.randrange(99)}  # <{rng.choice(WORDS)}> & more"
                for _ in range(rng.randint(2, 10))
            )
            out.append(f"```{rng.choice(LANGUAGES)}\n{lines}\n```")
        if rng.random() < 0.4:
            rows = "\n".join(
                f"| {rng.choice(WORDS)} | `{rng.randrange(999)}` | {_sentence(rng, pages)} |"
                for _ in range(rng.randint(2, 6))
            )
            out.append(f"| Name | Value | Notes |\n|---|:---:|---|\n{rows}")
        if rng.random() < 0.35:
            out.append(
                f"> [!{rng.choice(ALERTS)}]\n> {_sentence(rng, pages)}\n> {_sentence(rng, pages)}"
            )
        if rng.random() < 0.15:
            out.append(f"![{rng.choice(WORDS)}](images/{rng.choice(WORDS)}.png)")
        if rng.random() < 0.1:
            out.append(f"> {_sentence(rng, pages)}")
        if rng.random() < 0.1:
            out.append(f"### Details\n\n{say(2)}\n\n---")
        if rng.random() < 0.05:
            out.append(
                f"<details>\n<summary>{rng.choice(WORDS)}</summary>\n\n{say(1)}\n\n</details>"
            )
    return "\n\n".join(out) + "\n"


def make_corpus(root: Path, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for n in range(files):
        folder = root / _folder(n)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _name(n)).write_text(page(n, files, rng), encoding="utf-8")


def best(
    rounds: int, runs: dict[str, Callable[[], tuple[float, float]]]
) -> dict[str, tuple[float, float]]:
    """The best wall and CPU seconds of ``rounds`` runs of each of ``runs``, taken in turn
    (one of each per round), so a machine that slows down or speeds up mid-way moves
    every figure alike rather than one of them."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return {
        name: (min(wall for wall, _ in done), min(cpu for _, cpu in done))
        for name, done in results.items()
    }


def timed(work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def reference(corpus: Path) -> None:
    """List, read and render every file with markdown-it-py alone."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for path in sorted(corpus.rglob("*.md")):
        md.render(path.read_text(encoding="utf-8"))


def convert_all(corpus: Path) -> None:
    from syncer.convert.source_file import convert_file

    def url_of(path: str) -> str | None:
        return f"https://docs.example.com/{path.removesuffix('.md')}"

    for path in sorted(corpus.rglob("*.md")):
        convert_file(path.relative_to(corpus).as_posix(), path.read_bytes(), url_of=url_of)


def dry_run(work: Path, corpus: Path) -> tuple[float, float]:
    """A cold ``syncer sync --dry-run``: a fresh process, a new empty store, no cache.

    The child runs in a folder of its own with ``PYTHONPATH`` at this process's syncer:
    ``python -m`` puts its working folder first on the path, so started from a checkout
    it would import that checkout's syncer, not the one measured here.
    """
    import syncer

    run = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    config = run / "syncer.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{run / 'store.db'}\nsources:\n  - name: corpus\n"
        f"    type: filesystem\n    path: {corpus}\n"
        "    page_url: https://docs.example.com/{path_stem}\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "syncer", "--log-level", "error", "sync", "--dry-run"]
    env = {**os.environ, "PYTHONPATH": str(Path(syncer.__file__).resolve().parents[1])}
    errors = run / "stderr"
    with errors.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "-c", str(config)],
            cwd=run,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"the dry run exited {code}: {errors.read_text()[-2000:]}")
    shutil.rmtree(run)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    args = parser.parse_args()
    import syncer

    print(f"syncer from {Path(syncer.__file__).parent}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="syncer-conversion-"))
    corpus = work / "corpus"
    if not corpus.exists():
        make_corpus(corpus, args.files)
    files = sum(1 for _ in corpus.rglob("*.md"))
    size = sum(path.stat().st_size for path in corpus.rglob("*.md"))
    print(f"corpus: {files} Markdown files, {size / files / 1024:.1f} kB each, at {corpus}")
    reference_name = "markdown-it read+render (reference)"
    figures = best(
        args.rounds,
        {
            reference_name: lambda: timed(lambda: reference(corpus)),
            "convert_file (in process)": lambda: timed(lambda: convert_all(corpus)),
            "cold sync --dry-run (process)": lambda: dry_run(work, corpus),
        },
    )
    ref_wall, ref_cpu = figures[reference_name]
    print(f"{'':<38} {'wall s':>7} {'ms/file':>8} {'ratio':>6}   {'cpu s':>7} {'ratio':>6}")
    for name, (wall, cpu) in figures.items():
        print(
            f"{name:<38} {wall:>7.2f} {wall / files * 1000:>8.3f} {wall / ref_wall:>5.2f}x"
            f"   {cpu:>7.2f} {cpu / ref_cpu:>5.2f}x"
        )
    print("target: the cold dry run at most 2.5x the reference")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""Bad files never stop a run: each is reported by path and skipped, the rest come through.

Listing and fetching run in a child process. Tests run as root, for whom ``chmod 000``
stops nothing, so the child drops to nobody (65534) before touching the tree; it warms
up every converter first, because nobody may not read the interpreter's own files. The
tree lives in a temp folder nobody can enter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534

CHILD = r"""
import json, os, sys

from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
from syncer.convert.source_file import convert_file
from syncer.model import Document, Excluded

settings = FilesystemSettings.model_validate(
    {"name": "bad", "type": "filesystem", "path": sys.argv[1]}
)
connector = FilesystemConnector(settings)
for name, data in (
    ("w.md", b"---\nt: [\n---\n"),
    ("w.md", b"---\ntitle: t\n---\n# x\n\n| a |\n|---|\n| 1 |\n"),
    ("w.html", b"<title>t</title><main><p>x</p></main>"),
    ("w.txt", b"x"),
):
    try:
        convert_file(name, data, url_of=lambda path: None)
    except ValueError:
        pass
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
listing = connector.list()
fetched = {}
for item in connector.fetch(listing.stubs):
    if isinstance(item, Document):
        fetched[item.key] = {"kind": "document", "title": item.title}
    elif isinstance(item, Excluded):
        fetched[item.key] = {"kind": "excluded", "reason": item.reason}
    else:
        fetched[item.key] = {"kind": "failure", "message": item.message}
print(json.dumps({
    "complete": listing.complete,
    "stubs": [stub.key for stub in listing.stubs],
    "listing_failures": {failure.key: failure.message for failure in listing.failures},
    "fetched": fetched,
}))
""".replace("NOBODY", str(NOBODY))


def run_child(root: Path) -> dict[str, Any]:
    """List and fetch ``root`` in a child process, as nobody when we are root."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp folder that nobody may enter (pytest's own tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="syncer-bad-files-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(folder)


def write(root: Path, rel: str, content: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o755)
    path.write_bytes(content)
    path.chmod(0o644)
    return path


GOOD = {
    "good.md": "Good markdown",
    "good.html": "Good page",
    "good.txt": "Good",
    "nested/also-good.md": "Also good",
}


def make_good_files(root: Path) -> None:
    write(root, "good.md", b"---\ntitle: Good markdown\n---\nText.\n")
    write(root, "good.html", b"<title>Good page</title><main><p>Text.</p></main>")
    write(root, "good.txt", b"Just text.\n")
    write(root, "nested/also-good.md", b"# Also good\n")


def test_bad_files_are_reported_and_skipped(shared_tmp: Path) -> None:
    root = shared_tmp
    make_good_files(root)
    write(root, "binary.md", b"PK\x03\x04\x00\x00binary")
    write(root, "latin1.md", "café au lait".encode("latin-1"))
    write(root, "empty.md", b"")
    write(root, "blank.txt", b"  \n\n\t \n")
    write(root, "bad-yaml.md", b"---\ntitle: [oops\n---\nBody\n")
    write(root, "unclosed.md", b"---\ntitle: x\nBody without a closing line\n")
    write(root, "unreadable.md", b"# Secret\n").chmod(0o000)
    with (root / "big.md").open("wb") as big:
        # Sparse and all NUL bytes: reading it would report "binary", not its size.
        big.truncate(20_000_000)
    (root / "big.md").chmod(0o644)
    (root / "loop").symlink_to(".")
    (root / "nested" / "back-up").symlink_to("..")
    (root / "ping.md").symlink_to("pong.md")
    (root / "pong.md").symlink_to("ping.md")
    (root / "dangling.md").symlink_to("no-such-file.md")

    report = run_child(root)

    fetched = report["fetched"]
    for key, title in GOOD.items():
        assert fetched[key] == {"kind": "document", "title": title}
    failures = {key: item["message"] for key, item in fetched.items() if item["kind"] == "failure"}
    assert failures == {
        "bad-yaml.md": failures["bad-yaml.md"],
        "big.md": "file is 20.0 MB, over max_file_bytes 5.0 MB; raise max_file_bytes or exclude it",
        "binary.md": "binary file (it contains NUL bytes); exclude it or convert it to text",
        "latin1.md": "not valid UTF-8: byte 0xe9 at offset 3; save the file as UTF-8",
        "unclosed.md": failures["unclosed.md"],
        "unreadable.md": "cannot read file: Permission denied",
    }
    # A file with nothing in it is that file's state, not an error: excluded (and so
    # remembered at its version, not read again each run), with the reason.
    excluded = {key: item["reason"] for key, item in fetched.items() if item["kind"] == "excluded"}
    assert excluded == {
        "blank.txt": "empty file: nothing to send",
        "empty.md": "empty file: nothing to send",
    }
    assert failures["bad-yaml.md"].startswith("front matter is not valid YAML")
    assert "never closed" in failures["unclosed.md"]

    listing_failures = report["listing_failures"]
    assert sorted(listing_failures) == [
        "dangling.md",
        "loop",
        "nested/back-up",
        "ping.md",
        "pong.md",
    ]
    assert listing_failures["loop"].startswith("symlink loop")
    assert listing_failures["nested/back-up"].startswith("symlink loop")
    assert listing_failures["ping.md"].startswith("symlink loop")
    assert listing_failures["dangling.md"].startswith("dangling symlink: points to no-such-file.md")
    # Loops and dangling links are files that are not there: the listing is still whole.
    assert report["complete"] is True
    assert len(fetched) == len(report["stubs"])


def test_an_unreadable_folder_makes_the_listing_incomplete(shared_tmp: Path) -> None:
    root = shared_tmp
    make_good_files(root)
    write(root, "locked/inside.md", b"# Inside\n")
    (root / "locked").chmod(0o000)

    report = run_child(root)

    assert report["complete"] is False
    assert report["listing_failures"] == {"locked": "cannot read folder: Permission denied"}
    assert sorted(report["stubs"]) == sorted(GOOD)
    assert all(item["kind"] == "document" for item in report["fetched"].values())


def test_an_unreadable_syncignore_skips_its_folder_and_stops_deletions(shared_tmp: Path) -> None:
    root = shared_tmp
    make_good_files(root)
    write(root, "private/.syncignore", b"*.md\n").chmod(0o000)
    write(root, "private/hidden.md", b"# Must not leak\n")

    report = run_child(root)

    assert report["complete"] is False
    assert "private/hidden.md" not in report["stubs"]
    assert report["listing_failures"]["private/.syncignore"].startswith("folder skipped")

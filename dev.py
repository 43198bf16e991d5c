#!/usr/bin/env python3
"""Developer entry point that needs nothing but Python 3.11+.

    python3 dev.py demo    # plan a sync of the bundled example source (dry run, SQLite)
    python3 dev.py test    # lint, type-check and run the whole test suite

Both create ``.venv`` on first use and install the project into it (again only when
``pyproject.toml`` changes), so they work on a fresh clone. ``test`` also installs
Debian's Chromium (``apt-get install chromium``, through sudo unless root) when no
``chromium`` is on the PATH: the status page's browser test drives it with Playwright
and fails, never skips, without it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".syncer-installed"
# The names Debian's and other distributions' Chromium packages put on the PATH; the
# browser test (tests/test_status_page.py) looks for the same ones.
CHROMIUM = ("chromium", "chromium-browser")


def ensure_venv() -> None:
    """Create the virtualenv and install ``.[dev]`` unless it is already current."""
    if sys.version_info < (3, 11):  # noqa: UP036  # dev.py runs under any python3 first
        sys.exit(f"syncer needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and (BIN / "syncer").exists():
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing syncer and its development tools into .venv ...", flush=True)
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([BIN / "python", "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(wanted)


def ensure_chromium() -> None:
    """Install the system's Chromium with apt-get unless one is on the PATH already.

    Playwright drives this one (``executable_path``), not a browser of its own: its
    ``playwright install`` downloads from a CDN, and these machines reach package
    registries only.
    """
    if any(shutil.which(name) for name in CHROMIUM):
        return
    why = "the status page's browser test needs Chromium"
    if shutil.which("apt-get") is None:
        sys.exit(f"{why}: install it with your system's packages so that `chromium` is on PATH")
    as_root: list[str | Path] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            sys.exit(f"{why}: run `apt-get install chromium` as root (no sudo here)")
        as_root = ["sudo", "--preserve-env=DEBIAN_FRONTEND"]
    print("installing Chromium (apt-get install chromium) for the browser test ...", flush=True)
    os.environ["DEBIAN_FRONTEND"] = "noninteractive"
    # A fresh container has no package lists yet, so update first.
    install = ["install", "-y", "-qq", "--no-install-recommends", "chromium"]
    for step in (["update", "-qq"], install):
        done = subprocess.run([str(part) for part in [*as_root, "apt-get", *step]], check=False)
        if done.returncode != 0:
            sys.exit(f"{why}: `apt-get {' '.join(step)}` failed (exit {done.returncode})")
    if not any(shutil.which(name) for name in CHROMIUM):
        sys.exit(f"{why}: apt-get installed chromium, yet none of {CHROMIUM} is on PATH")


def run(command: list[str | Path], cwd: Path | None = None) -> None:
    """Run ``command``; stop this script with its exit code if it fails."""
    done = subprocess.run([str(part) for part in command], cwd=cwd, check=False)
    if done.returncode != 0:
        sys.exit(done.returncode)


def demo(extra: list[str]) -> None:
    run([BIN / "syncer", "sync", "--dry-run", "-c", ROOT / "examples" / "demo.yaml", *extra])


def test(extra: list[str]) -> None:
    ensure_chromium()
    run([BIN / "ruff", "check", ROOT], cwd=ROOT)
    run([BIN / "ruff", "format", "--check", ROOT], cwd=ROOT)
    run([BIN / "mypy"], cwd=ROOT)
    run([BIN / "pytest", "-n", "2", *extra], cwd=ROOT)


COMMANDS = {"demo": demo, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(COMMANDS)}}} [args...]")
    ensure_venv()
    COMMANDS[sys.argv[1]](sys.argv[2:])

"""The container starts on a fresh store: the image's own command, user and environment,
read from the ``Dockerfile``, run as the image would (no Docker engine runs here).

The process runs as uid 10001 with the runtime stage's ``ENV``, ``WORKDIR`` and
``ENTRYPOINT``/``CMD`` (``tini`` left out), the image's folders laid out under a scratch
root: the config in a root-owned read-only folder (a ``:ro`` mount), the state folder
empty and writable. The config is the quick start's: ``sqlite:///syncer.db``, a
filesystem source and a git source. The daemon must create and migrate the store in
the state folder, keep the git mirror there, write nothing beside the config, and
answer ``/readyz`` 200. Switching users needs root, as CI has; elsewhere it is skipped,
and named as skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from syncer.config import loader
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon_image import COMPOSE, _stages

REPO = Path(__file__).resolve().parents[1]
UID = 10001
STARTUP_S = 30.0


def _runtime() -> dict[str, list[str]]:
    """The runtime stage's instructions: name -> every argument string, in order."""
    found: dict[str, list[str]] = {}
    for word, rest in _stages()[-1]:
        found.setdefault(word, []).append(rest)
    return found


def _env() -> dict[str, str]:
    """The runtime stage's ENV (``KEY=value`` pairs, ``$PATH`` as the image would)."""
    env: dict[str, str] = {}
    for line in _runtime()["ENV"]:
        for key, value in re.findall(r"(\w+)=(\S+)", line):
            env[key] = value
    return env


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A scratch root the image's folders are laid out under (readable by uid 10001)."""
    if os.geteuid() != 0:
        message = "running as uid 10001, as the image does, needs root"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="syncer-image-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for path in root.rglob("*"):  # the read-only folders, so they can go
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(root)


def _in(root: Path, image_path: str) -> Path:
    return root / image_path.lstrip("/")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
        | {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"},
    )


def _get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_the_dockerfile_gives_the_daemon_a_state_volume_of_its_own() -> None:
    runtime = _runtime()
    env = _env()
    state = env["SYNCER_STATE_DIR"]
    assert runtime["WORKDIR"][-1] == state
    assert json.loads(runtime["VOLUME"][-1]) == [state]
    installs = " ".join(runtime["RUN"])
    assert re.search(rf"mkdir -p [^&]*{re.escape(state)}", installs)
    assert f"chown {UID}:{UID} {state}" in installs
    assert runtime["USER"][-1] == f"{UID}:{UID}"
    # The compose file's volume is that folder: Docker gives a new named volume the
    # owner of the image's folder, so uid 10001 may write it.
    compose = yaml.safe_load(COMPOSE.read_text())
    volumes = compose["services"]["syncer"]["volumes"]
    assert any(v.split(":")[1] == state for v in volumes)
    assert not any("/home/" in v for v in volumes)


def test_every_image_path_the_comments_name_is_made_in_the_image() -> None:
    text = (REPO / "Dockerfile").read_text()
    made = set(re.findall(r"mkdir -p ([^&\\]+)", text)[0].split())
    copied = set(re.findall(r"^COPY --from=\S+ \S+ (\S+)$", text, re.MULTILINE))
    env = _env()
    comments = "\n".join(
        line
        for path in (REPO / "Dockerfile", COMPOSE)
        for line in path.read_text().splitlines()
        if line.lstrip().startswith("#")
    )
    named = set(re.findall(r"(?<![\w.$])(/(?:etc|var|usr|opt|home)/[\w./-]*\w)", comments))
    assert named, "the comments name the image's paths"
    for path in named:
        inside = any(path == m or path.startswith(m + "/") for m in made | copied)
        assert inside or path == env["SYNCER_CONFIG"], f"{path} is not in the image"


def test_the_image_command_starts_on_a_fresh_state_folder_beside_a_read_only_config(
    image_root: Path, fake_intercom: FakeIntercom
) -> None:
    env = _env()
    config_path = _in(image_root, env["SYNCER_CONFIG"])
    state = _in(image_root, env["SYNCER_STATE_DIR"])
    home = _in(image_root, "/home/syncer")
    content = _in(image_root, "/srv/docs")
    repo = _in(image_root, "/srv/repo")
    for folder in (state, home, content, repo):
        folder.mkdir(parents=True)
    for i in range(3):
        (content / f"page-{i}.md").write_text(f"# Page {i}\n\nBody {i}.\n")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "guide.md").write_text("# Guide\n\nFrom git.\n")
    _git(repo, "add", "guide.md")
    _git(repo, "commit", "-q", "-m", "guide")
    for path in (state, home, repo, *repo.rglob("*")):
        os.chown(path, UID, UID, follow_symlinks=False)

    config_path.parent.mkdir(parents=True)
    config_path.write_text(
        "intercom:\n"
        "  token: ${INTERCOM_TOKEN}\n"
        f"  base_url: {fake_intercom.url}\n"
        "store:\n"
        "  url: sqlite:///syncer.db\n"
        "defaults:\n"
        "  schedule: every 1h\n"
        "  run_on_start: true\n"
        "daemon:\n"
        "  host: 127.0.0.1\n"
        "  port: 0\n"
        "sources:\n"
        "  - name: handbook\n"
        "    type: filesystem\n"
        f"    path: {content}\n"
        "    url: https://docs.example.com/\n"
        "  - name: guide\n"
        "    type: git\n"
        f"    repo: file://{repo}\n"
        "    ref: main\n"
        "    url: https://git.example.com/guide/\n"
    )
    # A :ro mount of a file root owns: uid 10001 reads it and can write nothing there.
    config_path.chmod(0o444)
    config_path.parent.chmod(0o555)
    before = sorted(p.name for p in config_path.parent.iterdir())

    settings = loader.load(
        config_path, env={**os.environ, **_mapped(env, image_root), "INTERCOM_TOKEN": TOKEN}
    )
    assert settings.store.url == f"sqlite:///{state / 'syncer.db'}"
    assert settings.cache_dir == state / ".syncer-cache"

    entry = json.loads(_runtime()["ENTRYPOINT"][-1])
    command = json.loads(_runtime()["CMD"][-1])
    assert entry[:2] == ["tini", "--"]  # PID 1 passes signals on; here the test does
    program = Path(sys.executable).parent / entry[2]
    process_env = {
        **_mapped(env, image_root),
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "INTERCOM_TOKEN": TOKEN,  # docker run -e INTERCOM_TOKEN
    }
    log = state.parent / "daemon.log"
    with log.open("w") as err:
        daemon = subprocess.Popen(
            [str(program), *command],
            cwd=_in(image_root, _runtime()["WORKDIR"][-1]),
            env=process_env,
            user=UID,
            group=UID,
            extra_groups=[],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        port = _port(log, daemon)
        deadline = time.monotonic() + STARTUP_S
        while _get(port, "/readyz") != 200:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        while not _synced(log, {"handbook", "guide"}):
            assert daemon.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert _get(port, "/") == 200
        store = state / "syncer.db"
        assert store.stat().st_uid == UID
        assert (state / ".syncer-cache" / "guide").is_dir(), sorted(state.rglob("*"))
        assert sorted(p.name for p in config_path.parent.iterdir()) == before
        assert {p["external_id"] for p in fake_intercom.pages()} == {
            "page-0.md",
            "page-1.md",
            "page-2.md",
            "guide.md",
        }
        events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
        assert "daemon_started" in events
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(10)
    assert stat.S_IMODE(config_path.parent.stat().st_mode) == 0o555


def _mapped(env: dict[str, str], root: Path) -> dict[str, str]:
    """The image's ENV with its absolute paths moved under ``root`` ($PATH left out)."""
    return {
        key: str(_in(root, value)) if value.startswith("/") else value
        for key, value in env.items()
        if key != "PATH"
    }


def _port(log: Path, daemon: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event.get("event") == "http_listening":
                return int(event["port"])
        assert daemon.poll() is None, log.read_text()
        time.sleep(0.1)
    pytest.fail(f"the daemon never listened:\n{log.read_text()}")


def _synced(log: Path, names: set[str]) -> bool:
    done = set()
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "source_synced" and event.get("status") == "succeeded":
            done.add(event["source"])
    return names <= done

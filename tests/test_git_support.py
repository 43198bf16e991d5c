"""Real git repositories for the git connector's tests, and two ways to serve them.

``GitRepo`` makes commits with the real ``git``; ``GitDaemon`` serves a folder of
repositories over ``git://127.0.0.1``; ``GitHttpServer`` serves them over smart HTTP
through ``git http-backend`` (optionally behind Basic auth, recording what it was sent).
The tests at the bottom check the helpers themselves.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from syncer import registry
from syncer.config import loader
from syncer.connector import Connector, ConnectorType, Context
from syncer.connectors.git import GitConnector
from syncer.run import Options, SourceReport, sync
from syncer.store import Store
from tests.memory import MemoryPublisher

GIT_TEST_CONFIG = (
    "-c",
    "user.name=Doc Writer",
    "-c",
    "user.email=docs@example.com",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "protocol.file.allow=always",
)


def clean_env() -> dict[str, str]:
    """The test process's environment without variables that would redirect git."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["LC_ALL"] = "C"
    return env


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *GIT_TEST_CONFIG, *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class GitRepo:
    """A working repository whose history the test writes."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "-b", branch, str(path))

    def git(self, *args: str) -> str:
        return git(*args, cwd=self.path)

    def write(self, name: str, text: str | bytes) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)

    def remove(self, name: str) -> None:
        self.git("rm", "--quiet", "-r", name)

    def move(self, old: str, new: str) -> None:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def commit(self, message: str = "change") -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", rev).strip()

    def blob(self, path: str, rev: str = "HEAD") -> str:
        return self.git("rev-parse", f"{rev}:{path}").strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


class GitDaemon:
    """``git daemon`` serving every repository under ``root`` at git://127.0.0.1:port/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> GitDaemon:
        self.process = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--informative-errors",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                f"--base-path={self.root}",
                str(self.root),
            ],
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process)
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


class GitHttpServer:
    """Smart HTTP through ``git http-backend`` for every repository under ``root``.

    With ``token`` set, every request must carry Basic auth whose password is the token
    (any user name), as GitHub's does; ``authorizations`` records each header received.
    """

    def __init__(self, root: Path, token: str | None = None) -> None:
        self.root = root
        self.token = token
        self.authorizations: list[str | None] = []
        self.paths: list[str] = []
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def __enter__(self) -> GitHttpServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._backend()

            def do_POST(self) -> None:
                self._backend()

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _backend(self) -> None:
                header = self.headers.get("Authorization")
                owner.authorizations.append(header)
                owner.paths.append(self.path)
                if owner.token is not None and not _password_is(header, owner.token):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = {
                    **clean_env(),
                    "GIT_PROJECT_ROOT": str(owner.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_ADDR": "127.0.0.1",
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                }
                done = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
                )
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


def _password_is(header: str | None, token: str) -> bool:
    if not header or not header.lower().startswith("basic "):
        return False
    decoded = base64.b64decode(header.split()[1]).decode()
    return decoded.partition(":")[2] == token


def publish(repo: GitRepo, root: Path, name: str = "docs.git") -> Path:
    """Push every branch and tag of ``repo`` (forcibly) to a bare repository under ``root``."""
    bare = root / name
    if not bare.exists():
        git("init", "--quiet", "--bare", str(bare))
    repo.git("push", "--quiet", "--force", str(bare), "refs/heads/*:refs/heads/*")
    repo.git("push", "--quiet", "--force", str(bare), "refs/tags/*:refs/tags/*")
    return bare


# ---- syncing a git source through the real run, store and a memory Fin --------------


class Capture:
    """A ``lookup`` for ``syncer.run.sync`` that keeps every connector it creates.

    The connectors are the real ones from the registry; keeping them lets a test read
    what they report (``blobs_read``, ``changes``) after the run.
    """

    def __init__(self) -> None:
        self.connectors: list[GitConnector] = []

    def __call__(self, name: str) -> ConnectorType[Any]:
        real = registry.get(name)

        def create(settings: Any, context: Context) -> Connector:
            connector = real.create(settings, context)
            assert isinstance(connector, GitConnector)
            self.connectors.append(connector)
            return connector

        return ConnectorType(real.name, real.settings, create)

    @property
    def last(self) -> GitConnector:
        return self.connectors[-1]


class GitSync:
    """One git source synced by ``syncer.run.sync`` into a ``MemoryPublisher``.

    ``source`` is the YAML of the source's keys after ``type: git`` (indented 4).
    """

    def __init__(self, root: Path, source: str) -> None:
        self.root = root
        self.config = root / "syncer.yaml"
        self.cache = root / "cache"
        self.fin = MemoryPublisher()
        self.capture = Capture()
        self.configure(source)
        self.store = Store.open(f"sqlite:///{root / 'store.db'}", migrate=True)

    def configure(self, source: str) -> None:
        # Every source needs a url of its own: its identity in Intercom (syncer.identity).
        if "    url:" not in source and "    page_url:" not in source:
            source += "    url: https://git.example.com/docs\n"
        self.config.write_text(
            f"store:\n  url: sqlite:///{self.root / 'store.db'}\n"
            "sources:\n  - name: docs\n    type: git\n" + source
        )
        self.settings = loader.load(self.config)

    def run(self, **options: bool) -> SourceReport:
        reports = sync(
            self.settings,
            self.store,
            None if options.get("dry_run") else self.fin,
            Options(**options),
            cache_dir=self.cache,
            lookup=self.capture,
        )
        return reports[0]

    @property
    def connector(self) -> GitConnector:
        return self.capture.last

    def pages(self) -> dict[str, str]:
        """external_id -> title of every page in the memory Fin."""
        return {str(p["external_id"]): str(p["title"]) for p in self.fin.pages.values()}

    def page_ids(self) -> dict[str, str]:
        return {str(p["external_id"]): page_id for page_id, p in self.fin.pages.items()}

    def cursor(self) -> str | None:
        state = self.store.source_state("docs")
        return state.cursor if state else None

    def close(self) -> None:
        self.store.close()


@contextlib.contextmanager
def git_syncs(root: Path) -> Iterator[Callable[[str], GitSync]]:
    """Make ``GitSync`` harnesses under ``root``; their stores are closed at the end."""
    made: list[GitSync] = []

    def make(source: str) -> GitSync:
        harness = GitSync(root, source)
        made.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in made:
            harness.close()


# ---- the helpers themselves ---------------------------------------------------------


def test_the_http_server_serves_a_clone_and_refuses_a_missing_token(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("a.md", "# A\n")
    head = repo.commit()
    publish(repo, tmp_path)
    with GitHttpServer(tmp_path, token="s3cret") as server:
        out = subprocess.run(
            ["git", "ls-remote", server.url("docs.git")],
            env={**clean_env(), "GIT_TERMINAL_PROMPT": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode != 0
        assert server.authorizations == [None]
        auth = base64.b64encode(b"x:s3cret").decode()
        out = subprocess.run(
            [
                *("git", "-c", f"http.extraHeader=Authorization: Basic {auth}"),
                *("ls-remote", server.url("docs.git")),
            ],
            env={**clean_env(), "GIT_TERMINAL_PROMPT": "0"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert head in out.stdout


def test_the_daemon_serves_a_clone(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("a.md", "# A\n")
    head = repo.commit()
    publish(repo, tmp_path)
    with GitDaemon(tmp_path) as daemon:
        assert head in git("ls-remote", daemon.url("docs.git"))

"""A token a server echoes back is never printed, logged or stored (issue 10, item 15).

Three different secrets are planted: the Intercom token, a git token and a Confluence
API token. The fake Intercom echoes the ``Authorization`` header it receives into every
error reply (each error's message and ``X-Request-Id``), and a fake Confluence on
127.0.0.1 does the same in its 401s. Every output is then searched for each secret in
every form it travels in: stdout and stderr of ``sync`` (text and ``--json``), the JSON
log lines, ``status`` (text and ``--json``), ``syncer api`` errors, the store's
``runs.errors`` and the whole store file. At the source, the Intercom transport, the
Confluence client and git's messages are checked on their own.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import structlog
from structlog.testing import capture_logs

from syncer import logs
from syncer.cli import main
from syncer.connectors.confluence.http import ApiError, AuthError, ConfluenceHttp, basic_auth
from syncer.connectors.git.command import Credentials, Git
from syncer.errors import FatalIntercomError, IntercomError
from syncer.http.backoff import Backoff
from syncer.intercom.transport import Transport
from syncer.redact import Redactor
from tests.conftest import Workspace
from tests.fakes.intercom import FakeIntercom
from tests.fakes.server import Handler, Running
from tests.test_git_support import GitHttpServer, GitRepo, publish

INTERCOM_TOKEN = "icm_planted-Intercom-Token-4b7e1f"
GIT_TOKEN = "ghp_planted-Git+Token/9d3a51"
CONFLUENCE_TOKEN = "ATATT-planted-Confluence-Token-2c8e"
CONFLUENCE_EMAIL = "bot@acme.test"
GIT_USER = "x-access-token"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# What must never appear: each secret raw, URL-encoded, and as the headers carry it.
FORBIDDEN = {
    "intercom token": INTERCOM_TOKEN,
    "git token": GIT_TOKEN,
    "git token url-encoded": quote(GIT_TOKEN, safe=""),
    "git header": b64(f"{GIT_USER}:{GIT_TOKEN}"),
    "confluence token": CONFLUENCE_TOKEN,
    "confluence basic": b64(f"{CONFLUENCE_EMAIL}:{CONFLUENCE_TOKEN}"),
}


def leaks(text: str) -> list[str]:
    return [name for name, secret in FORBIDDEN.items() if secret in text]


# ---- an echoing Confluence: every call is refused, the header repeated in the reply ----


class EchoingConfluence:
    """Answers every request with ``status`` and a JSON body that repeats the request's
    ``Authorization`` header (v1's ``message`` and v2's ``errors[].title``)."""

    def __init__(self, status: int = 401) -> None:
        self.status = status
        self.seen: list[str] = []
        self._running: Running | None = None

    def __enter__(self) -> EchoingConfluence:
        self._running = Running(("127.0.0.1", 0), self, "echoing-confluence")
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._running is not None
        self._running.stop()

    @property
    def base_url(self) -> str:
        assert self._running is not None
        return f"http://127.0.0.1:{self._running.port}/wiki"

    def _serve(self, handler: Handler) -> None:
        handler.read_body()
        auth = handler.headers.get("Authorization") or ""
        self.seen.append(auth)
        echo = f"refused Authorization: {auth}"
        data = json.dumps({"message": echo, "errors": [{"title": echo}]}).encode()
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-Request-Id", auth)
        handler.end_headers()
        handler.wfile.write(data)


# ---- at the source ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _info_logs() -> None:
    """Log at info, whatever level an earlier test's command line left configured
    (``capture_logs`` replaces the processors, not the level filter)."""
    logs.configure(level="info")


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    with FakeIntercom(INTERCOM_TOKEN) as server:
        server.faults.echo_authorization()
        yield server


def _error_text(error: IntercomError) -> str:
    details = [f"{d.code} {d.message} {d.field}" for d in error.errors]
    shown = [str(error), repr(error.args), str(error.request_id), repr(error.context)]
    return " ".join(shown + details)


def test_the_transport_never_builds_an_error_holding_its_token(fake: FakeIntercom) -> None:
    backoff = Backoff(base=0.001, cap=0.01, attempts=3)
    with (
        capture_logs() as logs,
        Transport(token=INTERCOM_TOKEN, base_url=fake.url, backoff=backoff) as t,
    ):
        with pytest.raises(IntercomError) as missing:
            t.request("GET", "/ai/external_pages/999999")
        fake.faults.fail_next(500, 500, 500)
        with pytest.raises(IntercomError) as failing:
            t.request("GET", "/ai/external_pages")
    with (
        Transport(token="wrong-" + INTERCOM_TOKEN, base_url=fake.url) as t,
        pytest.raises(FatalIntercomError) as refused,
    ):
        t.request("GET", "/ai/external_pages")
    # The echo reached the client: the message and the request id were there to leak.
    assert fake.calls[0].status == 404
    assert "Authorization: ***" in str(missing.value)
    for error in (missing.value, failing.value, refused.value):
        text = _error_text(error)
        assert leaks(text) == [], text
        assert "wrong-" not in text
    assert missing.value.status == 404
    assert missing.value.codes == ("not_found",)
    assert any(e["event"] == "retrying" for e in logs)
    assert leaks(repr(logs)) == []


def test_the_confluence_client_never_builds_an_error_holding_its_credentials() -> None:
    authorization = basic_auth(CONFLUENCE_EMAIL, CONFLUENCE_TOKEN)
    for status, kind in ((401, AuthError), (400, ApiError), (500, ApiError)):
        with EchoingConfluence(status) as server:
            http = ConfluenceHttp(
                server.base_url,
                authorization=authorization,
                backoff=Backoff(base=0.001, cap=0.01, attempts=2),
                sleep=lambda _s: None,
            )
            with capture_logs() as logs, pytest.raises(kind) as caught:
                http.get(server.base_url + "/api/v2/spaces")
            http.close()
        assert server.seen[0] == authorization  # the header was sent, and echoed
        assert "Authorization: ***" in str(caught.value)
        assert leaks(str(caught.value) + repr(caught.value.context)) == [], str(caught.value)
        assert leaks(repr(logs)) == []


def test_git_messages_lose_the_token_in_every_form() -> None:
    git = Git("https://git.example.com/docs.git", credentials=Credentials(GIT_USER, GIT_TOKEN))
    header = Credentials(GIT_USER, GIT_TOKEN).header()
    for form in (
        GIT_TOKEN,
        header,
        header.split()[-1],
        quote(GIT_TOKEN, safe=""),
        f"https://{GIT_USER}:{quote(GIT_TOKEN, safe='')}@git.example.com/docs.git",
    ):
        error = git.error("fetch", f"fatal: unable to access '{form}': 401\n".encode())
        assert leaks(str(error)) == [], form


# ---- every output of the command line ---------------------------------------------------


class Outputs:
    """Everything the command line printed, by command, for one search at the end."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.printed: dict[str, str] = {}

    def run(self, *args: str) -> tuple[int, str]:
        """Run ``syncer ARGS`` (JSON logs); its exit code and stdout."""
        code = main(["--log-format", "json", *args])
        out, err = self.capsys.readouterr()
        name = " ".join(a for a in args if a != "-c" and not a.startswith("/"))
        self.printed[f"{name} (stdout)"] = out
        self.printed[f"{name} (stderr)"] = err
        return code, out


def test_no_planted_secret_reaches_any_output_or_the_store(
    tmp_path: Path,
    fake: FakeIntercom,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Good\n\nFine.\n")
    (docs / "rejected.md").write_text("# Rejected\n\nIntercom refuses it.\n")
    fake.faults.reject_external_id("rejected.md")
    work = GitRepo(tmp_path / "work")
    work.write("guide.md", "# Guide\n\nFrom git.\n")
    work.commit("first")
    served = tmp_path / "served"
    publish(work, served)
    for name, value in {
        "PLANTED_INTERCOM": INTERCOM_TOKEN,
        "PLANTED_GIT": GIT_TOKEN,
        "PLANTED_CONFLUENCE": CONFLUENCE_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    store = tmp_path / "store.db"
    config = tmp_path / "syncer.yaml"

    with GitHttpServer(served, token=GIT_TOKEN) as git_server, EchoingConfluence() as wiki:
        config.write_text(
            f"intercom:\n  token: ${{PLANTED_INTERCOM}}\n  base_url: {fake.url}\n"
            f"store:\n  url: sqlite:///{store}\n"
            "sources:\n"
            "  - name: docs\n    type: filesystem\n    path: docs\n"
            "    url: https://docs.example.com/\n"
            "  - name: repo\n    type: git\n"
            f"    repo: {git_server.url('docs.git')}\n    token: ${{PLANTED_GIT}}\n"
            "    url: https://git.example.com/docs\n"
            "  - name: wiki\n    type: confluence\n"
            f"    base_url: {wiki.base_url}\n    email: {CONFLUENCE_EMAIL}\n"
            "    token: ${PLANTED_CONFLUENCE}\n    spaces: [SUP]\n"
            "    url: https://wiki.example.com/\n"
        )
        c = str(config)
        shown = Outputs(capsys)
        code, report = shown.run("sync", "-c", c, "--json")
        assert code == 1  # a rejected page and a refused source
        code, _ = shown.run("sync", "-c", c, "--full")
        assert code == 1
        _, status = shown.run("status", "-c", c, "--json")
        shown.run("status", "-c", c)
        code, _ = shown.run("api", "-c", c, "getExternalPage", "-p", "id=999999")
        assert code == 1
        code, _ = shown.run("api", "-c", c, "listExternalPages")
        assert code == 0
    assert wiki.seen, shown.printed  # Confluence was asked, and echoed its credentials

    # The echoes reached syncer and were cut, not avoided.
    sources = {source["name"]: source for source in json.loads(report)["sources"]}
    assert sources["repo"]["status"] == "succeeded"
    assert sources["docs"]["counts"]["failed"] == 1
    assert "Authorization: ***" in " ".join(sources["docs"]["errors"])
    assert "Authorization: ***" in " ".join(sources["wiki"]["errors"])
    assert "Authorization: ***" in shown.printed["api getExternalPage -p id=999999 (stderr)"]
    rows = {row["name"]: row for row in json.loads(status)["sources"]}
    assert "Authorization: ***" in " ".join(rows["wiki"]["last_run"]["errors"])
    with sqlite3.connect(store) as db:
        run_errors = [row[0] for row in db.execute("SELECT errors FROM runs")]
    assert any("Authorization: ***" in errors for errors in run_errors)
    searched = {
        **shown.printed,
        "runs.errors": "\n".join(run_errors),
        "store file": store.read_bytes().decode("latin-1"),
    }
    assert len(searched) == 14
    for name, text in searched.items():
        assert leaks(text) == [], f"{name}:\n{text}"


def test_the_command_line_process_prints_no_echoed_token(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    """The same through a real process's stdout and stderr, not an in-process capture."""
    config = tmp_path / "syncer.yaml"
    config.write_text(
        f"intercom:\n  token: {INTERCOM_TOKEN}\n  base_url: {fake.url}\n"
        f"store:\n  url: sqlite:///{tmp_path / 'store.db'}\n"
    )
    command = ["--log-format", "json", "api", "-c", str(config), "getExternalPage"]
    done = subprocess.run(
        [sys.executable, "-m", "syncer", *command, "-p", "id=999999"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Authorization: ***" in done.stderr
    assert leaks(done.stdout + done.stderr) == []


def test_what_the_command_line_prints_is_redacted(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret no client knows to scrub (pasted into a title) is cut from stdout."""
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", INTERCOM_TOKEN)
    workspace.write("pasted.md", f"# Pasted {INTERCOM_TOKEN} by mistake\n\nOops.\n")
    code = main(["sync", "--dry-run", "-c", str(workspace.config)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Pasted *** by mistake" in out
    assert leaks(out + err) == []


def test_log_events_are_redacted_once_the_secrets_are_known() -> None:
    stream = io.StringIO()
    secrets = logs.configure(json=True, stream=stream)
    try:
        log = structlog.get_logger("test")
        log.info("before_config", token=INTERCOM_TOKEN)
        secrets.add_secrets(Redactor([INTERCOM_TOKEN, GIT_TOKEN]))
        log.info(
            "after_config",
            text=f"Bearer {INTERCOM_TOKEN}",
            nested={"list": [GIT_TOKEN], GIT_TOKEN: "as a key"},
            path=Path("/tmp") / INTERCOM_TOKEN,  # not a string: cut once rendered
        )
        try:
            raise RuntimeError(f"boom {GIT_TOKEN}")
        except RuntimeError:
            log.exception("failed")
    finally:
        logs.configure(json=True)
    before, after, failed = (json.loads(line) for line in stream.getvalue().splitlines())
    assert before["token"] == INTERCOM_TOKEN  # nothing to redact yet: the config decides
    assert after["text"] == "***"
    assert after["nested"] == {"list": ["***"], "***": "as a key"}
    assert "/tmp/***" in after["path"]
    assert "boom ***" in failed["exception"]
    assert leaks(json.dumps([after, failed])) == []


def test_a_secret_in_a_title_or_an_unscrubbed_error_is_not_stored(
    fake: FakeIntercom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's own catch-all: what a client did not scrub is scrubbed on the way in."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pasted.md").write_text(f"# Deploy with {INTERCOM_TOKEN}\n\nOops.\n")
    (docs / "refused.md").write_text("# Refused\n")
    fake.faults.reject_external_id(
        "refused.md", message=f"token {GIT_TOKEN} is not allowed here"
    )  # an error no client knows to scrub: the git token, from the Intercom side
    monkeypatch.setenv("PLANTED_INTERCOM", INTERCOM_TOKEN)
    monkeypatch.setenv("PLANTED_GIT", GIT_TOKEN)
    store = tmp_path / "store.db"
    config = tmp_path / "syncer.yaml"
    config.write_text(
        f"intercom:\n  token: ${{PLANTED_INTERCOM}}\n  base_url: {fake.url}\n"
        f"store:\n  url: sqlite:///{store}\n"
        "sources:\n  - name: docs\n    type: filesystem\n    path: docs\n"
        "    url: https://docs.example.com/\n"
        "  - name: repo\n    type: git\n    repo: https://git.example.invalid/docs.git\n"
        "    token: ${PLANTED_GIT}\n    url: https://git.example.com/docs\n"
    )
    assert main(["--log-level", "error", "sync", "--source", "docs", "-c", str(config)]) == 1
    with sqlite3.connect(store) as db:
        titles = [row[0] for row in db.execute("SELECT title FROM documents")]
        errors = [row[0] for row in db.execute("SELECT errors FROM runs")]
    assert "Deploy with ***" in titles
    assert "token *** is not allowed here" in " ".join(errors)
    assert leaks(store.read_bytes().decode("latin-1")) == []


def test_the_daemon_logs_and_stores_no_secret_of_its_config(
    fake: FakeIntercom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's outputs learn the config's secrets too (at start, and on SIGHUP)."""
    from tests.test_daemon import DaemonProcess, wait_for

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n")
    # An error no client knows to scrub: the git token, echoed from the Intercom side.
    fake.faults.reject_external_id("a.md", message=f"token {GIT_TOKEN} is not allowed here")
    store = tmp_path / "store.db"
    config = tmp_path / "syncer.yaml"
    config.write_text(
        f"intercom:\n  token: ${{TEST_INTERCOM_TOKEN}}\n  base_url: {fake.url}\n"
        f"store:\n  url: sqlite:///{store}\n"
        "defaults:\n  schedule: every 1h\n  run_on_start: true\n"
        "daemon:\n  host: 127.0.0.1\n  port: 0\n"
        "sources:\n  - name: docs\n    type: filesystem\n    path: docs\n"
        "    url: https://docs.example.com/\n"
        "  - name: repo\n    type: git\n    repo: https://git.example.invalid/docs.git\n"
        "    token: ${PLANTED_GIT}\n    url: https://git.example.com/docs\n"
    )
    monkeypatch.setenv("PLANTED_GIT", GIT_TOKEN)
    monkeypatch.setattr("tests.test_daemon.TOKEN", INTERCOM_TOKEN)
    fake.token = INTERCOM_TOKEN
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for("both first runs", lambda: len(daemon.events("source_synced")) >= 2, 30)
    finally:
        daemon.close()
    with sqlite3.connect(store) as db:
        errors = " ".join(row[0] for row in db.execute("SELECT errors FROM runs"))
    log = (tmp_path / "daemon.log").read_text()
    assert "token *** is not allowed here" in errors
    assert "token *** is not allowed here" in log
    assert leaks(log) == []
    assert leaks(errors) == []

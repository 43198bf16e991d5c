"""What each git child process gets in its environment (issue 10, item 16).

A ``git`` wrapper placed first on ``PATH`` records the environment and arguments of
every git process the connector starts, then runs the real git. With secrets planted in
the parent's environment (the Intercom token, a Confluence token, a cloud key and the
git token's own variable), none may reach any git process; the token's ``Authorization``
header, scoped to the repository's origin, reaches only the commands that talk to the
remote (``ls-remote``, ``fetch``), never the local ones (``ls-tree``, ``cat-file``...).
"""

from __future__ import annotations

import base64
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncer.connectors.git.command import Credentials, Git, origin
from tests.test_git_support import GitHttpServer, GitRepo, GitSync, git_syncs, publish

GIT_TOKEN = "ghp_child-env-Token-5c1d9e"
PLANTED = {
    "INTERCOM_TOKEN": "intercom-planted-7f2a9b41c0",
    "CONFLUENCE_TOKEN": "confluence-planted-3e8d61aa",
    "AWS_SECRET_ACCESS_KEY": "aws-planted-wJalrXUtnFEMI",
    "GIT_TEST_TOKEN": GIT_TOKEN,  # what the config's ${GIT_TEST_TOKEN} reads
}
# Not secrets, and git needs them: how to reach hosts.
PASSED = {"HTTPS_PROXY": "http://proxy.invalid:3128", "SSH_AUTH_SOCK": "/tmp/agent.sock"}
REMOTE_COMMANDS = frozenset({"fetch", "clone", "ls-remote", "push"})


@dataclass(frozen=True)
class Child:
    """One git process as the wrapper saw it."""

    args: tuple[str, ...]
    env: dict[str, str]

    @property
    def command(self) -> str:
        return next(a for a in self.args if not a.startswith("-"))

    def header_keys(self) -> list[str]:
        """The ``GIT_CONFIG_KEY_n`` of every ``GIT_CONFIG_VALUE_n`` that is a header."""
        return [
            self.env.get(name.replace("VALUE", "KEY"), "")
            for name, value in self.env.items()
            if name.startswith("GIT_CONFIG_VALUE_") and value.startswith("Authorization:")
        ]


def recording_git(folder: Path, dumps: Path) -> Path:
    """A ``git`` in ``folder`` that records each call under ``dumps`` and runs the real one."""
    real = shutil.which("git")
    env, mktemp = shutil.which("env"), shutil.which("mktemp")
    assert real
    assert env
    assert mktemp
    folder.mkdir()
    dumps.mkdir()
    script = folder / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'f=$({mktemp} "{dumps}/call.XXXXXXXX")\n'
        f'{env} -0 > "$f.env"\n'
        'printf "%s\\0" "$@" > "$f.args"\n'
        f'exec {real} "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def children(dumps: Path) -> list[Child]:
    found = []
    for args_file in sorted(dumps.glob("*.args")):
        args = tuple(a for a in args_file.read_text().split("\0") if a)
        raw = args_file.with_suffix(".env").read_text().split("\0")
        env = dict(item.partition("=")[::2] for item in raw if item)
        found.append(Child(args, env))
    # `git http-backend` is the test server's own process, not the connector's.
    return [child for child in found if "http-backend" not in child.args]


SyncFactory = Callable[[str], GitSync]


@pytest.fixture
def git_sync(tmp_path: Path) -> Iterator[SyncFactory]:
    with git_syncs(tmp_path) as make:
        yield make


def test_git_children_get_only_what_they_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_sync: SyncFactory
) -> None:
    work = GitRepo(tmp_path / "work")
    for n in range(3):
        work.write(f"docs/doc-{n}.md", f"# Doc {n}\n\nBody {n}.\n")
    work.commit("first")
    served = tmp_path / "served"
    publish(work, served)
    dumps = tmp_path / "dumps"
    wrapper = recording_git(tmp_path / "bin", dumps)
    monkeypatch.setenv("PATH", f"{wrapper}{os.pathsep}{os.environ['PATH']}")
    for name, value in {**PLANTED, **PASSED}.items():
        monkeypatch.setenv(name, value)

    with GitHttpServer(served, token=GIT_TOKEN) as server:
        url = server.url("docs.git")
        sync = git_sync(f"    repo: {url}\n    token: ${{GIT_TEST_TOKEN}}\n")
        report = sync.run()
        assert report.status == "succeeded", report.errors
        assert report.counts.created == 3

    header = Credentials("x-access-token", GIT_TOKEN).header()
    encoded = header.split()[-1]
    seen = children(dumps)
    remote = [c for c in seen if c.command in REMOTE_COMMANDS]
    local = [c for c in seen if c.command not in REMOTE_COMMANDS]
    assert {c.command for c in remote} >= {"ls-remote", "fetch"}, [c.args for c in seen]
    assert {c.command for c in local} >= {"ls-tree", "cat-file"}, [c.args for c in seen]

    for child in seen:
        shown = "\0".join(f"{k}={v}" for k, v in child.env.items())
        for name, secret in PLANTED.items():
            assert name not in child.env, (child.command, name)
            assert secret not in shown, (child.command, name)
        assert child.env["LC_ALL"] == "C"
        assert child.env["GIT_TERMINAL_PROMPT"] == "0"
        for name, value in PASSED.items():
            assert child.env.get(name) == value, (child.command, name)
        assert "PATH" in child.env
        assert "HOME" in child.env
    for child in local:
        shown = "\0".join(child.env.values())
        assert encoded not in shown, child.args
        assert child.header_keys() == [], child.args
    for child in remote:
        assert child.header_keys() == [f"http.{origin(url)}.extraHeader"], child.args
        assert header in child.env.values()


def test_the_environment_is_an_allowlist() -> None:
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/docs",
        "LANG": "en_US.UTF-8",
        "TMPDIR": "/tmp/x",
        "http_proxy": "http://proxy:3128",
        "NO_PROXY": "localhost",
        "SSH_AUTH_SOCK": "/run/agent",
        "GIT_SSH_COMMAND": "ssh -i key",
        "GIT_CONFIG_GLOBAL": "/etc/docs.gitconfig",
        "GIT_DIR": "/elsewhere",  # would point git at another repository
        "GIT_TRACE_CURL": "1",  # would print the header
        "SYNCER_CONFIG": "/etc/syncer.yaml",
        "DATABASE_URL": "postgresql://u:pw@db/x",
        **PLANTED,
    }
    git = Git(
        "https://git.example.com/docs.git",
        credentials=Credentials("x-access-token", GIT_TOKEN),
        environ=parent,
    )
    local, remote = git.env_for(remote=False), git.env_for(remote=True)
    for env in (local, remote):
        for name in ("PATH", "HOME", "LANG", "TMPDIR", "http_proxy", "NO_PROXY"):
            assert env[name] == parent[name]
        assert env["SSH_AUTH_SOCK"] == "/run/agent"
        assert env["GIT_SSH_COMMAND"] == "ssh -i key"
        assert env["GIT_CONFIG_GLOBAL"] == "/etc/docs.gitconfig"
        for name in ("GIT_DIR", "GIT_TRACE_CURL", "SYNCER_CONFIG", "DATABASE_URL", *PLANTED):
            assert name not in env
    basic = base64.b64encode(f"x-access-token:{GIT_TOKEN}".encode()).decode()
    assert basic not in "".join(local.values())
    assert local["GIT_CONFIG_COUNT"] == "0"
    assert f"Authorization: Basic {basic}" in remote.values()

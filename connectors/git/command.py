"""Running ``git``: an allowlisted environment, the token kept off disk and out of messages.

Every git process gets an environment of its own, built from an allowlist of the
caller's (how to run programs and reach hosts: ``PATH``, ``HOME``, locale, temporary
folders, proxies, CA bundles, the ssh agent, a few ``GIT_*``), so no other secret of the
process (the Intercom token, a Confluence token, a database URL) reaches git or what
git runs. No prompts (a missing credential fails at once instead of hanging a daemon),
English messages (so failures can be told apart), and, only for the commands that talk
to the remote (``run(..., remote=True)``: ls-remote, fetch), an ``Authorization`` header
for an https repository with a token, in ``GIT_CONFIG_*`` variables scoped to the
repository's origin. The token is therefore never on a command line (visible in ``ps``),
never in ``.git/config``, never in a local command's environment, and is cut out of any
message (raw, as the header's base64, URL-encoded) before it leaves this module.

A failed command raises ``GitError`` with a ``kind`` (auth, not_found, unreachable,
disk_full, timeout, other) read from git's message; ``connectors.git.mirror`` decides
what each kind means for the source.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from syncer.redact import Redactor

Kind = Literal["auth", "not_found", "unreachable", "disk_full", "timeout", "missing_git", "other"]

# Variables of the caller's environment that git may keep: how to reach hosts (ssh,
# proxies, CA bundles) and where the user's own config lives. Everything else named
# GIT_* is dropped: GIT_DIR or GIT_INDEX_FILE from a hook would point git elsewhere,
# GIT_TRACE_CURL or GIT_CURL_VERBOSE would print headers, GIT_ASKPASS would prompt.
_KEPT = frozenset(
    {
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSH_VARIANT",
        "GIT_SSL_CAINFO",
        "GIT_SSL_CAPATH",
        "GIT_SSL_CERT",
        "GIT_SSL_KEY",
        "GIT_SSL_NO_VERIFY",
        "GIT_PROXY_COMMAND",
        "GIT_HTTP_USER_AGENT",
        "GIT_CONFIG_GLOBAL",
        "GIT_EXEC_PATH",
    }
)
# The rest of the caller's environment git may see: how to run programs, where home,
# temporary files and the user's config are, the locale (LC_ALL=C wins anyway), proxies
# and CA bundles, and the ssh agent. Anything else (INTERCOM_TOKEN, a Confluence token,
# a database URL, cloud keys) is the caller's and never reaches git (issue 10).
_ALLOWED = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "TZ",
        "TMPDIR",
        "TMP",
        "TEMP",
        "XDG_CONFIG_HOME",
        "LD_LIBRARY_PATH",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
        "SSH_AUTH_SOCK",
        "SYSTEMROOT",  # Windows: git cannot start without it
        "SystemRoot",
        "COMSPEC",
    }
)

# Checked in this order on git's lower-cased message; the first kind with a match wins.
_SIGNS: tuple[tuple[Kind, tuple[str, ...]], ...] = (
    ("disk_full", ("no space left on device", "disk quota exceeded", "file too large")),
    (
        "auth",
        (
            "authentication failed",
            "could not read username",
            "could not read password",
            "terminal prompts disabled",
            "invalid username or password",
            "invalid credentials",
            "access denied",
            "permission denied (publickey",
            "returned error: 401",
            "returned error: 403",
            "http 401",
            "http 403",
        ),
    ),
    (
        "not_found",
        (
            "repository not found",
            "does not appear to be a git repository",
            "returned error: 404",
            "not a git repository",
            "no such repository",
            "project you were looking for could not be found",
        ),
    ),
    (
        "unreachable",
        (
            "could not resolve host",
            "could not resolve hostname",
            "connection refused",
            "failed to connect",
            "connection timed out",
            "operation timed out",
            "network is unreachable",
            "no route to host",
            "connection reset",
            "unable to look up",
            "unable to connect",
            "could not read from remote repository",
            "the remote end hung up unexpectedly",
            "ssl certificate problem",
            "host key verification failed",
            "returned error: 5",
        ),
    ),
)
_REPOSITORY_NOT_FOUND = re.compile(r"repository '[^']*' not found")
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*:[^/@\s]*@")
_MESSAGE_LINES = ("fatal:", "error:", "remote:", "ssh:", "warning: ")
MAX_MESSAGE = 400


class GitError(Exception):
    """A git command that failed: which one, how, and git's own words (redacted)."""

    def __init__(self, command: str, kind: Kind, message: str) -> None:
        super().__init__(f"git {command}: {message}")
        self.command = command
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Credentials:
    """A token for an https repository, and the user name sent with it."""

    username: str
    token: str

    def header(self) -> str:
        pair = f"{self.username}:{self.token}".encode()
        return "Authorization: Basic " + base64.b64encode(pair).decode("ascii")


class Git:
    """Runs git commands for one repository, with its environment and its secrets."""

    def __init__(
        self,
        repo: str,
        *,
        credentials: Credentials | None = None,
        timeout: float = 600.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.repo = repo
        self.timeout = timeout
        # The raw token, the header and its base64, each also URL- and JSON-escaped.
        self._redactor = (
            Redactor([credentials.token], basic=[(credentials.username, credentials.token)])
            if credentials
            else Redactor()
        )
        caller = os.environ if environ is None else environ
        self._local_env = git_env(repo, None, caller)
        self._remote_env = git_env(repo, credentials, caller)

    def env_for(self, *, remote: bool) -> dict[str, str]:
        """The environment of a git process: only a ``remote`` one carries the token."""
        return dict(self._remote_env if remote else self._local_env)

    def redact(self, text: str) -> str:
        """``text`` without the token, its header in any form, or a URL's password."""
        return _USERINFO.sub(r"\1***@", self._redactor.redact(text))

    def run(
        self,
        args: Sequence[str],
        *,
        git_dir: Path | None = None,
        cwd: Path | None = None,
        stdin: bytes | None = None,
        remote: bool = False,
    ) -> bytes:
        """Run ``git [--git-dir=...] ARGS``; its stdout, or ``GitError``.

        ``remote`` commands talk to the network and get the source's ``timeout``; local
        ones the same bound, since a corrupt mirror must not hang a run either.
        """
        command = ["git", "--literal-pathspecs"]
        if git_dir is not None:
            command.append(f"--git-dir={git_dir}")
        command.extend(args)
        name = args[0] if args else "git"
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._remote_env if remote else self._local_env,
                cwd=cwd,
                # Its own process group, so a timeout also ends git-remote-https or ssh.
                start_new_session=True,
            )
        except FileNotFoundError:
            raise GitError(
                name, "missing_git", "git is not installed or not on PATH; install git"
            ) from None
        try:
            out, err = process.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            where = "the remote did not answer" if remote else "the local mirror is stuck"
            raise GitError(
                name, "timeout", f"took longer than {self.timeout:g} s ({where})"
            ) from None
        if process.returncode != 0:
            raise self.error(name, err, process.returncode)
        return out

    def error(self, command: str, stderr: bytes, status: int | None = None) -> GitError:
        """The ``GitError`` for a command that failed with ``stderr``."""
        text = self.redact(stderr.decode("utf-8", "replace"))
        return GitError(command, classify(text), summary(text, status))

    def popen(
        self, args: Sequence[str], *, git_dir: Path, stderr: int | object
    ) -> subprocess.Popen[bytes]:
        """A long-lived local git process with pipes (``cat-file --batch``)."""
        try:
            return subprocess.Popen(
                ["git", f"--git-dir={git_dir}", *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,  # type: ignore[arg-type]
                env=self._local_env,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise GitError(
                args[0], "missing_git", "git is not installed or not on PATH; install git"
            ) from None


def git_env(
    repo: str, credentials: Credentials | None, environ: Mapping[str, str]
) -> dict[str, str]:
    """The environment of a git process for ``repo``: the allowlisted part of
    ``environ``, and with ``credentials`` the header for the repository's origin."""
    env = {
        key: value
        for key, value in environ.items()
        if key in _ALLOWED or key in _KEPT or key.startswith("LC_")
    }
    env.update(
        LC_ALL="C",
        LANGUAGE="C",
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        GIT_NO_REPLACE_OBJECTS="1",
    )
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        # No passphrase or host-key prompt: a daemon has nobody to answer it.
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    config: list[tuple[str, str]] = []
    if credentials is not None:
        # An empty helper clears the user's helpers: a refused token must fail, not be
        # replaced by whatever a keychain holds (nor be stored in one).
        config.append(("credential.helper", ""))
        config.append((f"http.{origin(repo)}.extraHeader", credentials.header()))
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for index, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def origin(repo: str) -> str:
    """``scheme://host[:port]/`` of an URL: the only place a token header is sent."""
    parts = urlsplit(repo)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/"


def classify(message: str) -> Kind:
    """What kind of failure git's ``message`` describes."""
    lowered = message.lower()
    if _REPOSITORY_NOT_FOUND.search(lowered):  # smart HTTP's 404
        return "not_found"
    for kind, signs in _SIGNS:
        if any(sign in lowered for sign in signs):
            return kind
    return "other"


def summary(message: str, status: int | None = None) -> str:
    """git's message in one line: its fatal/error/remote lines, deduplicated, bounded."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    picked = [line for line in lines if line.lower().startswith(_MESSAGE_LINES)] or lines
    unique = list(dict.fromkeys(line for line in picked if line.lower() != "remote:"))
    text = "; ".join(unique) or (f"exit status {status}" if status is not None else "failed")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)

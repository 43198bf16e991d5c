"""``type: git`` settings: which repository, which ref and folder, which files, which URLs.

Validation is offline: nothing here contacts the remote (``syncer validate`` must work
without a network). A local ``repo`` path must exist; URLs are checked for shape only.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from syncer.config.settings import SourceSettings
from syncer.config.templates import template_problem
from syncer.config.webhooks import GitScope, GitWebhook
from syncer.connectors.filesystem.patterns import checked_patterns
from syncer.connectors.filesystem.settings import DEFAULT_INCLUDE
from syncer.convert.documents.settings import DocumentSettings
from syncer.convert.flavour import MarkdownSetting

# {path} and {path_stem} are the file's path in the repository (what a blob URL needs);
# {rel_path} and {rel_path_stem} are relative to ``subpath`` (what a docs site needs).
PLACEHOLDERS = ("path", "path_stem", "rel_path", "rel_path_stem", "ref", "commit")
URL_SCHEMES = ("https", "http", "ssh", "git", "file")
# user@host:path, git's "scp-like" ssh syntax (no scheme, a colon before any slash).
_SCP = re.compile(r"^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:(?!//)[^\s]+$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# What ``git check-ref-format`` refuses, plus a leading '-' (it would read as an option).
_BAD_REF = re.compile(r"(^-|\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]|//|/$|\.lock$|^/|\.$|^@$)")


class GitSettings(SourceSettings):
    """A git repository (or a folder of one) of Markdown, HTML, text and PDF/DOCX/PPTX files."""

    type: Literal["git"]
    repo: str = Field(
        description="https://, ssh:// or git@host:path URL, git:// or file:// URL, or a local "
        "path (relative to the config's folder)"
    )
    ref: str = Field(
        default="HEAD",
        description="Branch, tag or full 40-character commit SHA; HEAD is the remote's "
        "default branch",
    )
    subpath: str = Field(
        default="", description="Only files under this folder of the repository ('' = all)"
    )
    include: tuple[str, ...] = Field(
        default=DEFAULT_INCLUDE,
        description="gitignore-style patterns of files to sync, relative to subpath",
    )
    exclude: tuple[str, ...] = Field(
        default=(),
        description="gitignore-style patterns of files to leave out, relative to subpath",
    )
    token: SecretStr | None = Field(
        default=None,
        description="Access token for an https repository; write ${GITHUB_TOKEN}. Sent to git "
        "through its environment for each command: never logged, never written to disk",
    )
    username: str = Field(
        default="x-access-token",
        description="User name sent with the token (GitHub: any; GitLab: oauth2 or any; "
        "Bitbucket: x-token-auth)",
    )
    page_url: str | None = Field(
        default=None,
        description="Page URL template: {path} / {path_stem} (path in the repository), "
        "{rel_path} / {rel_path_stem} (relative to subpath), {ref}, {commit} (the commit "
        "the file was read at); no URL means Fin cannot cite the page",
    )
    raw_url: str | None = Field(
        default=None,
        description="Template of a file's raw URL, for images (same placeholders); derived "
        "for github.com, gitlab.com and bitbucket.org repositories when not set",
    )
    max_file_bytes: int = Field(
        default=5_000_000, gt=0, description="Larger files are reported, not read"
    )
    documents: DocumentSettings = Field(
        default_factory=DocumentSettings,
        description="PDF, DOCX and PPTX files: size and page caps, splitting by heading; "
        "their URL is the raw file at the commit (raw_url), else page_url",
    )
    markdown: MarkdownSetting = Field(
        default="auto",
        description="How Markdown files render: auto (mkdocs.yml in subpath or a folder "
        "above it: mkdocs; docusaurus.config.{js,ts,mjs} there or in its website/: "
        "docusaurus; else gfm), commonmark, gfm (tables, "
        "strikethrough, alerts, heading ids), mkdocs (Python-Markdown with the extensions "
        "mkdocs.yml enables) or docusaurus (MDX)",
    )
    timeout: float = Field(
        default=600.0, gt=0, description="Seconds a git command that talks to the remote may take"
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Where the local mirror lives (a folder per source inside it); default: "
        "beside the store",
    )
    webhook: GitWebhook | None = Field(
        default=None,
        description="Daemon: sync on the host's push webhook (POST /hooks/<name>), when the "
        "push is to ref and touches subpath; off unless set",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_ref_in_url(cls, data: Any) -> Any:
        # The Content Import Source URL is one URL for the whole source: of the
        # placeholders only {ref} means something there, and it is known now.
        if isinstance(data, dict):
            url, ref = data.get("url"), data.get("ref", "HEAD")
            if isinstance(url, str) and "{ref}" in url and isinstance(ref, str):
                return {**data, "url": url.replace("{ref}", ref)}
        return data

    @field_validator("url")
    @classmethod
    def _source_url(cls, value: str | None) -> str | None:
        if value is not None and (problem := template_problem(value, (), key="url")):
            raise ValueError(
                problem.replace("allowed: ", "allowed: {ref} (per-page URLs go in page_url)")
            )
        return value

    @field_validator("repo")
    @classmethod
    def _valid_repo(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if not value:
            raise ValueError("repo is empty; give an https:// or ssh URL, or a local path")
        if value.startswith("-"):
            raise ValueError(f"repo {value!r} starts with '-', which git would read as an option")
        scheme = urlsplit(value).scheme.lower() if "://" in value else ""
        if scheme:
            return _checked_url(value, scheme)
        if _SCP.match(value) and not Path(value).exists():
            if typo := _url_typo(value):
                raise ValueError(typo)
            return value  # git@github.com:acme/docs.git
        base_dir = (info.context or {}).get("base_dir")
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        path = (base / Path(value).expanduser()).resolve()
        # Checked by `syncer validate`; a run reports a missing repository for its source.
        if (info.context or {}).get("check_environment", True) and not path.is_dir():
            raise ValueError(
                f"repository folder {path} does not exist; correct repo (a relative path is "
                f"read from {base}), or give a URL"
            )
        return str(path)

    @field_validator("ref")
    @classmethod
    def _valid_ref(cls, value: str) -> str:
        value = value.strip()
        if not value or _BAD_REF.search(value):
            raise ValueError(
                f"ref {value!r} is not a valid branch, tag or commit name; write e.g. main, "
                "v2.1 or a full 40-character commit SHA"
            )
        return value

    @field_validator("subpath")
    @classmethod
    def _valid_subpath(cls, value: str) -> str:
        value = value.strip().strip("/")
        segments = value.split("/") if value else []
        if any(segment in ("", ".", "..") for segment in segments) or value.startswith("-"):
            raise ValueError(
                f"subpath {value!r} must be a folder inside the repository, like 'docs' or "
                "'site/content' (no '.', '..' or empty segments)"
            )
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _valid_patterns(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return checked_patterns(str(info.field_name), value)

    @field_validator("page_url", "raw_url")
    @classmethod
    def _valid_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        key = str(info.field_name)
        if value is not None and (problem := template_problem(value, PLACEHOLDERS, key=key)):
            raise ValueError(problem)
        return value

    @field_validator("cache_dir")
    @classmethod
    def _absolute_cache(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        base_dir = (info.context or {}).get("base_dir")
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        return (base / value.expanduser()).resolve()

    @model_validator(mode="after")
    def _token_needs_https(self) -> GitSettings:
        if self.token is None:
            return self
        scheme = urlsplit(self.repo).scheme.lower() if "://" in self.repo else ""
        if scheme not in ("https", "http"):
            raise ValueError(
                "token is only used for https:// repositories; an ssh repository "
                "authenticates with a key (ssh-agent or ~/.ssh), a local one needs none"
            )
        if scheme == "http" and not _loopback(urlsplit(self.repo).hostname or ""):
            raise ValueError(
                "token with an http:// repository would cross the network unencrypted; use https://"
            )
        return self

    @property
    def is_commit(self) -> bool:
        """True when ``ref`` names one commit (it never moves, so no remote lookup is needed)."""
        return bool(_FULL_SHA.match(self.ref))

    def webhook_scope(self) -> GitScope | None:
        if self.webhook is None:
            return None
        return GitScope(self.webhook.provider, self.webhook.secret, self.ref, self.subpath)

    def raw_template(self) -> str | None:
        """``raw_url``, or the raw-file URL of a well-known host, or ``None``."""
        return self.raw_url or derived_raw_url(self.repo)


def _checked_url(value: str, scheme: str) -> str:
    if scheme not in URL_SCHEMES:
        raise ValueError(
            f"repo {value!r} has scheme {scheme}://; use https://, ssh://, git://, file:// "
            "or a local path"
        )
    try:
        parts = urlsplit(value)
    except ValueError as error:
        raise ValueError(f"repo {value!r} is not a valid URL ({error})") from None
    if parts.password is not None:
        raise ValueError(
            "repo has a password or token in its URL; remove it and set token: instead "
            "(a token there is never logged or stored; one in the URL would be)"
        )
    if scheme == "file":
        if not Path(parts.path).is_dir():
            raise ValueError(f"repository folder {parts.path} (from repo {value!r}) does not exist")
    elif not parts.hostname:
        raise ValueError(f"repo {value!r} has no host name")
    return value


def _url_typo(value: str) -> str | None:
    """Why ``value``, which git would read as ``host:path`` over ssh, is a mistyped URL.

    ``htps:/github.com/a.git`` and ``https:/github.com/a.git`` are, to git, the path
    ``/github.com/a.git`` on an ssh host named ``htps`` or ``https``: a clone that fails
    later, far from the typo. A host that is (nearly) a URL scheme, with no user and no
    dot, never is one (an ssh alias of ``~/.ssh/config`` is not named ``htps``).
    """
    host, _, rest = value.partition(":")
    if "@" in host or "." in host:
        return None
    scheme = host.lower()
    close = difflib.get_close_matches(scheme, URL_SCHEMES, n=1, cutoff=0.75)
    if not close:
        return None
    meant = f"{close[0]}://{rest.lstrip('/')}"
    return (
        f"repo {value!r} is not a URL (git would read it as a path on an ssh host named "
        f"{host!r}); did you mean {meant!r}? A URL is scheme://host/path"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def derived_raw_url(repo: str) -> str | None:
    """The raw-file URL template of a github.com, gitlab.com or bitbucket.org repository.

    Pinned to ``{commit}``: an image stays what it was when its page was read, and the
    URL keeps working after the file moves on the branch.
    """
    host, path = _host_and_path(repo)
    path = path.strip("/").removesuffix(".git")
    if not path or "/" not in path:
        return None
    if host == "github.com":
        return f"https://raw.githubusercontent.com/{path}/{{commit}}/{{path}}"
    if host == "gitlab.com":
        return f"https://gitlab.com/{path}/-/raw/{{commit}}/{{path}}"
    if host == "bitbucket.org":
        return f"https://bitbucket.org/{path}/raw/{{commit}}/{{path}}"
    return None


def _host_and_path(repo: str) -> tuple[str, str]:
    if "://" in repo:
        parts = urlsplit(repo)
        return (parts.hostname or "").lower(), parts.path
    if _SCP.match(repo):
        host, _, path = repo.partition(":")
        return host.rpartition("@")[2].lower(), path
    return "", ""

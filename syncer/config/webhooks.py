"""A source's ``webhook:`` section: which host signs its pushes, and the shared secret.

Off unless a source has one. Git sources take push webhooks from GitHub, GitLab,
Bitbucket Cloud or Gitea; Confluence Data Center sources take page webhooks (Cloud's
need an installed app: Cloud keeps polling). The secret must be written as ``${VAR}``
(the loader refuses it in the file itself) and is never logged. ``HookScope`` is what
the daemon checks a delivery against: the secret, and the ref and folder (git) or spaces
(Confluence) the source syncs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

GIT_PROVIDERS: tuple[str, ...] = ("github", "gitlab", "bitbucket", "gitea")
GitProvider = Literal["github", "gitlab", "bitbucket", "gitea"]
MIN_SECRET_CHARS = 16


class _Strict(BaseModel):
    # syncer.config.settings.StrictModel's rules (settings imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True)


def _long_enough(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < MIN_SECRET_CHARS:
        # Never the value itself in the message: it is a secret.
        raise ValueError(f"secret is too short; use {MIN_SECRET_CHARS} characters or more")
    return value


class GitWebhook(_Strict):
    """Push webhooks of a git host, POSTed to ``/hooks/<source>``."""

    provider: GitProvider = Field(
        description="Who sends it: github (X-Hub-Signature-256), gitlab (X-Gitlab-Token), "
        "bitbucket (Bitbucket Cloud, X-Hub-Signature) or gitea (X-Gitea-Signature)"
    )
    secret: SecretStr = Field(
        description="The webhook's secret (GitLab: its secret token), as set on the host; "
        "write ${VAR}; 16 characters or more; never logged"
    )

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        return _long_enough(value)


class ConfluenceWebhook(_Strict):
    """Confluence Data Center page webhooks (page_created, page_updated, page_removed,
    page_restored, page_moved), POSTed to ``/hooks/<source>``."""

    secret: SecretStr = Field(
        description="The webhook's secret, as set in Confluence (it signs X-Hub-Signature); "
        "write ${VAR}; 16 characters or more; never logged"
    )

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        return _long_enough(value)


@dataclass(frozen=True, slots=True)
class GitScope:
    """A git source's webhook: its host and secret, and what a push must touch."""

    provider: GitProvider
    secret: SecretStr
    ref: str  # the source's ref: a branch or tag name, HEAD, or a full commit SHA
    subpath: str  # '' for the whole repository


@dataclass(frozen=True, slots=True)
class ConfluenceScope:
    """A Confluence Data Center source's webhook: its secret and the spaces it syncs."""

    secret: SecretStr
    spaces: tuple[str, ...]


HookScope = GitScope | ConfluenceScope

"""``type: confluence`` settings: the site, how to sign in, and which content is in scope."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from syncer.config.settings import SourceSettings
from syncer.config.templates import template_problem
from syncer.config.webhooks import ConfluenceScope, ConfluenceWebhook
from syncer.connectors.confluence.site import PAGE_URL_PLACEHOLDERS
from syncer.convert.documents import KINDS, MEDIA_TYPES
from syncer.convert.documents.settings import DocumentSettings

_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9_.@-]{1,255}$")
_LABEL = re.compile(r"^[^\s\"',()]{1,255}$")
_PERIOD = re.compile(r"(\d+)\s*(s|m|h)")
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600}


class ConfluenceSettings(SourceSettings):
    """Pages (and optionally blog posts) of some spaces of a Confluence site."""

    type: Literal["confluence"]
    base_url: str = Field(
        description="The site with its context path: https://acme.atlassian.net/wiki (Cloud), "
        "https://wiki.acme.com or https://acme.com/confluence (Data Center)"
    )
    deployment: Literal["cloud", "datacenter"] = Field(
        default="cloud", description="cloud (REST v2) or datacenter (REST v1, also Server)"
    )
    email: str | None = Field(
        default=None, description="Cloud: the account's email; the token is its API token"
    )
    token: SecretStr = Field(
        description="Cloud: an API token; Data Center: a personal access token. Never logged."
    )
    spaces: tuple[str, ...] = Field(min_length=1, description="Space keys to sync")
    labels: tuple[str, ...] = Field(
        default=(), description="Only pages with at least one of these labels"
    )
    exclude_labels: tuple[str, ...] = Field(
        default=(), description="Leave out pages with any of these labels"
    )
    cql: str | None = Field(
        default=None, description='An extra CQL filter, e.g. ancestor = 123456 or title ~ "FAQ"'
    )
    include_blogposts: bool = Field(default=False, description="Sync blog posts too")
    include_restricted: bool = Field(
        default=False,
        description="Also sync pages with read restrictions (their own or a parent's)",
    )
    page_url: str | None = Field(
        default=None,
        description="Page URL template with {id}, {space} and {title}; default: the "
        "page's own Confluence URL",
    )
    attachments: bool | tuple[str, ...] = Field(
        default=False,
        description="Sync the attachments of in-scope pages as pages of their own: true for "
        "every PDF, DOCX and PPTX, or a list of those media types (or pdf, docx, pptx)",
    )
    documents: DocumentSettings = Field(
        default_factory=DocumentSettings,
        description="Attachments: size and page caps, splitting by heading",
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds per request")
    webhook: ConfluenceWebhook | None = Field(
        default=None,
        description="Daemon, Data Center only: sync on Confluence's page webhooks (POST "
        "/hooks/<name>) for pages of these spaces; off unless set (Cloud keeps polling)",
    )
    quick_check: timedelta | None = Field(
        default=None,
        description="Daemon: this often (30s, 2m, 1h) between scheduled runs, ask each "
        "space with one CQL search whether a page was saved since the last successful "
        "run began; one that was triggers a run. Off unless set. Deletions wait for the "
        "schedule",
    )

    @field_validator("quick_check", mode="before")
    @classmethod
    def _quick_check_period(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        match = _PERIOD.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"quick_check {value!r} is not a period; write e.g. 2m, 30s or 1h")
        period = timedelta(seconds=int(match[1]) * _PERIOD_SECONDS[match[2]])
        if period < timedelta(seconds=1):
            raise ValueError("quick_check must be at least 1s")
        return period

    @model_validator(mode="before")
    @classmethod
    def _site_is_the_default_url(cls, data: Any) -> Any:
        # The Content Import Source URL Intercom shows: the site, unless ``url:`` says.
        if (
            isinstance(data, dict)
            and data.get("url") is None
            and isinstance(data.get("base_url"), str)
        ):
            return {**data, "url": data["base_url"].rstrip("/")}
        return data

    @field_validator("base_url")
    @classmethod
    def _site_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url {value!r} must be an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError(f"base_url {value!r} must not have a query or fragment")
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @field_validator("token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("token is empty; set it, e.g. token: ${CONFLUENCE_TOKEN}")
        return value

    @field_validator("spaces")
    @classmethod
    def _space_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [key for key in value if not _SPACE_KEY.match(key)]
        if bad:
            raise ValueError(
                f"not a space key: {', '.join(map(repr, bad))} (write the key, e.g. SUP)"
            )
        doubled = sorted({key for key in value if value.count(key) > 1})
        if doubled:
            raise ValueError(f"space {', '.join(doubled)} is listed twice")
        return value

    @field_validator("labels", "exclude_labels")
    @classmethod
    def _label_names(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        bad = [label for label in value if not _LABEL.match(label)]
        if bad:
            raise ValueError(
                f"{info.field_name}: {', '.join(map(repr, bad))} cannot be a Confluence label "
                "(labels have no spaces, quotes, commas or parentheses)"
            )
        return value

    @field_validator("cql")
    @classmethod
    def _cql_filter(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if not text:
            raise ValueError("cql is empty; remove it or write a filter")
        if re.search(r"\border\s+by\b", text, re.IGNORECASE):
            raise ValueError("cql is a filter: remove ORDER BY (syncer orders the results)")
        unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
        if unquoted.count('"') % 2:
            raise ValueError(f"cql {text!r} has an unclosed quote")
        depth = 0
        for char in unquoted:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                break
        if depth:
            raise ValueError(f"cql {text!r} has unbalanced parentheses")
        return text

    @field_validator("attachments")
    @classmethod
    def _media_types(cls, value: bool | tuple[str, ...]) -> bool | tuple[str, ...]:
        if isinstance(value, bool):
            return value
        short: dict[str, str] = {kind: MEDIA_TYPES[kind] for kind in KINDS}
        known = set(MEDIA_TYPES.values())
        chosen = [short.get(item.strip().lower(), item.strip().lower()) for item in value]
        unknown = [item for item, full in zip(value, chosen, strict=True) if full not in known]
        if unknown:
            raise ValueError(
                f"attachments: {', '.join(map(repr, unknown))} cannot be converted; write true, "
                f"or some of: {', '.join((*KINDS, *sorted(known)))}"
            )
        if not chosen:
            raise ValueError("attachments: the list is empty; write false to sync none")
        return tuple(dict.fromkeys(chosen))

    @property
    def attachment_types(self) -> tuple[str, ...]:
        """The media types of the attachments to sync (none when ``attachments`` is off)."""
        if self.attachments is True:
            return tuple(MEDIA_TYPES[kind] for kind in KINDS)
        return self.attachments or ()

    @field_validator("page_url")
    @classmethod
    def _page_url_template(cls, value: str | None) -> str | None:
        if value is not None and (problem := template_problem(value, PAGE_URL_PLACEHOLDERS)):
            raise ValueError(problem)
        return value

    def webhook_scope(self) -> ConfluenceScope | None:
        if self.webhook is None:
            return None
        return ConfluenceScope(self.webhook.secret, self.spaces)

    @model_validator(mode="after")
    def _webhooks_are_data_center(self) -> Self:
        if self.webhook is not None and self.deployment == "cloud":
            raise ValueError(
                "webhook is for Confluence Data Center: Cloud's webhooks need an installed "
                "app, so a cloud source keeps its schedule; remove webhook"
            )
        return self

    @model_validator(mode="after")
    def _credentials_fit_deployment(self) -> Self:
        host = urlsplit(self.base_url).netloc.lower()
        if self.deployment == "cloud":
            if not self.email:
                raise ValueError(
                    "a cloud source needs email (the account's) beside token (its API token); "
                    "for Data Center write deployment: datacenter"
                )
            if host.endswith(".atlassian.net") and urlsplit(self.base_url).path != "/wiki":
                raise ValueError(
                    f"base_url of Confluence Cloud ends with /wiki: write https://{host}/wiki"
                )
        elif self.email:
            raise ValueError(
                "email is for Cloud only; Data Center signs in with a personal access token "
                "in token alone"
            )
        elif host.endswith(".atlassian.net"):
            raise ValueError(f"{host} is Confluence Cloud: write deployment: cloud")
        return self


__all__ = ["PAGE_URL_PLACEHOLDERS", "ConfluenceSettings"]

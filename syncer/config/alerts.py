"""The ``alerts:`` section: webhook targets, and how hard to try each message.

A source's alerts fire on a change of its health (``syncer.alerts``): a run failed, the
mass-delete guard held deletions back, it went stale, it recovered. Each target gets
the kinds it asks for, as generic JSON or as a Slack-compatible ``{"text": ...}``.
A webhook's URL and headers are secrets: a Slack URL is its own credential.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ALERT_KINDS: tuple[str, ...] = ("failed", "guard", "stale", "recovered")
AlertKind = Literal["failed", "guard", "stale", "recovered"]


class _Strict(BaseModel):
    # syncer.config.settings.StrictModel's rules; a model of its own to keep this module
    # free of settings (which imports it).
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookSettings(_Strict):
    """One place alerts are POSTed to."""

    url: SecretStr = Field(
        description="Where to POST: a Slack-compatible incoming webhook (Slack, Mattermost, "
        "Rocket.Chat) or any endpoint that takes JSON. A secret (a Slack URL is its own "
        "credential): write ${ALERT_WEBHOOK_URL}; never logged"
    )
    format: Literal["json", "slack"] = Field(
        default="json",
        description="json: one object (kind, source, text, errors, ...); slack: "
        '{"text": ...} as incoming webhooks take it',
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="How logs and metrics name this target (default: webhook-N)",
    )
    events: tuple[AlertKind, ...] = Field(
        default=("failed", "guard", "stale", "recovered"),
        description="Which changes to send: failed (a run failed), guard (the mass-delete "
        "guard held deletions back), stale (no success for stale_after_intervals "
        "schedules), recovered (healthy again)",
    )
    sources: tuple[str, ...] = Field(
        default=(), description="Only these sources' alerts (default: every source)"
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Extra request headers, e.g. Authorization: Bearer ${ALERT_TOKEN}; "
        "their values are secrets",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("http://", "https://")):
            # Never the value itself: it is a secret.
            raise ValueError("url must start with https:// (or http://)")
        return value


class AlertSettings(_Strict):
    """Webhook alerts: one message per change of a source's health, never one per run."""

    webhooks: tuple[WebhookSettings, ...] = ()
    timeout_seconds: float = Field(default=10.0, gt=0, description="Seconds per POST")
    attempts: int = Field(
        default=8,
        ge=1,
        le=30,
        description="Tries per message before it is dropped (and logged): connection "
        "failures, 429 and 5xx are retried with jittered backoff, doubling up to "
        "max_backoff_seconds",
    )
    max_backoff_seconds: float = Field(
        default=300.0, gt=0, description="The longest wait between two tries of a message"
    )
    status_url: str | None = Field(
        default=None,
        description="The status page as people reach it (https://syncer.internal/): each "
        "message links to its source's page",
    )

    @field_validator("status_url")
    @classmethod
    def _http_status_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"status_url {value!r} must start with http:// or https://")
        return value.rstrip("/") + "/" if value else value

"""Typed, frozen settings: the shape of ``syncer.yaml`` once it has been validated.

Models here know nothing of files and lines; ``syncer.config.loader`` reads YAML, expands
``${VAR}``, merges ``defaults:`` into each source and turns validation errors into
``Problem`` s with file:line. Connectors extend ``SourceSettings`` with their own fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from syncer.config import database_url
from syncer.config.alerts import AlertSettings
from syncer.config.schedule import Schedule, parse_schedule
from syncer.config.webhooks import HookScope
from syncer.model import Availability


def _to_schedule(value: Any) -> Any:
    if isinstance(value, Schedule):
        return value
    if not isinstance(value, str):
        raise ValueError("schedule must be a string like 'every 30m' or '*/10 * * * *'")
    return parse_schedule(value)


ScheduleField = Annotated[
    Schedule,
    BeforeValidator(_to_schedule),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "'every 15m' / 'every 2h' (s, m, h, d) or a 5-field cron string (UTC)",
            "examples": ["every 30m", "*/10 * * * *"],
        }
    ),
]


class StrictModel(BaseModel):
    """Frozen, and every unknown key is an error (a typo must never be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IntercomSettings(StrictModel):
    """Where and how to reach Intercom."""

    token: SecretStr | None = Field(
        default=None, description="Access token; write ${INTERCOM_TOKEN}. Never logged."
    )
    region: Literal["us", "eu", "au"] = Field(default="us", description="Workspace region")
    base_url: str | None = Field(
        default=None, description="Override the API host (a proxy, a test server); wins over region"
    )
    api_version: str = Field(default="Preview", description="Intercom-Version header")
    timeout: float = Field(default=30.0, gt=0, description="Seconds per request")
    concurrency: int = Field(
        default=64,
        ge=1,
        le=128,
        description="Requests in flight while applying a plan: 64 reaches Intercom's "
        "10,000 calls/min when replies take 300 ms; the rate limiter keeps it under",
    )

    @field_validator("api_version")
    @classmethod
    def _old_name(cls, value: str) -> str:
        # Intercom renamed "Unstable" to "Preview"; both name the same version.
        return "Preview" if value == "Unstable" else value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url {value!r} must start with http:// or https://")
        return value.rstrip("/") if value else value


class StoreSettings(StrictModel):
    """The change-detection database, and the folder syncer writes its state in."""

    # Before url: a relative SQLite path resolves against it.
    state_dir: Path | None = Field(
        default=None,
        validate_default=True,
        description="Where syncer writes: a relative SQLite path resolves here and git "
        "mirrors live here (default: $SYNCER_STATE_DIR, /var/lib/syncer in the Docker "
        "image; else the config file's folder, or ~/.cache/syncer for the mirrors of a "
        "Postgres store). A relative state_dir is relative to this file",
    )
    url: str = Field(
        default="sqlite:///syncer.db",
        description="SQLAlchemy URL: sqlite:///path (relative to state_dir, else to this "
        "file) or postgresql+psycopg://user@host/db",
    )

    @field_validator("state_dir")
    @classmethod
    def _absolute_state_dir(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        context = info.context or {}
        # None: the loader's $SYNCER_STATE_DIR, if set (a container's volume).
        chosen = value if value is not None else context.get("state_dir")
        if chosen is None:
            return None
        path = Path(chosen).expanduser()
        base = context.get("base_dir")
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        return path

    @field_validator("url")
    @classmethod
    def _known_database(cls, value: str, info: ValidationInfo) -> str:
        try:
            url = database_url.parse(value)
        except database_url.NotADatabaseURLError:
            raise ValueError(
                f"{value!r} is not a database URL; write sqlite:///syncer.db or "
                "postgresql+psycopg://user@host/db"
            ) from None
        backend = url.backend
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"database {backend!r} is not supported; use sqlite or postgresql")
        if backend == "sqlite" and url.database and url.database != ":memory:":
            database = url.database
            # Next to a read-only config a SQLite file could not be written: the state
            # folder wins when there is one.
            base = info.data.get("state_dir") or (info.context or {}).get("base_dir")
            if not Path(database).is_absolute() and base is not None:
                database = str(Path(base) / database)
            return url.render(database)
        return value


class DaemonSettings(StrictModel):
    """The long-running mode's HTTP endpoint and alerting."""

    host: str = Field(default="0.0.0.0", description="Address for /healthz /metrics /status")  # noqa: S104
    port: int = Field(default=9187, ge=0, le=65535)
    stale_after_intervals: int = Field(
        default=3, ge=1, description="Flag a source stale after this many missed schedules"
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0.0,
        description="SIGTERM: how long runs in progress may take to finish their documents",
    )
    engine: Literal["in_process", "procrastinate"] = Field(
        default="in_process",
        description="in_process: the daemon runs every sync itself (SQLite or Postgres). "
        "procrastinate (Postgres only): the daemon defers each due source as a job and "
        "`syncer worker` processes, on any number of machines, run them",
    )
    stalled_worker_seconds: float = Field(
        default=30.0,
        ge=3.0,
        description="engine procrastinate: a worker silent this long is dead, and its job "
        "is retried by another worker (each worker beats every third of it)",
    )
    batch_size: int = Field(
        default=500,
        ge=1,
        description="engine procrastinate: a run with more documents to read than this is "
        "split into batch jobs of this many, which any worker may take, then one job "
        "that deletes and records the run",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Turns on the status page's 'sync now' buttons: whoever types this "
        "token may start a source's run (write ${SYNCER_ADMIN_TOKEN}; 16 characters or "
        "more). Unset: the page is read-only",
    )

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            # Never the value itself in the message: it is a secret.
            raise ValueError("admin_token is too short; use 16 characters or more")
        return value


class SourceDefaults(StrictModel):
    """Settings every source inherits from ``defaults:`` and may override."""

    schedule: ScheduleField = Field(default_factory=lambda: parse_schedule("every 30m"))
    run_on_start: bool = Field(default=False, description="Daemon: also sync once at start")
    ai_agent_availability: bool = Field(default=True, description="Fin AI Agent may use pages")
    ai_copilot_availability: bool = Field(default=True, description="Copilot may use pages")
    ai_sales_agent_availability: bool = False
    audience_ids: tuple[int, ...] = Field(
        default=(), description="Audiences set on the Content Import Source"
    )
    max_delete_fraction: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Refuse a run that would delete more than this fraction of the pages",
    )

    @property
    def availability(self) -> Availability:
        return Availability(
            ai_agent=self.ai_agent_availability,
            ai_copilot=self.ai_copilot_availability,
            ai_sales_agent=self.ai_sales_agent_availability,
        )


class SourceSettings(SourceDefaults):
    """What every source has; each connector subclasses this with its own fields."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Unique; how syncer knows the source (its url is how Intercom knows it)",
    )
    type: str = Field(description="Which connector reads this source")
    url: str | None = Field(
        default=None,
        description="The Content Import Source URL shown in Intercom, unique per source: "
        "how syncer finds the source's own pages (default: the origin of page_url)",
    )
    import_source_id: str | None = Field(
        default=None, description="Adopt an existing Content Import Source by id"
    )

    def webhook_scope(self) -> HookScope | None:
        """What this source's ``webhook:`` accepts; None when it has none (the default:
        a connector whose source can tell of its changes overrides this)."""
        return None


class Settings(StrictModel):
    """The whole validated config."""

    alerts: AlertSettings = Field(default_factory=AlertSettings)
    intercom: IntercomSettings = Field(default_factory=IntercomSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    defaults: SourceDefaults = Field(default_factory=SourceDefaults)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    sources: tuple[SourceSettings, ...] = ()

    @property
    def cache_dir(self) -> Path:
        """Where connectors keep caches (git mirrors): beside a SQLite store, else in
        ``store.state_dir``, else ``~/.cache/syncer``; the CLI and the daemon share it."""
        url = database_url.parse(self.store.url)
        if url.backend == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).parent / ".syncer-cache"
        if self.store.state_dir is not None:
            return self.store.state_dir / ".syncer-cache"
        return Path.home() / ".cache" / "syncer"

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

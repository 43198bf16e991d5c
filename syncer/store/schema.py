"""The store's tables: sources, the documents each one sent, and the runs that sent them
(with what each recent run did per document); beside them the daemon's leases, alert
states, config reloads and triggers.

This module owns the shape of the database and nothing else. ``metadata`` is what the
Alembic migrations are checked against (``migrations/env.py`` autogenerates from it), so
every constraint and index gets its name from one naming convention: autogenerate then
produces the same names on SQLite and Postgres and finds no spurious differences.

Bodies are never stored: a document row holds just enough to decide whether to fetch
(``version``) and whether to send (``content_hash``), plus Intercom's page id to delete it.

On Postgres the task engine's tables live beside these (revision 0006 applies
procrastinate's schema): they are procrastinate's to shape, not ``metadata`` 's, so
``ours`` keeps them out of autogenerate's comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

# The task engine's tables (``syncer.engine``): procrastinate's own schema, not ours.
ENGINE_TABLE_PREFIX = "procrastinate_"


def ours(name: str | None, type_: str, _parent_names: object = None) -> bool:
    """Alembic's ``include_name``: whether autogenerate compares this table with ``metadata``."""
    return not (type_ == "table" and (name or "").startswith(ENGINE_TABLE_PREFIX))


# Postgres index and constraint names share one namespace per schema, hence the table
# name in every template.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES: tuple[str, ...] = ("running", "succeeded", "failed", "interrupted", "blocked")

# How many error messages a run keeps: enough to diagnose, bounded so that a source
# where every document fails does not grow the runs table without limit.
MAX_RUN_ERRORS = 20

# What a run did with each document it touched (``run_documents``), in the order they
# are kept and shown: the ones with a reason first. ``held``: a delete the mass-delete
# guard held back; ``skipped``: listed but not sent (a draft, ``fin: false``).
DOCUMENT_ACTIONS: tuple[str, ...] = ("failed", "held", "skipped", "deleted", "created", "updated")
# Bounds on those rows: per run, and how many runs of a source keep theirs. A run that
# changed nothing keeps none, so its row is still the only one it writes.
MAX_RUN_DOCUMENTS = 1000
RUNS_WITH_DOCUMENTS = 10
# Config reloads kept (``config_reloads``): the newest is the one the status page shows.
RELOADS_KEPT = 20


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in Python, whatever the backend stores.

    Postgres keeps ``timestamp with time zone``; SQLite has no time zone type, so it gets
    naive UTC text. Naive datetimes are refused on the way in: their meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime(timezone=False))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and type mapping."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class SourceRow(Base):
    """One configured source, and what syncer keeps about it between runs."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    # The Intercom Content Import Source this source's pages belong to.
    import_source_id: Mapped[str | None] = mapped_column(String(64))
    # Connector-defined resume point: a git commit, a Confluence watermark.
    cursor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class DocumentRow(Base):
    """One listed document of a source: what was last sent for it, never its body."""

    __tablename__ = "documents"
    __table_args__ = (Index(None, "source_id", "external_id"),)

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    # The listing's identity for the document; external_id is what Intercom knows it by.
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    external_id: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    # NULL: listed but deliberately not sent (a draft), remembered so it is not re-read.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    page_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, server_default="")
    last_pushed_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime]


class RunRow(Base):
    """One sync pass over one source: when, how it ended, what it did."""

    __tablename__ = "runs"
    __table_args__ = (
        Index(None, "source_id", "started_at"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in RUN_STATUSES) + ")",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    full: Mapped[bool] = mapped_column(server_default=false())
    created: Mapped[int] = mapped_column(server_default=text("0"))
    updated: Mapped[int] = mapped_column(server_default=text("0"))
    deleted: Mapped[int] = mapped_column(server_default=text("0"))
    unchanged: Mapped[int] = mapped_column(server_default=text("0"))
    excluded: Mapped[int] = mapped_column(server_default=text("0"))
    failed: Mapped[int] = mapped_column(server_default=text("0"))
    errors: Mapped[list[str]] = mapped_column(JSON)


class RunDocumentRow(Base):
    """What one run did with one document: its action, and why when it did not send it.

    Kept for the last ``RUNS_WITH_DOCUMENTS`` runs of a source that touched any
    document, at most ``MAX_RUN_DOCUMENTS`` a run (``syncer.store.runs``); the status
    page lists them. Titles and reasons pass the store's redactor first.
    """

    __tablename__ = "run_documents"
    __table_args__ = (
        CheckConstraint(
            "action IN (" + ", ".join(f"'{action}'" for action in DOCUMENT_ACTIONS) + ")",
            name="action",
        ),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, server_default="")
    reason: Mapped[str] = mapped_column(Text, server_default="")


class AlertStateRow(Base):
    """A source's health as its alerts last reported it (``syncer.daemon.alerting``).

    Alerts fire on a change of this row, made by compare-and-set: one replica wins each
    transition, so restarts and replicas never send a message twice. Keyed by source
    name, like leases: a source may be judged before its row in ``sources`` exists.
    """

    __tablename__ = "alert_states"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    # ok | failed | blocked: how the source's last finished run ended.
    run_state: Mapped[str] = mapped_column(String(16))
    stale: Mapped[bool]
    changed_at: Mapped[datetime]


class ConfigReloadRow(Base):
    """One SIGHUP reload of a daemon replica: when, whether the new config was taken, and
    every problem when it was not (redacted), so every replica's page shows the last."""

    __tablename__ = "config_reloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    replica: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    ok: Mapped[bool]
    problems: Mapped[list[str]] = mapped_column(JSON)


class TriggerRow(Base):
    """A source's triggers (a webhook, ``syncer trigger``, "sync now"), and the runs that
    served them (``syncer.store.triggers``).

    ``serial`` counts triggers; a run notes the serial it began at (``begun``), and a
    finished run the serial it served (``done``), with how it ended. ``serial > begun``
    means a trigger came after the newest run began: one more run is due. Keyed by
    source name, like leases: a webhook may come before the source's first run.
    """

    __tablename__ = "triggers"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    serial: Mapped[int]
    at: Mapped[datetime]
    what: Mapped[str] = mapped_column(Text)
    # When the change itself happened, if the trigger said (a commit's time, a page
    # version's); else the trigger's own time stands for it.
    changed_at: Mapped[datetime | None]
    begun: Mapped[int] = mapped_column(server_default=text("0"))
    # The change time of the newest trigger the running run began after.
    begun_changed_at: Mapped[datetime | None]
    done: Mapped[int] = mapped_column(server_default=text("0"))
    done_at: Mapped[datetime | None]
    done_status: Mapped[str | None] = mapped_column(String(16))
    done_exit: Mapped[int | None]
    # Seconds from the served change to its run's end, when that run wrote to Intercom.
    freshness_s: Mapped[float | None]


class LeaseRow(Base):
    """Which daemon replica may sync a source, and until when (``syncer.daemon.leases``).

    A replica holds a source's row while it syncs it and renews ``expires_at`` as the
    run goes on; a replica that dies stops renewing, so its sources free up when the
    lease expires. Keyed by source name: a lease may be taken before the source's row.
    """

    __tablename__ = "leases"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class IntentRow(Base):
    """A page about to be created: written before the call, gone once its answer is kept.

    A row left behind means a run stopped between asking Intercom and recording the
    answer: the page may exist without the store knowing its id. The next run of the
    source looks it up in Intercom before planning (``syncer.remote``).
    """

    __tablename__ = "intents"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WorkspaceRow(Base):
    """One fact about the Intercom workspace the store mirrors (``foreign_pages``)."""

    __tablename__ = "workspace"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


metadata = Base.metadata

"""The store's tables: sources, the documents each one sent, and the runs that sent them
(with what each recent run did per document); beside them the daemon's alert states,
config reloads and triggers, and the task engine's failed jobs' errors.

This module owns the shape of the database and nothing else: SQLAlchemy Core tables,
which every query names (``runs_table.c.status``); the ORM is not used, so not imported.
``metadata`` is what the
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
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    func,
    text,
)
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


metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _required(name: str, kind: Any, *args: Any, **kwargs: Any) -> Column[Any]:
    return Column(name, kind, *args, nullable=False, **kwargs)


def _optional(name: str, kind: Any, *args: Any, **kwargs: Any) -> Column[Any]:
    return Column(name, kind, *args, nullable=True, **kwargs)


# One configured source, and what syncer keeps about it between runs.
sources_table = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("name", String(64), unique=True),
    _required("type", String(64)),
    # The Intercom Content Import Source this source's pages belong to.
    _optional("import_source_id", String(64)),
    # Connector-defined resume point: a git commit, a Confluence watermark.
    _optional("cursor", Text),
    _required("created_at", UTCDateTime(), server_default=func.now()),
    _required("updated_at", UTCDateTime(), server_default=func.now(), onupdate=func.now()),
)

# One listed document of a source: what was last sent for it, never its body.
documents_table = Table(
    "documents",
    metadata,
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    # The listing's identity for the document; external_id is what Intercom knows it by.
    Column("key", Text, primary_key=True),
    _required("external_id", Text),
    _required("version", Text),
    # NULL: listed but deliberately not sent (a draft), remembered so it is not re-read.
    _optional("content_hash", String(64)),
    _optional("page_id", String(64)),
    _required("title", Text, server_default=""),
    _optional("last_pushed_at", UTCDateTime()),
    _required("last_seen_at", UTCDateTime()),
    Index(None, "source_id", "external_id"),
)

# One sync pass over one source: when, how it ended, what it did.
runs_table = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE")),
    _required("started_at", UTCDateTime()),
    _optional("finished_at", UTCDateTime()),
    _required("status", String(16)),
    _required("full", Boolean, server_default=false()),
    *(
        _required(count, Integer, server_default=text("0"))
        for count in ("created", "updated", "deleted", "unchanged", "excluded", "failed")
    ),
    _required("errors", JSON),
    Index(None, "source_id", "started_at"),
    CheckConstraint(
        "status IN (" + ", ".join(f"'{status}'" for status in RUN_STATUSES) + ")",
        name="status",
    ),
)

# What one run did with one document: its action, and why when it did not send it.
# Kept for the last RUNS_WITH_DOCUMENTS runs of a source that touched any document, at
# most MAX_RUN_DOCUMENTS a run (syncer.store.runs); the status page lists them. Titles
# and reasons pass the store's redactor first.
run_documents_table = Table(
    "run_documents",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    _required("action", String(16)),
    _required("key", Text),
    _required("title", Text, server_default=""),
    _required("reason", Text, server_default=""),
    CheckConstraint(
        "action IN (" + ", ".join(f"'{action}'" for action in DOCUMENT_ACTIONS) + ")",
        name="action",
    ),
)

# A source's health as its alerts last reported it (syncer.daemon.alerting). Alerts fire
# on a change of this row, made by compare-and-set: one replica wins each transition,
# so restarts and replicas never send a message twice. Keyed by source name: a source
# may be judged before its row in sources exists.
alert_states_table = Table(
    "alert_states",
    metadata,
    Column("source", String(64), primary_key=True),
    # ok | failed | blocked: how the source's last finished run ended.
    _required("run_state", String(16)),
    _required("stale", Boolean),
    _required("changed_at", UTCDateTime()),
)

# One SIGHUP reload of a daemon replica: when, whether the new config was taken, and
# every problem when it was not (redacted), so every replica's page shows the last.
config_reloads_table = Table(
    "config_reloads",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("replica", String(128)),
    _required("at", UTCDateTime()),
    _required("ok", Boolean),
    _required("problems", JSON),
)

# A source's triggers (a webhook, syncer trigger, "sync now"), and the runs that served
# them (syncer.store.triggers). serial counts triggers; a run notes the serial it began
# at (begun), and a finished run the serial it served (done), with how it ended.
# serial > begun means a trigger came after the newest run began: one more run is due.
# Keyed by source name, like alert_states: a webhook may come before the source's first
# run.
triggers_table = Table(
    "triggers",
    metadata,
    Column("source", String(64), primary_key=True),
    _required("serial", Integer),
    _required("at", UTCDateTime()),
    _required("what", Text),
    # When the change itself happened, if the trigger said (a commit's time, a page
    # version's); else the trigger's own time stands for it.
    _optional("changed_at", UTCDateTime()),
    _required("begun", Integer, server_default=text("0")),
    # The change time of the newest trigger the running run began after.
    _optional("begun_changed_at", UTCDateTime()),
    _required("done", Integer, server_default=text("0")),
    _optional("done_at", UTCDateTime()),
    _optional("done_status", String(16)),
    _optional("done_exit", Integer),
    # Seconds from the served change to its run's end, when that run wrote to Intercom.
    _optional("freshness_s", Double),
)

# A page about to be created: written before the call, gone once its answer is kept. A
# row left behind means a run stopped between asking Intercom and recording the answer:
# the page may exist without the store knowing its id. The next run of the source looks
# it up in Intercom before planning (syncer.remote).
intents_table = Table(
    "intents",
    metadata,
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("external_id", Text, primary_key=True),
    _required("key", Text),
    _required("created_at", UTCDateTime()),
)

# One fact about the Intercom workspace the store mirrors (foreign_pages).
workspace_table = Table(
    "workspace",
    metadata,
    Column("key", String(64), primary_key=True),
    _required("value", Text),
)

# The newest task-engine job of each source that failed for good (syncer.store.jobs),
# with its error: procrastinate keeps a failed job and when it failed, not why. Keyed
# by source, so it holds one row a source; /status shows it while that job is failed.
job_failures_table = Table(
    "job_failures",
    metadata,
    Column("source", String(64), primary_key=True),
    _required("job_id", BigInteger),
    _required("at", UTCDateTime()),
    _required("error", Text),
)

# A run split into jobs (syncer.engine.batches): what its listing job saw, kept for its
# batches and its finishing job. ``stubs`` is the whole listing ([key, version,
# changed_at] each), so the finish decides deletes from exactly the listing the batches
# were cut from; ``cursor`` moves only if the whole run was clean. ``trigger_serial`` and
# ``trigger_previous`` are what the listing job's ``triggers.begin`` saw, ``since`` the
# start of the source's last success before it: the finish records the triggers served.
# ``finished_at`` is set once, by the finish that closed the run row. ``connector_state``
# is what the batches' connectors resume from instead of listing again
# (``syncer.connector.Resumable``; revision 0009), null when the connector cannot.
run_listings_table = Table(
    "run_listings",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    _required("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE")),
    _required("stubs", JSON),
    _required("complete", Boolean),
    _required("failures", JSON),
    _required("left_out", Integer, server_default=text("0")),
    _optional("cursor", Text),
    _required("import_source_id", String(64)),
    _required("batches", Integer),
    # The pages the mass-delete guard weighs the finish's deletes against, as listed.
    _required("known", Integer, server_default=text("0")),
    _required("trigger_serial", Integer, server_default=text("0")),
    _required("trigger_previous", Integer, server_default=text("0")),
    _optional("since", UTCDateTime()),
    _required("created_at", UTCDateTime()),
    _optional("finished_at", UTCDateTime()),
    _optional("connector_state", Text),
    Index(None, "source_id", "finished_at"),
)

# One batch of such a run: the stubs it fetches, decides and sends. ``done`` turns true
# once (UPDATE .. WHERE NOT done), with ``outcome``: what the finish needs of it (its
# planner's ``Decided``, its counts, errors and document rows, as JSON). ``worker`` and
# ``attempts``: who took it last and how many times it was taken (a worker killed
# mid-batch leaves it undone; another takes it again).
run_batches_table = Table(
    "run_batches",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True),
    _required("stubs", JSON),
    _required("done", Boolean, server_default=false()),
    _optional("worker", String(128)),
    _required("attempts", Integer, server_default=text("0")),
    _optional("taken_at", UTCDateTime()),
    _optional("done_at", UTCDateTime()),
    _optional("outcome", JSON),
)

# Which document of a split run claimed each external_id first: batches decided apart
# cannot see each other's claims in a planner, so a second document claiming one (front
# matter external_id) finds the first here and fails, as in one planner, rather than
# overwrite its page. The primary key is the claim.
run_claims_table = Table(
    "run_claims",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("external_id", Text, primary_key=True),
    _required("key", Text),
)

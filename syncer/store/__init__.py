"""The change-detection store (SQLite or Postgres) and its schema migrations.

``Store`` is the API of sources and documents; ``runs`` the run rows (and what each
recent run did per document), ``daemon_state`` the daemon's alert states and config
reloads, ``triggers`` each source's last trigger and the run that served it, ``jobs`` the
task engine's jobs per source (and why they failed), and ``locks`` the per-source locks
beside it; ``database`` the connection they share; ``schema`` owns the tables,
``migrate`` runs Alembic from code, and ``engine`` turns URLs into engines and driver
failures into ``StoreError``.
"""

from syncer.store.daemon_state import AlertStates, Health, Reload, ReloadLog
from syncer.store.jobs import JobCounts, JobFailure, JobTable
from syncer.store.runs import RunDocument, RunLog, RunSummary
from syncer.store.store import SourceState, Store
from syncer.store.triggers import Begun, Trigger, TriggerTable

__all__ = [
    "AlertStates",
    "Begun",
    "Health",
    "JobCounts",
    "JobFailure",
    "JobTable",
    "Reload",
    "ReloadLog",
    "RunDocument",
    "RunLog",
    "RunSummary",
    "SourceState",
    "Store",
    "Trigger",
    "TriggerTable",
]

"""The change-detection store (SQLite or Postgres) and its schema migrations.

``Store`` is the API of sources and documents; ``runs`` the run rows (and what each
recent run did per document), ``daemon_state`` the daemon's alert states and config
reloads, ``triggers`` each source's last trigger and the run that served it, ``jobs`` the
task engine's jobs per source (and why they failed), and ``locks`` the per-source locks
beside it; ``database`` the connection they share; ``schema`` owns the tables,
``migrate`` runs Alembic from code, and ``engine`` turns URLs into engines and driver
failures into ``StoreError``.
"""

from typing import TYPE_CHECKING, Any

from syncer.store.runs import RunDocument, RunLog, RunSummary
from syncer.store.store import SourceState, Store

if TYPE_CHECKING:
    from syncer.store.daemon_state import AlertStates, Health, Reload, ReloadLog
    from syncer.store.jobs import JobCounts, JobFailure, JobTable
    from syncer.store.triggers import Begun, Trigger, TriggerTable

# The daemon's and the engine's tables, imported when first named (PEP 562): a one-shot
# sync uses none of them.
_LAZY = {
    **dict.fromkeys(("AlertStates", "Health", "Reload", "ReloadLog"), "daemon_state"),
    **dict.fromkeys(("JobCounts", "JobFailure", "JobTable"), "jobs"),
    **dict.fromkeys(("Begun", "Trigger", "TriggerTable"), "triggers"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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

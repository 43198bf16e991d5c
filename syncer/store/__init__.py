"""The change-detection store (SQLite or Postgres) and its schema migrations.

``Store`` is the API of sources and documents; ``runs`` the run rows, ``leases`` the
daemon's lease rows and ``locks`` the per-source locks beside it; ``database`` the
connection they share; ``schema`` owns the tables, ``migrate`` runs Alembic from code,
and ``engine`` turns URLs into engines and driver failures into ``StoreError``.
"""

from syncer.store.leases import Lease, LeaseTable
from syncer.store.runs import RunLog, RunSummary
from syncer.store.store import SourceState, Store

__all__ = ["Lease", "LeaseTable", "RunLog", "RunSummary", "SourceState", "Store"]

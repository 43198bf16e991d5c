"""The change-detection store (SQLite or Postgres) and its schema migrations.

``Store`` is the API of documents, sources and runs; ``leases`` the daemon's lease rows
and ``locks`` the per-source locks beside it; ``database`` the connection they share;
``schema`` owns the tables, ``migrate`` runs Alembic from code, and ``engine`` turns
URLs into engines and driver failures into ``StoreError``.
"""

from syncer.store.leases import Lease, LeaseTable
from syncer.store.store import RunSummary, SourceState, Store

__all__ = ["Lease", "LeaseTable", "RunSummary", "SourceState", "Store"]

"""The change-detection store (SQLite or Postgres) and its schema migrations.

``Store`` is the API; ``schema`` owns the tables, ``migrate`` runs Alembic from code, and
``engine`` turns URLs into engines and driver failures into ``StoreError``.
"""

from syncer.store.store import Lease, RunSummary, SourceState, Store

__all__ = ["Lease", "RunSummary", "SourceState", "Store"]

"""The change-detection store (SQLite or Postgres) and its schema migrations.

``Store`` is the API; ``schema`` owns the tables, ``migrate`` runs Alembic from code, and
``engine`` turns URLs into engines and driver failures into ``StoreError``.
"""

from syncer.store.store import RunSummary, SourceState, Store

__all__ = ["RunSummary", "SourceState", "Store"]

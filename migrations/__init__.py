"""Alembic migrations of the syncer store; ``syncer.store.migrate`` runs them from code."""

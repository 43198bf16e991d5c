"""The ``type: git`` connector: a repository's docs, synced by commit."""

from syncer.connector import ConnectorType
from syncer.connectors.git.connector import GitConnector, create
from syncer.connectors.git.settings import GitSettings

CONNECTOR = ConnectorType(name="git", settings=GitSettings, create=create)

__all__ = ["CONNECTOR", "GitConnector", "GitSettings"]

"""The ``type: git`` connector: a repository's docs, synced by commit."""

from connectors.git.connector import GitConnector, create
from connectors.git.settings import GitSettings
from syncer.connector import ConnectorType

CONNECTOR = ConnectorType(name="git", settings=GitSettings, create=create)

__all__ = ["CONNECTOR", "GitConnector", "GitSettings"]

"""The ``type: filesystem`` connector: a folder of Markdown, HTML and text files."""

from syncer.connector import ConnectorType
from syncer.connectors.filesystem.connector import FilesystemConnector, create
from syncer.connectors.filesystem.settings import FilesystemSettings

CONNECTOR = ConnectorType(name="filesystem", settings=FilesystemSettings, create=create)

__all__ = ["CONNECTOR", "FilesystemConnector", "FilesystemSettings"]

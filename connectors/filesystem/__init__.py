"""The ``type: filesystem`` connector: a folder of Markdown, HTML and text files."""

from connectors.filesystem.connector import FilesystemConnector, create
from connectors.filesystem.settings import FilesystemSettings
from syncer.connector import ConnectorType

CONNECTOR = ConnectorType(name="filesystem", settings=FilesystemSettings, create=create)

__all__ = ["CONNECTOR", "FilesystemConnector", "FilesystemSettings"]

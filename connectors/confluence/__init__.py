"""The ``type: confluence`` connector: Confluence Cloud (REST v2) and Data Center (REST v1).

``connector`` lists and fetches; ``api`` speaks the two dialects and ``http`` owns the
wire (auth, retries, rate limits). ``convert`` turns storage format into clean HTML,
``site`` builds the site's URLs and ``resolve`` answers the converter's questions about
links, users and included pages. ``preview`` prints one page as Fin would get it.
"""

from syncer.connector import ConnectorType
from syncer.connectors.confluence.connector import ConfluenceConnector, create
from syncer.connectors.confluence.preview import PREVIEW
from syncer.connectors.confluence.settings import ConfluenceSettings

CONNECTOR = ConnectorType(
    name="confluence", settings=ConfluenceSettings, create=create, commands=(PREVIEW,)
)

__all__ = ["CONNECTOR", "ConfluenceConnector", "ConfluenceSettings"]

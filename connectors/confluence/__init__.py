"""The ``type: confluence`` connector: Confluence Cloud (REST v2) and Data Center (REST v1).

``convert`` turns storage format into clean HTML, ``site`` builds the site's URLs and
``resolve`` answers the converter's questions about links, users and included pages.
"""

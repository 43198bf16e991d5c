"""Connectors read documents out of knowledge sources: one sub-package per source type.

Each implements the ``Connector`` protocol of ``syncer.connector`` (list cheap stubs,
fetch documents for the stubs that changed, a cursor, notes, close) and exposes a
``ConnectorType`` as ``CONNECTOR``; ``syncer.registry`` finds them by the YAML
``type:``, and third-party packages add types through the ``syncer.connectors``
entry-point group. Connectors import syncer's core; the core never imports them but by
name, through the registry.
"""

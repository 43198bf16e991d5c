"""Connectors read documents out of knowledge sources: one sub-package per source type.

A connector is a small ``Connector`` protocol (``connectors.protocol``): list cheap stubs,
fetch documents for the stubs that changed. ``connectors.registry`` maps a YAML
``type:`` to its settings model and factory; third-party packages add types through the
``syncer.connectors`` entry-point group.
"""

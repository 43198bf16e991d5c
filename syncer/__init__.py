"""syncer keeps Intercom Fin's External Pages equal to your knowledge sources.

Data flows one way: connectors (``connectors/``) list and fetch documents, ``syncer.convert``
normalises them, ``syncer.plan`` decides what changed against ``syncer.store``, and
``syncer.run`` applies the plan to Intercom (``syncer.intercom``).
"""

__version__ = "0.1.0"

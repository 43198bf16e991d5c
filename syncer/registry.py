"""Find the connector type for a source's ``type:``: built-ins first, then entry points.

The core names the built-in connectors by module path only and imports one when a
source asks for it, so ``syncer`` never imports a connector package until it is used
(and validating a filesystem-only config imports no git or HTTP code).

Third-party packages register under the ``syncer.connectors`` entry-point group, each
entry naming a ``ConnectorType`` object::

    [project.entry-points."syncer.connectors"]
    sharepoint = "syncer_sharepoint:CONNECTOR"
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncer.connector import ConnectorType

ENTRY_POINT_GROUP = "syncer.connectors"

# Imported lazily: validating a filesystem-only config should not import git or HTTP code.
BUILTIN: dict[str, str] = {
    "filesystem": "syncer.connectors.filesystem:CONNECTOR",
    "git": "syncer.connectors.git:CONNECTOR",
    "confluence": "syncer.connectors.confluence:CONNECTOR",
}


class UnknownConnectorError(LookupError):
    """No built-in connector or entry point answers to this ``type:``."""


def _load(target: str) -> ConnectorType[Any]:
    from syncer.connector import ConnectorType

    module_name, _, attribute = target.partition(":")
    loaded = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(loaded, ConnectorType):
        raise TypeError(f"{target} is a {type(loaded).__name__}, not a ConnectorType")
    return loaded


@cache
def _plugins() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """Every ``type:`` this installation understands, sorted."""
    return sorted({*BUILTIN, *_plugins()})


def builtin() -> list[str]:
    """The built-in types, sorted: known without reading any package's metadata."""
    return sorted(BUILTIN)


def get(name: str) -> ConnectorType[Any]:
    """The connector type for ``name``, or ``UnknownConnectorError``."""
    target = BUILTIN.get(name) or _plugins().get(name)
    if target is None:
        raise UnknownConnectorError(name)
    return _load(target)


def refresh() -> None:
    """Forget cached entry points (after installing a plugin in the same process)."""
    _plugins.cache_clear()

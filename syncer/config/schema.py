"""The JSON Schema of ``syncer.yaml`` (``syncer config schema``), for editor completion.

Sources are a union over every installed connector's settings model, picked by ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, create_model

from syncer import registry
from syncer.config.settings import Settings


def json_schema() -> dict[str, Any]:
    """A JSON Schema (2020-12) describing the whole config file."""
    models = tuple(registry.get(name).settings for name in registry.available())
    source = Annotated[Union[models], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    document = create_model(
        "SyncerConfig",
        __base__=Settings,
        sources=(tuple[source, ...], ()),
    )
    schema = TypeAdapter(document).json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "syncer configuration"
    return schema

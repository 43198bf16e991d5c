"""The two kinds of generated model: tolerant replies and strict request bodies.

Replies are ``ReplyModel`` s: unknown fields are kept, since Intercom adds fields
without notice, and enums are plain strings. Request bodies are ``RequestModel`` s: an
unknown field is an error before anything is sent, so a typo never reaches Intercom as
a silently ignored key. Both build their validators on first use (``defer_build``), so
importing the few hundred generated classes stays cheap.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ReplyModel(BaseModel):
    """A reply object: tolerant, so a field Intercom adds tomorrow breaks nothing."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, defer_build=True, protected_namespaces=()
    )


class RequestModel(BaseModel):
    """A request body: strict, so a misspelt field fails here and not at Intercom."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, defer_build=True, protected_namespaces=()
    )

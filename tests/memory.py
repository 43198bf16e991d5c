"""In-memory parts for tests: a connector over a dict and a publisher standing in for Fin.

They are real implementations of the ``Connector`` and ``Publisher`` protocols, not
mocks: small enough to trust, so that tests of the planner and the run can focus on
the sync rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from connectors.protocol import ConnectorType, Context
from syncer.config.settings import SourceSettings
from syncer.errors import IntercomError
from syncer.model import Document, Excluded, Failure, Fetched, Hashed, Listing, Stub


class MemorySettings(SourceSettings):
    type: Literal["memory"] = "memory"


@dataclass
class MemorySource:
    """A source's documents: key -> body. A body of None is a draft (excluded)."""

    docs: dict[str, str | None] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    complete: bool = True
    fetches: int = 0

    def put(self, key: str, body: str | None) -> None:
        self.docs[key] = body
        self.versions[key] = self.versions.get(key, 0) + 1

    def touch(self, key: str) -> None:
        self.versions[key] += 1

    def remove(self, key: str) -> None:
        del self.docs[key]


class MemoryConnector:
    def __init__(self, source: MemorySource) -> None:
        self.source = source

    def list(self) -> Listing:
        stubs = tuple(Stub(key, str(self.source.versions[key])) for key in sorted(self.source.docs))
        return Listing(stubs=stubs, complete=self.source.complete)

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        for stub in stubs:
            self.source.fetches += 1
            body = self.source.docs[stub.key]
            if stub.key in self.source.broken:
                yield Failure(stub.key, "cannot read")
            elif body is None:
                yield Excluded(stub.key, stub.version, "draft")
            else:
                yield Document(
                    key=stub.key,
                    version=stub.version,
                    external_id=self.source.external_ids.get(stub.key, stub.key),
                    title=stub.key.title(),
                    html=f"<p>{body}</p>",
                    url=f"https://example.com/{stub.key}",
                    converter_version="test-1",
                )

    def cursor(self) -> str | None:
        return None


def memory_type(sources: Mapping[str, MemorySource]) -> ConnectorType[MemorySettings]:
    """A connector type whose instances read ``sources[settings.name]``."""

    def create(settings: MemorySettings, context: Context) -> MemoryConnector:
        return MemoryConnector(sources[settings.name])

    return ConnectorType(name="memory", settings=MemorySettings, create=create)


@dataclass
class MemoryPublisher:
    """Fin as a dict: (import source id, external_id) -> page. Counts every write."""

    pages: dict[str, dict[str, object]] = field(default_factory=dict)
    import_sources: dict[str, str] = field(default_factory=dict)
    writes: int = 0
    fail_keys: set[str] = field(default_factory=set)
    concurrency: int = 1
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def ensure_source(self, source: SourceSettings, import_source_id: str | None) -> str:
        if import_source_id in self.import_sources.values():
            assert import_source_id is not None
            return import_source_id
        new_id = str(next(self._ids))
        self.import_sources[source.name] = new_id
        return new_id

    def upsert(self, import_source_id: str, item: Hashed, source: SourceSettings) -> str:
        doc = item.document
        if doc.key in self.fail_keys:
            raise IntercomError("rejected", status=422)
        self.writes += 1
        for page_id, page in self.pages.items():
            if page["source_id"] == import_source_id and page["external_id"] == doc.external_id:
                page.update(title=doc.title, html=doc.html)
                return page_id
        page_id = str(next(self._ids))
        self.pages[page_id] = {
            "source_id": import_source_id,
            "external_id": doc.external_id,
            "title": doc.title,
            "html": doc.html,
        }
        return page_id

    def delete(self, page_id: str) -> None:
        self.writes += 1
        self.pages.pop(page_id, None)

    def bodies(self, import_source_id: str) -> dict[str, str]:
        """external_id -> html of the pages under one import source."""
        return {
            str(p["external_id"]): str(p["html"])
            for p in self.pages.values()
            if p["source_id"] == import_source_id
        }


# What a third-party package would name in its `syncer.connectors` entry point.
PLUGIN = memory_type({})

"""In-memory parts for tests: a connector over a dict and a publisher standing in for Fin.

They are real implementations of the ``Connector`` and ``Publisher`` protocols, not
mocks: small enough to trust, so that tests of the planner and the run can focus on
the sync rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import model_validator

from syncer.config.settings import SourceSettings
from syncer.connector import ConnectorType, Context
from syncer.errors import IntercomError
from syncer.hashing import page_digest
from syncer.model import (
    Document,
    Excluded,
    Failure,
    Fetched,
    ImportSource,
    Listing,
    Page,
    RemotePage,
    Stub,
    WorkspacePages,
)


class MemorySettings(SourceSettings):
    type: Literal["memory"] = "memory"

    @model_validator(mode="before")
    @classmethod
    def _url_from_name(cls, data: Any) -> Any:
        # Each source needs a url of its own (its identity in Intercom): one per name.
        if isinstance(data, dict) and not data.get("url") and isinstance(data.get("name"), str):
            return {**data, "url": f"https://{data['name']}.memory.example/"}
        return data


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
        self.closed = False

    def list(self) -> Listing:
        stubs = tuple(Stub(key, str(self.source.versions[key])) for key in sorted(self.source.docs))
        return Listing(stubs=stubs, complete=self.source.complete)

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        for stub in stubs:
            self.source.fetches += 1
            if stub.key not in self.source.docs:
                yield Failure(stub.key, "gone since it was listed")
                continue
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

    def notes(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        self.closed = True


def memory_type(sources: Mapping[str, MemorySource]) -> ConnectorType[MemorySettings]:
    """A connector type whose instances read ``sources[settings.name]``."""

    def create(settings: MemorySettings, context: Context) -> MemoryConnector:
        return MemoryConnector(sources[settings.name])

    return ConnectorType(name="memory", settings=MemorySettings, create=create)


@dataclass
class MemoryPublisher:
    """Fin as a dict: (import source id, external_id) -> page. Counts every write."""

    pages: dict[str, dict[str, object]] = field(default_factory=dict)
    import_sources_by_id: dict[str, ImportSource] = field(default_factory=dict)
    writes: int = 0
    fail_ids: set[str] = field(default_factory=set)  # external ids Intercom refuses
    concurrency: int = 1
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def import_sources(self, *, fresh: bool = False) -> list[ImportSource]:
        return list(self.import_sources_by_id.values())

    def create_source(self, url: str, audience_ids: Sequence[int]) -> ImportSource:
        made = ImportSource(str(next(self._ids)), url, tuple(audience_ids))
        self.import_sources_by_id[made.id] = made
        return made

    def update_source(self, source: ImportSource, url: str, audience_ids: Sequence[int]) -> None:
        self.import_sources_by_id[source.id] = ImportSource(source.id, url, tuple(audience_ids))

    def delete_source(self, import_source_id: str) -> None:
        self.import_sources_by_id.pop(import_source_id, None)
        for page_id in [k for k, p in self.pages.items() if p["source_id"] == import_source_id]:
            del self.pages[page_id]

    def upsert(self, import_source_id: str, page: Page) -> str:
        if page.external_id in self.fail_ids:
            raise IntercomError("rejected", status=422)
        self.writes += 1
        fields = {
            "title": page.title,
            "html": page.html,
            "url": page.url,
            "flags": (
                page.ai_agent_availability,
                page.ai_copilot_availability,
                page.ai_sales_agent_availability,
            ),
        }
        for page_id, held in self.pages.items():
            if held["source_id"] == import_source_id and held["external_id"] == page.external_id:
                held.update(fields)
                return page_id
        page_id = str(next(self._ids))
        self.pages[page_id] = {
            "source_id": import_source_id,
            "external_id": page.external_id,
            **fields,
        }
        return page_id

    def delete(self, page_id: str) -> None:
        self.writes += 1
        self.pages.pop(page_id, None)

    def page_total(self) -> int:
        return len(self.pages)

    def list_pages(self) -> WorkspacePages:
        by_source: dict[str, list[RemotePage]] = {}
        for page_id, page in self.pages.items():
            by_source.setdefault(str(page["source_id"]), []).append(self._remote(page_id, page))
        listed = {k: tuple(v) for k, v in by_source.items()}
        return WorkspacePages(listed, True, len(self.pages), 1)

    def find_page(self, import_source_id: str, external_id: str) -> RemotePage | None:
        for page_id, page in self.pages.items():
            if page["source_id"] == import_source_id and page["external_id"] == external_id:
                return self._remote(page_id, page)
        return None

    @staticmethod
    def _remote(page_id: str, held: dict[str, object]) -> RemotePage:
        agent, copilot, sales = held["flags"]  # type: ignore[misc]
        page = Page(
            str(held["external_id"]),
            str(held["title"]),
            str(held["html"]),
            held["url"],  # type: ignore[arg-type]
            "en",
            agent,
            copilot,
            sales,
        )
        return RemotePage(page_id, page.external_id, page.title, page_digest(page))

    def source_id_for(self, url: str) -> str:
        """The id of the one import source with ``url``."""
        (found,) = [s.id for s in self.import_sources_by_id.values() if s.url == url]
        return found

    def bodies(self, import_source_id: str) -> dict[str, str]:
        """external_id -> html of the pages under one import source."""
        return {
            str(p["external_id"]): str(p["html"])
            for p in self.pages.values()
            if p["source_id"] == import_source_id
        }


# What a third-party package would name in its `syncer.connectors` entry point.
PLUGIN = memory_type({})

"""``IntercomClient``: every operation of Intercom's Preview API, grouped by resource.

The resources (``client.contacts``, ``client.data_connectors``, ...) are generated from
the spec into ``syncer.intercom.api``; this module adds what needs judgement. Sync's
view of AI Content keeps the methods ``publisher`` and ``reconcile`` were written
against: listings that walk every page, an upsert that insists on every availability
flag, Content Import Sources always created with ``sync_behavior: api``. The other AI
Content operations are the generated ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from syncer.errors import UsageError
from syncer.intercom.api import ai_content as generated
from syncer.intercom.api.operations import OPERATIONS
from syncer.intercom.api.resources import Resources
from syncer.intercom.operation import Request, send
from syncer.intercom.transport import Transport, base_url_for

if TYPE_CHECKING:
    from syncer.config.settings import IntercomSettings
    from syncer.intercom.models import ContentImportSource, ExternalPage


class AiContent(generated.AiContent):
    """``/ai/content_import_sources`` and ``/ai/external_pages``, as sync uses them.

    Six methods differ from the generated ones on purpose (hence the ``override``
    ignores): the two listings return every item of every page rather than one page,
    the create/update calls keep the narrower, safer signatures sync relies on, and a
    delete that Intercom confirmed never fails on the shape of its reply. The generated
    originals stay reachable as ``syncer.intercom.api.ai_content.AiContent``, and the
    ``*_all`` pagers are inherited as they are.
    """

    # -- content import sources ----------------------------------------------------------

    def list_content_import_sources(  # type: ignore[override]
        self, *, api_version: str | None = None
    ) -> Iterator[ContentImportSource]:
        """listContentImportSources, every page."""
        from syncer.intercom.models import ContentImportSource

        pager = self._pages(
            "listContentImportSources",
            returns=dict,
            items=lambda page: page.get("data") or [],
            api_version=api_version,
        )
        for item in pager:
            yield ContentImportSource.model_validate(item)

    def create_content_import_source(  # type: ignore[override]
        self,
        *,
        url: str,
        audience_ids: Sequence[int] | None = None,
        status: str | None = None,
        api_version: str | None = None,
    ) -> ContentImportSource:
        """createContentImportSource with ``sync_behavior: api``."""
        from syncer.intercom.models import ContentImportSource

        body: dict[str, Any] = {"sync_behavior": "api", "url": url}
        if audience_ids:
            body["audience_ids"] = list(audience_ids)
        if status:
            body["status"] = status
        reply = self._send("createContentImportSource", body, api_version=api_version)
        return ContentImportSource.model_validate(reply)

    def update_content_import_source(  # type: ignore[override]
        self,
        source_id: int | str,
        *,
        url: str,
        sync_behavior: str = "api",
        status: str | None = None,
        audience_ids: Sequence[int] | None = None,
        api_version: str | None = None,
    ) -> ContentImportSource:
        """updateContentImportSource."""
        from syncer.intercom.models import ContentImportSource

        body: dict[str, Any] = {"sync_behavior": sync_behavior, "url": url}
        if status:
            body["status"] = status
        if audience_ids is not None:
            body["audience_ids"] = list(audience_ids)
        reply = self._send(
            "updateContentImportSource",
            body,
            path=f"/ai/content_import_sources/{source_id}",
            api_version=api_version,
        )
        return ContentImportSource.model_validate(reply)

    # -- external pages --------------------------------------------------------------------

    def list_external_pages(  # type: ignore[override]
        self, *, api_version: str | None = None
    ) -> Iterator[ExternalPage]:
        """listExternalPages, every page."""
        from syncer.intercom.models import ExternalPage

        pager = self._pages(
            "listExternalPages",
            returns=dict,
            items=lambda page: page.get("data") or [],
            api_version=api_version,
        )
        for item in pager:
            yield ExternalPage.model_validate(item)

    def create_external_page(  # type: ignore[override]
        self,
        *,
        title: str,
        html: str,
        source_id: int,
        external_id: str,
        url: str | None = None,
        locale: str = "en",
        ai_agent_availability: bool,
        ai_copilot_availability: bool,
        ai_sales_agent_availability: bool,
        api_version: str | None = None,
    ) -> ExternalPage:
        """createExternalPage: creates, or updates the page with this source and external_id.

        Safe to retry (an upsert by external_id), so the transport retries it like a PUT.
        The availability flags are required here: Intercom defaults them to false on
        create and leaves them alone on update, so leaving one out is never what we mean.
        """

        body: dict[str, Any] = {
            "title": title,
            "html": html,
            "locale": locale,
            "source_id": source_id,
            "external_id": external_id,
            "ai_agent_availability": ai_agent_availability,
            "ai_copilot_availability": ai_copilot_availability,
            "ai_sales_agent_availability": ai_sales_agent_availability,
        }
        if url:
            body["url"] = url
        return self.upsert_external_page(body, api_version=api_version)

    def upsert_external_page(
        self, body: Mapping[str, Any], *, api_version: str | None = None
    ) -> ExternalPage:
        """createExternalPage with a body built by the caller (sync's ``Page.body``)."""
        from syncer.intercom.models import ExternalPage

        reply = self._send("createExternalPage", body, api_version=api_version)
        return ExternalPage.model_validate(reply)

    def _send(
        self, operation: str, body: Any, *, path: str | None = None, api_version: str | None
    ) -> Any:
        """Send a body built here, skipping the request model: sync's write path stays
        light (no few hundred models to build before the first page goes out)."""
        op = OPERATIONS[operation]
        request = Request(path or op.path, {}, body)
        return send(self._transport, op, request, api_version=api_version)

    def delete_external_page(  # type: ignore[override]
        self, page_id: str, *, api_version: str | None = None
    ) -> None:
        """deleteExternalPage: the reply's body is not needed, so it is not parsed."""
        self._call(
            "deleteExternalPage", returns=object, path={"id": page_id}, api_version=api_version
        )


class IntercomClient(Resources):
    """An explicit client object: build one per process, close it when done.

    ``api_version`` (the transport's, from ``intercom.api_version``) goes with every
    call; each method takes ``api_version=`` to override it for one call.
    """

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.transport = transport

    @cached_property
    def ai_content(self) -> AiContent:
        """``client.ai_content``: AI Content, as sync uses it (see ``AiContent``)."""
        return AiContent(self.transport)

    @classmethod
    def from_settings(cls, settings: IntercomSettings, **options: Any) -> IntercomClient:
        """A client for the configured workspace; ``options`` go to ``Transport``."""
        if settings.token is None or not settings.token.get_secret_value():
            raise UsageError(
                "intercom.token is not set: writing to Intercom needs an access token "
                "(intercom: token: ${INTERCOM_TOKEN})"
            )
        transport = Transport(
            token=settings.token.get_secret_value(),
            base_url=base_url_for(settings.region, settings.base_url),
            api_version=settings.api_version,
            timeout=settings.timeout,
            **{"max_connections": settings.concurrency, **options},
        )
        return cls(transport)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> IntercomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

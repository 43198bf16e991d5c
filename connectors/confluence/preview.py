"""``syncer confluence preview PAGE_ID``: one page converted exactly as a sync would.

The Confluence connector type's own command (``PREVIEW``, a ``syncer.connector.Command``).

The HTML goes to stdout (what Fin would get); the title, URL, anything dropped on the
way, and whether a sync would skip the page (read restrictions) go to stderr.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from syncer.config.settings import Settings
from syncer.connector import Command
from syncer.connectors.confluence.connector import ConfluenceConnector
from syncer.connectors.confluence.http import ConfluenceHttp
from syncer.connectors.confluence.settings import ConfluenceSettings
from syncer.errors import UsageError
from syncer.model import Document, Excluded, Failure


def choose_source(settings: Settings, name: str | None) -> ConfluenceSettings:
    """The confluence source named ``name``, or the only one."""
    sources = [s for s in settings.sources if isinstance(s, ConfluenceSettings)]
    if name is not None:
        for source in sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in sources) or "none"
        raise UsageError(f"no confluence source named {name} (confluence sources: {known})")
    if not sources:
        raise UsageError("the config has no source of type confluence")
    if len(sources) > 1:
        names = ", ".join(s.name for s in sources)
        raise UsageError(f"several confluence sources ({names}): choose one with --source")
    return sources[0]


def preview(
    settings: ConfluenceSettings,
    page_id: str,
    out: TextIO,
    err: TextIO,
    *,
    http: ConfluenceHttp | None = None,
) -> int:
    """Print the page's HTML to ``out`` and what a sync would do with it to ``err``."""
    if not page_id.isdigit():
        raise UsageError(f"{page_id!r} is not a page id (the number in the page's URL)")
    connector = ConfluenceConnector(settings, http=http)
    try:
        connector.api.spaces(settings.spaces)  # so the page's space has a key
        body = connector.api.content(page_id)
        if body is None:
            raise UsageError(f"page {page_id} was not found, or this account cannot see it")
        restricted = None
        if not settings.include_restricted:
            reasons, unknown = connector.restrictions([page_id])
            restricted = reasons.get(page_id)
            if page_id in unknown:
                print("warning: its read restrictions could not be checked", file=err)
        # The HTML is shown even for a page a sync would skip: that is what it would be.
        shown = connector.document(page_id, body, None)
        result = connector.document(page_id, body, restricted) if restricted else shown
    finally:
        connector.close()
    if isinstance(shown, Failure):
        print(f"page {page_id}: {shown.message}", file=err)
        return 1
    if isinstance(shown, Document):
        out.write(shown.html + "\n")
        print(f"title: {shown.title}\nurl:   {shown.url}", file=err)
    notes = {k: v for k, v in connector.notes().items() if not k.startswith("Confluence ")}
    for name, count in sorted(notes.items()):
        print(f"note: {name}: {count}", file=err)
    if isinstance(result, Excluded):
        print(f"a sync skips this page: {result.reason}", file=err)
    return 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("page_id", metavar="PAGE_ID", help="the number in the page's URL")
    parser.add_argument("--source", metavar="NAME", help="the confluence source (if several)")


def _run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    return preview(choose_source(settings, args.source), args.page_id, out, err)


PREVIEW = Command(
    "preview", "Print the HTML Fin would get for one Confluence page.", _arguments, _run
)

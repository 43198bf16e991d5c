"""``syncer preview SOURCE KEY``: one document of any source, converted exactly as a sync
would convert it, without the store or Intercom.

The source's connector lists the source (a git source brings its mirror up to date in
its usual cache folder, as a sync would), fetches the one stub with that key, and the
HTML Fin would get goes to stdout; the title, URL, the notes of that document (links
to nothing in the source, includes left out, components dropped) and the site's (an
extension skipped), its broken links one a line, and whether a sync would skip it, go to
stderr, in the form of ``syncer confluence preview``. With ``markdown``, stdout gets the
text Fin would read instead, as ``sync --dry-run --diff`` shows it (``syncer.diff``).
"""

from __future__ import annotations

import difflib
from typing import TextIO

from syncer import registry
from syncer.config.settings import Settings
from syncer.connector import Context
from syncer.errors import UsageError
from syncer.model import Document, Excluded, Failure
from syncer.parts import parent_of


def preview(
    settings: Settings,
    source_name: str,
    key: str,
    out: TextIO,
    err: TextIO,
    *,
    markdown: bool = False,
) -> int:
    """Print the document ``key`` of ``source_name`` as Fin would get it; the exit code.

    ``markdown``: its title and its HTML as Markdown, the text Fin reads, not the HTML.
    """
    source = next((s for s in settings.sources if s.name == source_name), None)
    if source is None:
        known = ", ".join(s.name for s in settings.sources) or "none"
        raise UsageError(f"no source named {source_name} in the config (sources: {known})")
    cache_dir = settings.cache_dir / source.name
    connector = registry.get(source.type).create(source, Context(cache_dir=cache_dir))
    try:
        listing = connector.list()
        # A section of a split document (``manual.pdf//setup``) is fetched with its file.
        wanted = parent_of(key) or key
        stub = next((s for s in listing.stubs if s.key == wanted), None)
        if stub is None:
            close = difflib.get_close_matches(key, [s.key for s in listing.stubs], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            failure = next((f for f in listing.failures if f.key == key), None)
            if failure is not None:
                print(f"{key}: {failure.message}", file=err)
                return 1
            raise UsageError(f"source {source.name} lists no document {key!r}{hint}")
        # A document split into sections (documents.split_at) comes as its lead first.
        results = list(connector.fetch([stub]))
        result = next((r for r in results if r.key == key), results[0])
        notes = dict(connector.notes())
        others = {s.key for s in listing.stubs if s.key != key}
    finally:
        connector.close()
    print(f"source: {source.name} ({source.type})", file=err)
    if isinstance(result, Failure):
        print(f"{key}: {result.message}", file=err)
        return 1
    if isinstance(result, Document):
        if markdown:
            from syncer.diff import fin_text

            out.write(fin_text(result.title, result.html))
        else:
            out.write(result.html + "\n")
        print(f"title: {result.title}\nurl:   {result.url}", file=err)
        for link in result.broken_links:
            print(f"broken {link.kind}: {link.target!r} ({link.reason})", file=err)
    for name, count in sorted(notes.items()):
        owner = name.split(": ", 1)[0]
        if owner == key:
            name = name.removeprefix(f"{key}: ")
        elif owner in others:
            continue  # another document's (none was fetched, but a connector may say)
        print(f"note: {name}: {count}", file=err)
    if isinstance(result, Excluded):
        print(f"a sync skips this document: {result.reason}", file=err)
    return 0

"""The ``page_url`` template: which placeholders it may use, and filling it for a path."""

from __future__ import annotations

import posixpath
import string
from collections.abc import Collection
from urllib.parse import quote

PLACEHOLDERS = ("path", "path_stem")


def template_problem(
    template: str, allowed: Collection[str] = PLACEHOLDERS, *, key: str = "page_url"
) -> str | None:
    """Why ``template`` cannot be a URL template (the setting ``key``), in one line, or ``None``."""
    names = ", ".join(f"{{{name}}}" for name in allowed)
    if not template.startswith(("http://", "https://")):
        return f"{key} {template!r} must start with http:// or https://"
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as error:
        return (
            f"{key} {template!r} has malformed braces ({error}); placeholders are "
            f"{names}, and '{{{{' / '}}}}' write a literal brace"
        )
    for name, spec, conversion in fields:
        if name not in allowed or spec or conversion:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            return f"{key} {template!r} uses unknown placeholder {shown}; allowed: {names}"
    return None


def fill_template(template: str, path: str, **values: str) -> str:
    """The URL for the document at ``path`` (POSIX, relative), percent-encoded.

    ``values`` fill a connector's own placeholders (git: ``{ref}``, ``{commit}``).
    """
    stem, _ = posixpath.splitext(path)
    extra = {name: quote(value) for name, value in values.items()}
    return template.format(path=quote(path), path_stem=quote(stem), **extra)

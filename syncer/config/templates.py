"""Check a URL template setting (``page_url``, ``url``) before any document is read."""

from __future__ import annotations

import string
from collections.abc import Collection


def template_problem(
    template: str, allowed: Collection[str], *, key: str = "page_url"
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

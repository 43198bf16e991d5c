"""Confluence emoticons as the characters they show: legacy names, emoji ids, fallbacks."""

from __future__ import annotations

import re

# The legacy set every Confluence version knows (ac:name, and img class "emoticon-NAME").
LEGACY = {
    "smile": "🙂",
    "sad": "🙁",
    "cheeky": "😛",
    "laugh": "😀",
    "wink": "😉",
    "thumbs-up": "👍",
    "thumbs-down": "👎",
    "information": "ℹ️",
    "tick": "✅",
    "check": "✅",
    "cross": "❌",
    "error": "❌",
    "warning": "⚠️",
    "plus": "➕",
    "add": "➕",
    "minus": "➖",
    "forbidden": "⛔",
    "question": "❓",
    "help_16": "❓",
    "light-on": "💡",
    "lightbulb_on": "💡",
    "light-off": "💡",
    "lightbulb": "💡",
    "yellow-star": "⭐",
    "star_yellow": "⭐",
    "red-star": "⭐",
    "star_red": "⭐",
    "green-star": "⭐",
    "star_green": "⭐",
    "blue-star": "⭐",
    "star_blue": "⭐",
    "heart": "❤️",
    "broken-heart": "💔",
}
_CODEPOINTS = re.compile(r"^[0-9a-fA-F]{2,6}(-[0-9a-fA-F]{2,6})*$")
_SHORTCODE = re.compile(r"^:[^:\s]+:?$")


def emoticon_text(
    name: str | None, emoji_id: str | None, shortname: str | None, fallback: str | None
) -> str:
    """The text an ``ac:emoticon`` stands for; ``''`` when nothing is known about it.

    Cloud writes the emoji itself in ``ac:emoji-fallback`` (or a ``:shortcode:`` for
    Atlassian's own emoji), its code points in ``ac:emoji-id``, and a legacy ``ac:name``.
    """
    if fallback and not _SHORTCODE.match(fallback):
        return fallback
    if emoji_id and _CODEPOINTS.match(emoji_id):
        points = [int(part, 16) for part in emoji_id.split("-")]
        if all(_printable(point) for point in points):
            return "".join(chr(point) for point in points)
    if name and name in LEGACY:
        return LEGACY[name]
    for text in (shortname, fallback):
        if text and _SHORTCODE.match(text):
            return text if text.endswith(":") else text + ":"
    return ""


def legacy_class_text(css_class: str) -> str | None:
    """The character of an ``<img class="emoticon emoticon-NAME">``, if it is one."""
    words = css_class.split()
    if "emoticon" not in words:
        return None
    for word in words:
        if word.startswith("emoticon-"):
            return LEGACY.get(word.removeprefix("emoticon-"), "")
    return ""


def _printable(point: int) -> bool:
    return 0x20 <= point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF

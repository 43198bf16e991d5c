"""Heading ids as github-slugger makes them, the slugger Docusaurus (and GitHub) use.

github-slugger (npm, the version Docusaurus 3 depends on) lower-cases the text, removes
every character of the Unicode general categories it lists (other numbers, punctuation
but ``-`` and ``_``, symbols, controls, format, private use, unassigned, separators but
the space) unless the character is alphabetic, and turns each space into ``-``; a slug
already given in the page gets ``-1``, ``-2``... Its table is generated from the Unicode
database; Python's ``unicodedata`` is that database, so the rule is read from it here
rather than copied. (``unicodedata`` follows a newer Unicode than github-slugger's
13.0: only characters assigned since differ.)
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# The categories github-slugger's script/generate-regex.mjs strips.
_REMOVED = frozenset(
    {
        *("No", "Pe", "Pf", "Pi", "Ps", "Po", "Pd"),
        *("Sm", "Sc", "Sk", "So", "Cc", "Co", "Cf", "Cn", "Zs", "Zl", "Zp"),
    }
)
# It keeps what is Alphabetic; the alphabetic characters of the stripped categories are
# Unicode's Other_Alphabetic symbols (PropList.txt): circled and squared Latin letters.
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))
_ASCII_KEPT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_ ")


@lru_cache(maxsize=4096)
def _kept(char: str) -> bool:
    if char.isascii():
        return char in _ASCII_KEPT
    if unicodedata.category(char) not in _REMOVED:
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _ALPHABETIC_SYMBOLS)


def slug(value: str, *, maintain_case: bool = False) -> str:
    """github-slugger's ``slug(value)``: one slug, without de-duplication."""
    text = value if maintain_case else value.lower()
    return "".join(char for char in text if char == " " or _kept(char)).replace(" ", "-")


class GithubSlugger:
    """github-slugger's ``BananaSlug``: unique slugs for the headings of one page."""

    def __init__(self) -> None:
        self._occurrences: dict[str, int] = {}

    def slug(self, value: str, *, maintain_case: bool = False) -> str:
        """The slug of ``value``, made unique among the slugs this slugger gave."""
        result = original = slug(value, maintain_case=maintain_case)
        while result in self._occurrences:
            self._occurrences[original] += 1
            result = f"{original}-{self._occurrences[original]}"
        self._occurrences[result] = 0
        return result

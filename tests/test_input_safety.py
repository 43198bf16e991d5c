"""Hostile or odd input never leaks or loses content (issue 10, items 12 to 14).

Symlinks that leave a filesystem source's folder are never read, at listing or at read
time, and a page they leaked earlier leaves Fin; void elements (``<embed>``, ``<source>``
...) never swallow what follows them; deep nesting keeps every word. Real folders, real
parsers, the fake Intercom; scans over many shapes rather than one example.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.filesystem import FilesystemConnector, FilesystemSettings
from syncer.convert.source_file import Page, convert_file
from syncer.model import Document, Excluded, Failure, Fetched, Listing

SECRET = "SECRET-7f1e-do-not-publish"
OUTSIDE = "outside the source folder"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def link(at: Path, target: str | Path) -> None:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(target)


def connector(root: Path) -> FilesystemConnector:
    return FilesystemConnector(
        FilesystemSettings.model_validate({"name": "docs", "type": "filesystem", "path": root})
    )


def leaked(item: Fetched) -> bool:
    """Whether ``item`` carries anything read from outside the source folder."""
    if not isinstance(item, Document):
        return False
    return SECRET in item.html or SECRET in item.title or _passwd_line() in item.html


def _passwd_line() -> str:
    passwd = Path("/etc/passwd")
    first = passwd.read_text().splitlines()[0] if passwd.exists() else SECRET
    return first.split(":")[0] + ":x:0:0" if first.startswith("root:") else first


def reported_outside(listing: Listing, fetched: dict[str, Fetched], key: str) -> str:
    """The reason given for ``key``, which must say that it points outside the folder."""
    reasons = {f.key: f.message for f in listing.failures}
    item = fetched.get(key)
    if isinstance(item, Excluded):
        reasons[key] = item.reason
    elif isinstance(item, Failure):
        reasons[key] = item.message
    assert key in reasons, f"{key} is not reported"
    assert OUTSIDE in reasons[key], reasons[key]
    return reasons[key]


# ---- 13. void elements swallow nothing ----------------------------------------------

# Every element the HTML standard's parser treats as void (never has content).
VOID = (
    *("area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img"),
    *("input", "keygen", "link", "meta", "param", "source", "track", "wbr"),
)
FORMS = ("<{t}>", '<{t} src="x.pdf" title="a > b">', "<{t}/>", "<{T} SRC=x.pdf>", "<{t} />")


def _words(html: str) -> list[str]:
    return BeautifulSoup(html, "html.parser").get_text(" ").split()


def _html_file(body: str) -> str:
    return f"<html><head><title>G</title></head><body>{body}</body></html>"


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", VOID)
def test_a_void_element_never_swallows_what_follows(name: str, form: str) -> None:
    tag = form.format(t=name, T=name.upper())
    cases = {
        "a.md": f"# G\n\nIntro\n\n{tag}\n\n## Step 1\n\nDo this.\n",
        "b.md": f"# G\n\nIntro {tag} inline\n\n## Step 1\n\nDo this.\n",
        "c.md": f"# G\n\n- Intro {tag} inline\n- more\n\n## Step 1\n\nDo this.\n",
        "d.html": _html_file(f"<h1>G</h1><p>Intro</p>{tag}<h2>Step 1</h2><p>Do this.</p>"),
        "e.html": _html_file(f"<h1>G</h1><p>Intro {tag} inline</p><h2>Step 1</h2><p>Do this.</p>"),
        "f.html": _html_file(
            f"<main><h1>G</h1><div>Intro {tag}<h2>Step 1</h2>Do this.</div></main>"
        ),
    }
    for path, text in cases.items():
        page = convert_file(path, text.encode(), url_of=lambda _: None)
        assert isinstance(page, Page)
        words = _words(page.html)
        assert words[-3:] == ["1", "Do", "this."], (path, page.html)
        assert "<h2>Step 1</h2>" in page.html, (path, page.html)
        assert words[0] == "G"
        assert "Intro" in words


_WORD = st.from_regex(r"[a-z]{2,6}[0-9]{0,2}", fullmatch=True)
_BLOCK = st.one_of(
    st.lists(_WORD, min_size=1, max_size=5).map(lambda ws: ("text", " ".join(ws))),
    st.tuples(st.just("void"), st.sampled_from(VOID), st.sampled_from(FORMS)).map(
        lambda v: ("void", v[2].format(t=v[1], T=v[1].upper()))
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_BLOCK, min_size=1, max_size=12), st.booleans(), st.booleans())
def test_every_word_around_void_elements_arrives_in_order(
    blocks: list[tuple[str, str]], markdown: bool, inline: bool
) -> None:
    expected = [word for kind, text in blocks if kind == "text" for word in text.split()]
    if not expected:
        return
    glue = " " if inline else ("\n\n" if markdown else "")
    if markdown:
        source = glue.join(text for _, text in blocks) + "\n"
        path = "p.md"
    else:
        parts = [
            f"<p>{text}</p>" if kind == "text" and not inline else text for kind, text in blocks
        ]
        source = _html_file(glue.join(parts))
        path = "p.html"
    page = convert_file(path, source.encode(), url_of=lambda _: None)
    assert isinstance(page, Page)
    assert _words(page.html) == expected, (source, page.html)

"""Hostile or odd input never leaks or loses content (issue 10, items 12 to 14).

Symlinks that leave a filesystem source's folder are never read, at listing or at read
time, and a page they leaked earlier leaves Fin; void elements (``<embed>``, ``<source>``
...) never swallow what follows them; deep nesting keeps every word. Real folders, real
parsers, the fake Intercom; scans over many shapes rather than one example.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.cli import main
from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
from syncer.connectors.filesystem.reading import convert_bytes
from syncer.convert.source_file import Page, convert_file
from syncer.model import Document, Excluded, Failure, Fetched, Listing
from tests.conftest import Workspace

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


# ---- 12. symlinks that leave the source folder --------------------------------------

# Links out of the folder, as (where the link is, what it points to); ``{out}`` is a
# folder beside the source holding secret.md, ``{evil}`` one whose name starts with the
# source folder's own (a prefix test would take it for the inside).
OUTSIDE_FILE_LINKS = [
    ("passwd.md", "/etc/passwd"),
    ("absolute.md", "{out}/secret.md"),
    ("relative.md", "../out/secret.md"),
    ("sub/two-up.md", "../../out/secret.md"),
    ("sub/through-a-folder.md", "../sub/../../out/secret.md"),
    ("prefix.md", "{evil}/secret.md"),
    ("chain.md", "hops/hop.md"),  # an inside link to an outside link
    ("hops/hop.md", "{out}/secret.md"),
    ("text.txt", "{out}/secret.txt"),
    ("page.html", "{out}/secret.html"),
]
OUTSIDE_FOLDER_LINKS = [
    ("shared", "{out}"),
    ("sub/shared-relative", "../../out"),
    ("parent", ".."),
    ("sub/prefix", "{evil}"),
    ("etc", "/etc"),
]
# Links that stay inside: followed as before. (where, what to, expected title)
INSIDE_LINKS = [
    ("alias.md", "real.md", "Real"),
    ("sub/alias.md", "../real.md", "Real"),
    ("chain-in.md", "sub/alias.md", "Real"),
    ("round-trip.md", "../{root_name}/real.md", "Real"),
    ("mirror", "sub", None),
]


def _outside_world(tmp_path: Path) -> tuple[Path, Path, Path]:
    root = tmp_path / "docs"
    out = tmp_path / "out"
    evil = tmp_path / "docs-evil"
    for folder in (out, evil):
        write(folder / "secret.md", f"# {SECRET}\n\n{SECRET}\n")
        write(folder / "secret.txt", f"{SECRET}\n")
        write(folder / "secret.html", f"<title>{SECRET}</title><p>{SECRET}</p>")
        write(folder / "nested" / "deep.md", f"# {SECRET}\n")
    write(root / "real.md", "# Real\n\nInside.\n")
    write(root / "sub" / "inside.md", "# Inside sub\n")
    for where, target in OUTSIDE_FILE_LINKS + OUTSIDE_FOLDER_LINKS:
        link(root / where, target.format(out=out, evil=evil))
    for where, target, _ in INSIDE_LINKS:
        link(root / where, target.format(root_name=root.name))
    link(root / "loop", ".")
    return root, out, evil


@pytest.mark.parametrize("via_link", [False, True], ids=["root", "root-through-a-link"])
def test_no_symlink_reads_outside_the_source_folder(tmp_path: Path, via_link: bool) -> None:
    real_root, _, _ = _outside_world(tmp_path)
    root = real_root
    if via_link:
        root = tmp_path / "docs-link"
        link(root, real_root)
    conn = connector(root)
    listing = conn.list()
    fetched = {item.key: item for item in conn.fetch(listing.stubs)}

    assert [key for key, item in fetched.items() if leaked(item)] == []
    for where, _ in OUTSIDE_FILE_LINKS:
        reported_outside(listing, fetched, where)
    for where, _ in OUTSIDE_FOLDER_LINKS:
        reason = reported_outside(listing, fetched, where)
        assert "symlink" in reason
        assert not any(stub.key.startswith(where + "/") for stub in listing.stubs)
    # Links that stay inside are read as before, folder links included, loops reported.
    for where, _, title in INSIDE_LINKS:
        if title is not None:
            item = fetched[where]
            assert isinstance(item, Document), item
            assert item.title == title
    mirrored = fetched["mirror/inside.md"]
    assert isinstance(mirrored, Document)
    assert mirrored.title == "Inside sub"
    assert {f.key: f.message for f in listing.failures}["loop"].startswith("symlink loop")
    # A link out is a file that is not ours, not a folder that could not be read.
    assert listing.complete is True


def test_a_file_swapped_for_an_outside_link_after_listing_is_not_read(tmp_path: Path) -> None:
    """The check is made when reading, with the resolved path: the listing may be stale."""
    root, out, _ = _outside_world(tmp_path)
    write(root / "swapped.md", "# Swapped\n")
    write(root / "folder" / "secret.md", "# In the folder\n")
    write(root / "txt" / "secret.txt", "inside\n")
    conn = connector(root)
    stubs = {stub.key: stub for stub in conn.list().stubs}
    targets: dict[str, Callable[[], None]] = {
        "swapped.md": lambda: (root / "swapped.md").unlink(),
        "folder/secret.md": lambda: _rmtree(root / "folder"),
        "txt/secret.txt": lambda: _rmtree(root / "txt"),
    }
    for remove in targets.values():
        remove()
    link(root / "swapped.md", out / "secret.md")
    link(root / "folder", out)
    link(root / "txt", str(out))

    for key in targets:
        (item,) = conn.fetch([stubs[key]])
        assert not leaked(item), key
        assert not isinstance(item, Document), item
        reason = item.reason if isinstance(item, Excluded) else item.message
        assert OUTSIDE in reason, reason


def _rmtree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    folder.rmdir()


def _sync(space: Workspace, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    code = main(["--log-format", "json", "sync", "--json", "-c", str(space.config)])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["exit_code"] == code, err
    return report  # type: ignore[no-any-return]


def test_a_page_leaked_through_an_outside_link_leaves_fin(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The link's own page goes, other deletions still happen, nothing outside is sent."""
    out = tmp_path / "out"
    write(out / "secret.md", f"# {SECRET}\n\n{SECRET}\n")
    write(out / "more.md", f"# {SECRET}\n")
    for i in range(12):
        workspace.write(f"doc-{i}.md", f"# Doc {i}\n")
    workspace.write("guide.md", "# Guide\n")
    workspace.write("shared/page.md", "# Shared page\n")
    assert _sync(workspace, capsys)["exit_code"] == 0
    assert len(workspace.titles()) == 14

    # guide.md becomes a link out; shared/ a link to an outside folder; doc-0 is deleted.
    (workspace.docs / "guide.md").unlink()
    link(workspace.docs / "guide.md", out / "secret.md")
    _rmtree(workspace.docs / "shared")
    link(workspace.docs / "shared", out)
    link(workspace.docs / "fresh.md", out / "secret.md")  # never published: never is
    (workspace.docs / "doc-0.md").unlink()
    report = _sync(workspace, capsys)

    assert sorted(workspace.titles()) == sorted(f"doc-{i}.md" for i in range(1, 12))
    assert not any(SECRET in json.dumps(page) for page in workspace.fake.pages())
    source = report["sources"][0]
    said = json.dumps(source)
    for key in ("guide.md", "shared", "fresh.md"):
        assert key in said
    assert said.count(OUTSIDE) >= 3
    assert source["counts"]["deleted"] == 3  # doc-0, guide.md, shared/page.md

    # Nothing moved: nothing is sent again.
    mark = len(workspace.fake.calls)
    _sync(workspace, capsys)
    assert [call for call in workspace.fake.calls[mark:] if call.write] == []

    # The link pointed back inside: it is a document again.
    (workspace.docs / "guide.md").unlink()
    link(workspace.docs / "guide.md", "doc-1.md")
    _sync(workspace, capsys)
    assert workspace.titles()["guide.md"] == "Doc 1"


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
        # Markdown headings carry their GitHub slug as id (issue 11 #5); HTML's keep none.
        heading = '<h2 id="step-1">Step 1</h2>' if path.endswith(".md") else "<h2>Step 1</h2>"
        assert heading in page.html, (path, page.html)
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


# ---- 14. deep nesting keeps every word ----------------------------------------------

# q: block quote, u: bullet list, o: ordered list.
CONTAINERS = "quo"


def _markdown_nest(kinds: str) -> tuple[str, list[str]]:
    """Markdown nesting ``kinds`` outermost first, one word opening each level."""
    lines = []
    prefix = ""
    words = []
    for depth, kind in enumerate(kinds):
        word = f"w{depth}"
        words.append(word)
        opener = {"q": "> ", "u": "- ", "o": "1. "}[kind]
        lines.append(f"{prefix}{opener}{word}")
        prefix += {"q": "> ", "u": "  ", "o": "   "}[kind]
    return "\n".join(lines) + "\n", words


def _html_nest(kinds: str) -> tuple[str, list[str]]:
    opened = []
    words = []
    for depth, kind in enumerate(kinds):
        word = f"w{depth}"
        words.append(word)
        opened.append(
            {"q": f"<blockquote><p>{word}</p>", "u": f"<ul><li>{word}", "o": f"<ol><li>{word}"}[
                kind
            ]
        )
    closed = [
        "</blockquote>" if kind == "q" else "</li></ul>" if kind == "u" else "</li></ol>"
        for kind in reversed(kinds)
    ]
    return _html_file("".join(opened) + "".join(closed)), words


def _converted(path: str, text: str) -> Page:
    page = convert_file(path, text.encode(), url_of=lambda _: None)
    assert isinstance(page, Page)
    return page


SHAPES: dict[str, Callable[[int], str]] = {
    "lists": lambda depth: "u" * depth,
    "ordered": lambda depth: "o" * depth,
    "quotes": lambda depth: "q" * depth,
    "mixed": lambda depth: ("qu" * depth)[:depth],
    "mixed-ordered": lambda depth: ("uoq" * depth)[:depth],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_word_of_deep_nesting_arrives_in_order(shape: str) -> None:
    for depth in range(1, 61):
        kinds = SHAPES[shape](depth)
        for path, (text, words) in (("n.md", _markdown_nest(kinds)), ("n.html", _html_nest(kinds))):
            page = _converted(path, text)
            assert _words(page.html) == words, (shape, depth, path, page.html)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=CONTAINERS, min_size=1, max_size=80))
def test_any_nesting_keeps_every_word(kinds: str) -> None:
    for path, (text, words) in (("n.md", _markdown_nest(kinds)), ("n.html", _html_nest(kinds))):
        assert _words(_converted(path, text).html) == words, (kinds, path)


def test_a_nesting_cap_is_reported_and_its_content_flattened() -> None:
    """Below the cap a page has no note; past it the note says what was flattened."""
    for depth in range(1, 121, 7):
        for kinds in ("u" * depth, "q" * depth, ("qu" * depth)[:depth]):
            text, words = _markdown_nest(kinds)
            page = _converted("n.md", text)
            assert _words(page.html) == words
            levels = sum(2 if kind in "uo" else 1 for kind in kinds)
            if levels < 100:  # content at level 100 (the 50th list) is flattened
                assert page.notes == (), (kinds, page.notes)
            else:
                (note,) = page.notes
                assert "flattened" in note, note
                assert "100" in note, note
    # Connectors that read files learn the notes through convert_bytes.
    text, _ = _markdown_nest("u" * 70)
    notes: Counter[str] = Counter()
    item = convert_bytes("n.md", "1", text.encode(), url_of=lambda _: None, notes=notes)
    assert isinstance(item, Document)
    assert sum(notes.values()) == 1
    assert re.search(r"flattened", next(iter(notes)))


def test_a_flattened_nesting_is_reported_in_the_run_notes(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "".join("  " * n + f"- level {n}\n" for n in range(80))
    workspace.write("deep.md", "# Deep\n\n" + deep)
    workspace.write("flat.md", "# Flat\n\nNothing deep.\n")
    code = main(["--log-level", "error", "sync", "--json", "-c", str(workspace.config)])
    report = json.loads(capsys.readouterr().out)["sources"][0]
    assert code == 0
    notes = report["notes"]
    assert [name for name in notes if name.startswith("deep.md: ")], notes
    assert not [name for name in notes if name.startswith("flat.md")]
    html = {p["external_id"]: p["html"] for p in workspace.fake.pages()}["deep.md"]
    assert all(f"level {n}" in html for n in range(80))

"""The compiled include/exclude matcher answers as pathspec does, and lists what it listed.

``Patterns`` is checked against pathspec's ``GitIgnoreSpec`` (the reference it replaces)
over generated pattern lists and paths: negations, ``**`` anywhere, trailing and leading
slashes, dotfiles, wildcards, brackets, escapes, trailing spaces. The listing built on
it is checked against the listing as it was (``tests/pathspec_listing.py``, every
pattern checked by pathspec) over generated trees with nested ``.syncignore`` files and
links inside the tree: the same stubs, failures and completeness.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pathspec import GitIgnoreSpec

from syncer.connectors.filesystem.listing import Rules, list_folder
from syncer.connectors.filesystem.patterns import Patterns, compile_patterns
from syncer.connectors.filesystem.settings import DEFAULT_INCLUDE
from syncer.model import Listing
from tests import pathspec_listing
from tests.docs_trees import MKDOCS, REDUX, copy_tree, tree

# Names paths are made of, and pattern segments that match them or nearly do.
NAMES = ["a", "b", "docs", "guide", "x.md", "a.md", "b.txt", ".hidden", "a b", "md", "ab"]
SEGMENTS = [
    *NAMES,
    *("*", "**", "?", "*.md", "*.txt", "a*", "*b", "[ab]", "[!a]", "[a-c]*", "d?cs"),
    *("\\*", "a\\ ", ".*", "**.md", "[]a]", "x[", ""),
]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    body = "/".join(draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4)))
    if draw(st.booleans()):
        body += "/"
    if draw(st.integers(0, 5)) == 0:
        body = "/" + body
    if draw(st.integers(0, 5)) == 0:
        body += draw(st.sampled_from([" ", "  ", "\t"]))
    return ("!" if draw(st.integers(0, 2)) == 0 else "") + body


@st.composite
def paths(draw: st.DrawFn) -> str:
    path = "/".join(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5)))
    return path + draw(st.sampled_from(["", "", "", "/"]))


def spec_of(lines: list[str]) -> GitIgnoreSpec | None:
    try:
        return GitIgnoreSpec.from_lines(lines)
    except ValueError:  # pathspec refuses it (re.error is a ValueError too)
        return None


@settings(max_examples=600, deadline=None)
@given(st.lists(patterns(), max_size=8), st.lists(paths(), min_size=1, max_size=12))
def test_every_answer_is_pathspecs(lines: list[str], checked: list[str]) -> None:
    reference = spec_of(lines)
    if reference is None:
        return
    ours = Patterns(lines)
    assert len(ours) == len(reference)
    for path in checked:
        assert ours.check(path) == reference.check_file(path).include, (lines, path)
        assert ours.match_file(path) == reference.match_file(path), (lines, path)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(patterns(), min_size=1, max_size=6),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3),
    st.lists(paths(), min_size=1, max_size=12),
)
def test_folder_answers_hold_for_every_path_below(
    lines: list[str], folder_names: list[str], below: list[str]
) -> None:
    reference = spec_of(lines)
    if reference is None:
        return
    ours = Patterns(lines)
    folder = "/".join(folder_names)
    unreachable = not ours.may_match_under(folder)
    covered = ours.covers_all_under(folder)
    for tail in below:
        path = f"{folder}/{tail}"
        if unreachable:
            assert not reference.match_file(path), (lines, path)
        if covered:
            assert reference.check_file(path).include is True, (lines, path)


# Names a folder's files are asked by: NAMES, and ones pathspec treats specially (a
# newline, which its "$" and "." see; glob characters; a name that is an extension).
FILE_NAMES = [*NAMES, "a\nb", "x.md\n", "\n", "[ab]", "*", "a*", "?", "\\", ".md", "md.md"]


# Pattern lists like the usual include: endings and names at any depth, a folder.
USUAL = ["*.md", "**/*.md", "*.txt", "**/*.b", "x.md", "**/a.md", "docs/", "*.md/", "!a.md"]


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(st.lists(patterns(), max_size=8), st.lists(st.sampled_from(USUAL), max_size=4)),
    st.lists(st.sampled_from([*NAMES, "a\nb"]), max_size=3),
    st.lists(st.sampled_from(FILE_NAMES), min_size=1, max_size=12),
)
def test_a_folders_answers_are_pathspecs(
    lines: list[str], folder_names: list[str], names: list[str]
) -> None:
    """``in_folder(folder).check(name)`` is pathspec's answer for ``folder/name``."""
    reference = spec_of(lines)
    if reference is None:
        return
    folder = "/".join(folder_names)
    here = Patterns(lines).in_folder(folder)
    for name in names:
        path = f"{folder}/{name}" if folder else name
        expected = reference.check_file(path).include
        assert here.check(name) == expected, (lines, path)
        # What the listing asks instead of `check`, when a folder offers it.
        if here.endings is not None and "\n" not in name:
            assert name.endswith(here.endings) == bool(expected), (lines, path)
        if here.silent:
            assert expected is None, (lines, path)


def test_folder_answers_by_name() -> None:
    """The cases each shortcut of `FolderPatterns` takes, one by one."""
    cases: dict[tuple[str, ...], dict[str, dict[str, bool | None]]] = {
        # A suffix, a name, a segment regex; the same verdict throughout.
        ("*.md", "README", "a?c"): {
            "": {"x.md": True, "README": True, "abc": True, "x.txt": None, ".md": True},
            "docs/x.md": {"y.txt": True},  # a folder above matched: every name
            "README/docs": {"y.txt": True},
        },
        # A folder-only pattern decides below its folder, never a file of that name.
        ("build/",): {"": {"build": None}, "src/build": {"x": True}, "src": {"x": None}},
        # Anchored patterns out of reach are left out; the one in reach is searched.
        ("/docs/*.md", "src/**"): {
            "": {"docs": None, "x.md": None},
            "docs": {"x.md": True, "x.txt": None},
            "docs/deep": {"x.md": None},
            "src/deep": {"x": True},
            "other": {"x.md": None},
        },
        ("a/b",): {"": {"a": None}, "a": {"b": True, "c": None}, "a/b": {"c": True}},
        # Mixed verdicts: the last pattern matching the path itself decides, else the
        # last matching a folder above it.
        ("*.md", "!keep.md", "docs/"): {
            "docs": {"keep.md": False, "x.md": True, "x.txt": True},
            "": {"keep.md": False, "x.md": True, "x.txt": None},
        },
        ("!foo/bar", "foo/"): {"foo": {"bar": False, "baz": True}},
        # Newlines: pathspec's "$" matches before a final one, "." matches none (so
        # "**/" cannot reach past one).
        ("*.md",): {"": {"x.md\n": True, "x.md\nx": None}, "a\nb": {"x.md": None}},
        ("**",): {"": {"x": True, "\n": None}, "a\nb": {"x": True}},
    }
    for lines, folders in cases.items():
        reference, ours = GitIgnoreSpec.from_lines(lines), Patterns(lines)
        for folder, answers in folders.items():
            here = ours.in_folder(folder)
            for name, expected in answers.items():
                path = f"{folder}/{name}" if folder else name
                assert reference.check_file(path).include == expected, (lines, path)
                assert here.check(name) == expected, (lines, path)


def test_pathspec_cases_by_name() -> None:
    cases = {
        # A file-level match of an earlier pattern beats a later folder-level one.
        ("!foo/bar", "foo/"): {"foo/bar": False, "foo/baz": True, "foo": None},
        ("docs/**", "!docs/keep.md"): {"docs/keep.md": False, "docs/a.md": True},
        ("*", "!*.md"): {"a.md": False, "a/b.md": False, "a/b.txt": True},
        ("**/", "!a"): {"a": False, "b/c": True, "c": None},
        ("foo[!a]",): {"foo/": True, "foo/x.md": None, "foob": True},
        ("a\\ ",): {"a ": True, "a": None},
        ("/a/b", "a/**/b"): {"a/b": True, "a/x/y/b/c": True, "x/a/b": None},
    }
    for lines, answers in cases.items():
        reference, ours = GitIgnoreSpec.from_lines(lines), Patterns(lines)
        for path, expected in answers.items():
            assert reference.check_file(path).include == expected, (lines, path)
            assert ours.check(path) == expected, (lines, path)


def test_reaching_a_folder() -> None:
    include = Patterns(["docs/guide/**/*.md", "!src/**", "/notes/*.txt"])
    assert include.may_match_under("docs")
    assert include.may_match_under("docs/guide/deep")
    assert include.may_match_under("notes")
    assert not include.may_match_under("src")  # only a !pattern reaches it
    assert not include.may_match_under("docs/other")
    assert not include.may_match_under("notes-old")
    assert Patterns(["**/*.md"]).may_match_under("anything/at/all")
    assert Patterns(["guide/"]).may_match_under("x")  # one segment: at any depth
    exclude = Patterns(["build/", "vendor/**", "!docs/keep.md"])
    assert exclude.covers_all_under("build")
    assert exclude.covers_all_under("vendor/lib")
    assert not exclude.covers_all_under("docs")
    assert not Patterns(["build/", "!**/keep.md"]).covers_all_under("build")


# -- the listing ---------------------------------------------------------------------


@st.composite
def trees(draw: st.DrawFn) -> dict[str, str]:
    """Relative path -> what it is: "file", "dir", a .syncignore's text, or "link:TARGET"."""
    tree: dict[str, str] = {}
    for _ in range(draw(st.integers(1, 25))):
        parts = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4))
        path = "/".join(parts)
        if any(
            existing.startswith(path + "/") or path.startswith(existing + "/")
            for existing, kind in tree.items()
            if kind == "file"
        ):
            continue
        tree.setdefault(path, "file")
    folders = sorted({p.rsplit("/", 1)[0] for p in tree if "/" in p} | {""})
    for folder in draw(st.lists(st.sampled_from(folders), max_size=3, unique=True)):
        lines = draw(st.lists(patterns(), min_size=1, max_size=4))
        if spec_of(lines) is not None:
            tree[f"{folder}/.syncignore" if folder else ".syncignore"] = "\n".join(lines)
    # Links inside the tree: to files, and to one folder that is not above the link (a
    # loop fails the listing on purpose, and a folder that is not entered hides it).
    files = [p for p, kind in tree.items() if kind == "file"]
    targets = [*files, draw(st.sampled_from(folders))]
    for n, folder in enumerate(draw(st.lists(st.sampled_from(folders), max_size=3))):
        target = draw(st.sampled_from(targets))
        name = f"{folder}/link{n}" if folder else f"link{n}"
        if target and target not in files and (folder + "/").startswith(target + "/"):
            continue
        if target and name not in tree:
            tree[name] = f"link:{target}"
            if target not in files:
                targets = files
    return tree


def build(root: Path, tree: dict[str, str]) -> None:
    for path, kind in sorted(tree.items(), key=lambda item: item[1].startswith("link:")):
        where = root / path
        where.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            where.write_text(path)
        elif kind.startswith("link:"):
            target = root / kind.removeprefix("link:")
            where.symlink_to(os.path.relpath(target, where.parent))
        else:
            where.write_text(kind)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    trees(),
    st.lists(patterns(), min_size=1, max_size=4),
    st.lists(patterns(), max_size=4),
)
def test_the_listing_is_the_listing_pathspec_gave(
    tree: dict[str, str], include: list[str], exclude: list[str]
) -> None:
    if spec_of(include) is None or spec_of(exclude) is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, tree)
        reference = pathspec_listing.list_folder(
            root,
            pathspec_listing.Rules(
                GitIgnoreSpec.from_lines(include), GitIgnoreSpec.from_lines(exclude)
            ),
        )
        ours = list_folder(root, Rules(compile_patterns(include), compile_patterns(exclude)))
    assert walked(ours) == reference, (tree, include, exclude)


@pytest.mark.parametrize(
    ("include", "exclude"),
    [
        (["**/*.md"], []),
        (["docs/**/*.md", "notes/*.txt"], []),
        (["**/*.md"], ["build/", "vendor/**", "!docs/keep.md"]),
        (["**/*.md", "!drafts/**"], ["*.txt", "!a/**"]),
    ],
)
def test_a_larger_tree_lists_the_same(
    tmp_path: Path, include: list[str], exclude: list[str]
) -> None:
    for top in ("docs", "notes", "build", "vendor", "drafts", "src", "a"):
        for n in range(30):
            for name in (f"{n}.md", f"{n}.txt", "keep.md"):
                (tmp_path / top / f"d{n % 4}").mkdir(parents=True, exist_ok=True)
                (tmp_path / top / f"d{n % 4}" / name).write_text(name)
    (tmp_path / "docs" / ".syncignore").write_text("d1/\n!d1/keep.md\n")
    (tmp_path / "src" / "d2" / ".syncignore").write_text("*.md\n")
    reference = pathspec_listing.list_folder(
        tmp_path,
        pathspec_listing.Rules(
            GitIgnoreSpec.from_lines(include), GitIgnoreSpec.from_lines(exclude)
        ),
    )
    ours = list_folder(tmp_path, Rules(compile_patterns(include), compile_patterns(exclude)))
    assert walked(ours) == reference
    assert ours.stubs


def test_names_with_a_newline_are_listed_as_pathspec_lists_them(tmp_path: Path) -> None:
    """pathspec's "$" matches before a last newline: "a.md\\n" is a "*.md" file."""
    for folder in ("", "docs", "a\nb"):
        for name in ("a.md", "a.md\n", "a.md\nb", "\n.md"):
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / name).write_text(name)
    for include, exclude in ((["*.md"], []), (["**/*.md"], ["docs/*.md"]), (["*"], ["*.md"])):
        reference = pathspec_listing.list_folder(
            tmp_path,
            pathspec_listing.Rules(
                GitIgnoreSpec.from_lines(include), GitIgnoreSpec.from_lines(exclude)
            ),
        )
        rules = Rules(compile_patterns(include), compile_patterns(exclude))
        assert walked(list_folder(tmp_path, rules)) == reference, (include, exclude)
    listed = list_folder(tmp_path, Rules(compile_patterns(["*.md"]), compile_patterns([])))
    assert "docs/a.md\n" in {stub.key for stub in listed.stubs}


def test_a_folder_no_include_reaches_is_not_entered(tmp_path: Path) -> None:
    """What is wrong inside it cannot hold back deletes: nothing there could be listed."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n")
    private = tmp_path / "src" / "private"
    private.mkdir(parents=True)
    (tmp_path / "src" / "loop").symlink_to(".")
    private.chmod(0)
    try:
        rules = Rules(compile_patterns(["docs/**/*.md"]), compile_patterns([]))
        listing = list_folder(tmp_path, rules)
        everything = list_folder(tmp_path, Rules(compile_patterns(["**/*.md"]), rules.exclude))
    finally:
        private.chmod(0o755)
    assert [stub.key for stub in listing.stubs] == ["docs/a.md"]
    assert listing.complete
    assert listing.failures == ()
    if os.geteuid() != 0:  # root reads any folder
        assert not everything.complete
    assert "src/loop" in {failure.key for failure in everything.failures}


# -- the real trees ------------------------------------------------------------------

# Pattern sets a docs site would use, over both trees' own folders and files.
CORPUS_RULES = [
    (list(DEFAULT_INCLUDE), []),
    (["**/*.md"], ["blog/", "**/assets/**", "!**/index.md"]),
    (["docs/**/*.md", "docs/**/*.mdx", "website/*"], ["*.json", "/docs/api/"]),
    (["**/*.md", "!**/changelog/**", "includes/"], ["**/[a-c]*.md", "**/*-*/"]),
    (["*"], ["*.png", "!**/images/logo*.png", "docs/schema/**"]),
    (["docs/*/*.md", "/mkdocs.yml", "**/README*"], ["!docs/blog/", "*.yml"]),
    (["**/tutorials/**", "**/faq/*"], ["**/essentials/part-?-*.md", "**/*\\ *"]),
]


def corpus_paths(root: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Every folder (with "/" after it) and file under ``root``, relative; and the names
    of the files in each folder ('' for the root)."""
    paths: list[str] = []
    files: dict[str, list[str]] = {}
    for folder, dirs, names in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        rel = "" if rel == "." else rel
        paths.extend(f"{rel}/{name}/" if rel else f"{name}/" for name in dirs)
        paths.extend(f"{rel}/{name}" if rel else name for name in names)
        files[rel] = names
    return paths, files


def assert_corpus_answers(root: Path, include: list[str], exclude: list[str]) -> None:
    """Every path of the tree answered as pathspec answers it, and the tree listed as
    the listing checking each pattern with pathspec lists it."""
    paths, files = corpus_paths(root)
    for lines in (include, exclude):
        reference, ours = GitIgnoreSpec.from_lines(lines), Patterns(lines)
        for path in paths:
            assert ours.check(path) == reference.check_file(path).include, (lines, path)
        for folder, names in files.items():
            here = ours.in_folder(folder)
            for name in names:
                path = f"{folder}/{name}" if folder else name
                assert here.check(name) == reference.check_file(path).include, (lines, path)
    expected = pathspec_listing.list_folder(
        root,
        pathspec_listing.Rules(
            GitIgnoreSpec.from_lines(include), GitIgnoreSpec.from_lines(exclude)
        ),
    )
    listing = list_folder(root, Rules(compile_patterns(include), compile_patterns(exclude)))
    assert walked(listing) == expected, (root.name, include, exclude)


@pytest.mark.parametrize("corpus", [MKDOCS, REDUX], ids=["mkdocs-material", "redux"])
@pytest.mark.parametrize(("include", "exclude"), CORPUS_RULES)
def test_the_real_trees_answer_as_pathspec(
    corpus: Path, include: list[str], exclude: list[str]
) -> None:
    assert_corpus_answers(tree(corpus), include, exclude)


def corpus_segments(root: Path) -> list[str]:
    """Pattern segments made of the tree's own names: each name, its extension as
    ``*.ext``, its first letters with a ``*``, its first letter as a ``?``."""
    paths, _ = corpus_paths(root)
    names = sorted({part for path in paths for part in path.split("/") if part})
    segments = {"*", "**"}
    for name in names:
        stem, dot, extension = name.rpartition(".")
        segments |= {name, f"{name[:3]}*", f"?{name[1:]}"}
        if dot and stem:
            segments.add(f"*.{extension}")
    return sorted(segments)


@st.composite
def corpus_patterns(draw: st.DrawFn, segments: list[str]) -> str:
    body = "/".join(draw(st.lists(st.sampled_from(segments), min_size=1, max_size=3)))
    if draw(st.integers(0, 3)) == 0:
        body += "/"
    if draw(st.integers(0, 3)) == 0:
        body = "/" + body
    return ("!" if draw(st.integers(0, 3)) == 0 else "") + body


@pytest.mark.parametrize("corpus", [MKDOCS, REDUX], ids=["mkdocs-material", "redux"])
def test_the_real_trees_under_patterns_of_their_own_names(corpus: Path) -> None:
    root = tree(corpus)
    segments = corpus_segments(root)

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(corpus_patterns(segments), min_size=1, max_size=6),
        st.lists(corpus_patterns(segments), max_size=4),
    )
    def answers_as_pathspec(include: list[str], exclude: list[str]) -> None:
        if spec_of(include) is None or spec_of(exclude) is None:
            return
        assert_corpus_answers(root, include, exclude)

    answers_as_pathspec()


# .syncignore files a docs tree might hold, by folder (written into a copy of the tree).
CORPUS_IGNORES = {
    "": "*.json\n!docs/api/\n/LICENSE*\n",
    "docs": "blog/posts/\n!blog/posts/zensical/*.md\nassets/\n*.mdx\n",
    "docs/tutorials": "*\n!essentials/\n!*.md\nfundamentals/part-[1-4]*\n",
    "docs/setup": "\\#*\nextensions/*.md\n!extensions/index.md\n",
}


@pytest.mark.parametrize("corpus", [MKDOCS, REDUX], ids=["mkdocs-material", "redux"])
@pytest.mark.parametrize(("include", "exclude"), CORPUS_RULES[:4])
def test_the_real_trees_with_syncignore_files(
    corpus: Path, include: list[str], exclude: list[str], tmp_path: Path
) -> None:
    root = copy_tree(corpus, tmp_path / corpus.name)
    for folder, text in CORPUS_IGNORES.items():
        for top in (root, *root.iterdir()):
            if (top / folder).is_dir():
                (top / folder / ".syncignore").write_text(text)
    assert_corpus_answers(root, include, exclude)


_LIST_ONLY = """
import json, sys
from pathlib import Path
from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
source = FilesystemSettings(name="docs", type="filesystem", path=Path(sys.argv[1]))
connector = FilesystemConnector(source)
listing = connector.list()
list(connector.fetch(()))  # what a sync with nothing to read asks
print(json.dumps({"stubs": len(listing.stubs), "modules": sorted(sys.modules)}))
"""


def test_a_listing_imports_no_converter(tmp_path: Path) -> None:
    """A sync with nothing to read lists and fetches nothing: the reading and converting
    modules (most of the connector's imports) stay unimported."""
    (tmp_path / "a.md").write_text("# A\n")
    done = subprocess.run(
        [sys.executable, "-c", _LIST_ONLY, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["stubs"] == 1
    readers = {
        "syncer.connectors.filesystem.reading",
        "syncer.convert.documents.files",
        "syncer.convert.html",
    }
    assert readers.isdisjoint(result["modules"]), readers & set(result["modules"])


def walked(listing: Listing) -> Listing:
    """``listing`` as the reference walk makes it: what it lists and fails, without the
    count of files ``exclude:`` dropped, which the reference does not keep
    (``tests/test_counts.py`` holds that count)."""
    return dataclasses.replace(listing, left_out=0)

"""The layout's promises, read from the source: which package may import which.

The core (``syncer``) never imports a connector (the registry names them as strings);
connectors import only the core and themselves; the pure middle (model, plan, hashing,
identity, the converters) imports no I/O part (run, store, intercom, http, daemon).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "syncer"
CONNECTORS = ROOT / "connectors"

# Packages of the installed tree that are links to top-level folders.
LINKED = {"connectors", "migrations"}
# A connector may build on another only where this says so: git reads the files of a
# tree as the filesystem connector does (patterns, page urls, conversion).
BUILDS_ON = {"git": {"filesystem"}}
IO_PARTS = ("syncer.run", "syncer.store", "syncer.intercom", "syncer.http", "syncer.daemon")
PURE = ["model.py", "plan.py", "hashing.py", "identity.py", "convert"]


def modules(root: Path, skip: frozenset[str] = frozenset()) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if skip & set(path.relative_to(root).parts):
            continue
        yield path


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports (absolute names; relative ones resolved)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            yield node.lineno, name


def test_the_core_imports_no_connector_and_no_migration() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in modules(CORE, frozenset(LINKED))
        for line, name in imported(path)
        if name.split(".")[:2] in (["syncer", "connectors"], ["syncer", "migrations"])
        or name.split(".")[0] in LINKED
    ]
    assert found == []


def test_connectors_import_only_the_core_and_themselves() -> None:
    found = []
    for path in modules(CONNECTORS):
        own = path.relative_to(CONNECTORS).parts[0]
        for line, name in imported(path):
            parts = name.split(".")
            if parts[0] in ("tests", "bench", *LINKED):
                found.append(f"{path.relative_to(ROOT)}:{line}: {name}")
            elif (
                parts[:2] == ["syncer", "connectors"]
                and len(parts) > 2
                and parts[2] != own
                and parts[2] not in BUILDS_ON.get(own, set())
            ):
                found.append(f"{path.relative_to(ROOT)}:{line}: {name} (another connector)")
            elif parts[:2] == ["syncer", "daemon"] or parts[:2] == ["syncer", "run"]:
                found.append(f"{path.relative_to(ROOT)}:{line}: {name} (the sequencer)")
    assert found == []


def test_the_pure_middle_imports_no_io_part() -> None:
    paths = [
        path
        for name in PURE
        for path in ([CORE / name] if name.endswith(".py") else modules(CORE / name))
    ]
    assert len(paths) > len(PURE)
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in paths
        for line, name in imported(path)
        if any(name == part or name.startswith(part + ".") for part in IO_PARTS)
    ]
    assert found == []


def test_the_linked_packages_are_links_to_the_top_level_folders() -> None:
    for name in LINKED:
        link = CORE / name
        assert link.is_symlink(), link
        assert link.resolve() == (ROOT / name).resolve()

"""Each command imports only what it uses: start-up time is most of a short command.

Every check runs the real command line in a fresh interpreter and reads ``sys.modules``
afterwards. ``syncer --help`` imports no database, HTTP, validation or terminal library
(nor procrastinate, the task engine); ``validate`` opens no database and calls no one,
even for a config whose daemon defers to the engine; a sync that finds nothing to do
migrates nothing (no Alembic), draws nothing (no rich, stderr is not a terminal) and
loads none of the generated Intercom API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Workspace

# What no command but the ones that need them may import, by top-level package.
DATABASE = {"sqlalchemy", "alembic", "psycopg", "procrastinate"}
HTTP = {"httpx", "httpcore", "anyio"}
TERMINAL = {"rich", "pygments"}
# The Intercom API generated from the spec: models, request models, every operation.
GENERATED_API = {
    "syncer.intercom.api.models",
    "syncer.intercom.api.request_models",
    "syncer.intercom.api.operations",
}

# What a sync with nothing to do never needs: it lists and compares, converts nothing.
NOOP_UNUSED = {
    "lxml",  # the Office documents' XML (detect, docx)
    "syncer.convert.site",  # the flavours' Site (the render stamp is syncer.convert.stamp)
    "syncer.connectors.filesystem.site_files",
    "html.parser",
    # The daemon's and the engine's tables (the store names them lazily).
    "syncer.store.daemon_state",
    "syncer.store.jobs",
    "syncer.store.triggers",
}

_PROBE = """
import json, sys
from syncer.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def imported_by(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules ``syncer ARGV...`` imported (it must exit 0), by full dotted name."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0, done.stderr
    return set(result["modules"])


def packages(modules: set[str]) -> set[str]:
    return {module.split(".")[0] for module in modules}


def test_help_imports_nothing_heavy() -> None:
    modules = imported_by("--help")
    heavy = DATABASE | HTTP | TERMINAL | {"pydantic", "structlog", "yaml", "pathspec"}
    assert packages(modules) & heavy == set()
    assert not {m for m in modules if m.startswith(("syncer.connectors.", "syncer.intercom."))} - {
        "syncer.intercom.cli"
    }
    # Third-party connector types are looked up only for a command syncer does not know.
    assert "importlib.metadata" not in modules


def test_validate_opens_no_database_and_calls_no_one(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    config = tmp_path / "syncer.yaml"
    config.write_text(
        "intercom:\n  token: t\n"
        "store:\n  url: postgresql+psycopg://syncer@db.example.com:5432/syncer\n"
        "daemon:\n  engine: procrastinate\n"
        "sources:\n  - name: docs\n    type: filesystem\n    path: docs\n"
        "    url: https://docs.example.com/\n"
    )
    modules = imported_by("validate", "-c", str(config))
    assert packages(modules) & (DATABASE | HTTP | TERMINAL | {"apscheduler"}) == set()
    assert modules & GENERATED_API == set()
    assert "syncer.store" not in modules


def test_a_sync_with_nothing_to_do_migrates_nothing_and_draws_nothing(
    workspace: Workspace,
) -> None:
    workspace.write("guide/a.md", "# A\n\nWords.\n")
    workspace.write("b.md", "# B\n\nMore words.\n")
    first = imported_by("sync", "-c", str(workspace.config))
    assert "alembic" in packages(first)  # the SQLite store was created: migrated
    modules = imported_by("sync", "-c", str(workspace.config))
    assert packages(modules) & ({"alembic", "mako"} | TERMINAL) == set()
    assert modules & {"syncer.intercom.api.models", "syncer.intercom.api.request_models"} == set()
    assert (modules | packages(modules)) & NOOP_UNUSED == set()
    assert len(workspace.fake.pages()) == 2


_COUNTING_PROBE = """
import json, sys
from syncer import registry
from syncer.cli import main
from syncer.store import migrate
code = main(sys.argv[1:])
print(json.dumps({"code": code, "plugins_read": registry._plugins.cache_info().misses,
                  "heads_read": migrate.head.cache_info().misses}))
"""


def test_a_sync_of_built_in_types_reads_no_plugin_metadata_and_the_head_once(
    workspace: Workspace,
) -> None:
    """Entry points are every installed package's metadata read: only a ``type:`` that is
    not built in needs them. The migrations' head is read from their scripts once."""
    workspace.write("a.md", "# A\n\nWords.\n")
    for _ in range(2):  # the first creates the store, the second finds nothing to do
        done = subprocess.run(
            [sys.executable, "-c", _COUNTING_PROBE, "sync", "-c", str(workspace.config)],
            capture_output=True,
            text=True,
            check=False,
        )
        result = json.loads(done.stdout.splitlines()[-1])
        assert result == {"code": 0, "plugins_read": 0, "heads_read": 1}, done.stderr


def test_json_logs_need_no_rich_and_a_console_later_gets_it_back() -> None:
    probe = """
import io, json, sys
from syncer import logs
logs.configure(json=True, stream=io.StringIO())
without = "rich" in sys.modules
import structlog
logs.configure(json=False, stream=io.StringIO())
print(json.dumps([without, "rich" in sys.modules,
                  structlog.dev.default_exception_formatter is structlog.dev.rich_traceback]))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, True, True]

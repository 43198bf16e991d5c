"""What a new user meets first: logging options before or after the command, ``-v``/``-q``,
a reader that goes away (``syncer api --list | head``), and help for every option."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer import registry
from syncer.cli import _parser, main
from tests.conftest import Workspace


def events(err: str) -> list[dict[str, object]]:
    """The JSON log lines of ``err``."""
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def logged(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, [str(e["event"]) for e in events(err)], err


@pytest.mark.parametrize(
    ("options", "info_shown"),
    [
        ((), True),
        (("--log-level", "warning"), False),
        (("-q",), False),
        (("--log-level", "error", "-v", "-v"), True),
    ],
)
def test_log_options_work_before_and_after_the_command(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    info_shown: bool,
) -> None:
    workspace.write("a.md", "# A\n")
    command = ("sync", "--dry-run", "-c", str(workspace.config))
    for argv in (
        ("--log-format", "json", *options, *command),
        (*command, "--log-format", "json", *options),
    ):
        code, shown, _ = logged(capsys, *argv)
        assert code == 0, argv
        assert ("source_listed" in shown) is info_shown, argv


def test_a_command_option_wins_and_verbosity_adds_up(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.write("a.md", "# A\n")
    config = ("-c", str(workspace.config))
    _, shown, _ = logged(
        capsys, "--log-level", "debug", "sync", "--dry-run", *config, "--log-level", "warning"
    )
    assert "source_listed" not in shown
    # -q before the command and -v after it cancel out: info again.
    _, shown, _ = logged(capsys, "-q", "--log-format", "json", "sync", "--dry-run", *config, "-v")
    assert "source_listed" in shown
    _, shown, _ = logged(capsys, "-qq", "sync", "--dry-run", "--log-format", "json", *config)
    assert shown == []


def test_the_log_format_after_the_command_is_used(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.write("a.md", "# A\n")
    code, _, err = logged(capsys, "sync", "--dry-run", "-c", str(workspace.config))
    assert code == 0
    assert events(err)  # not a terminal: JSON lines
    code, _, err = logged(
        capsys, "sync", "--dry-run", "-c", str(workspace.config), "--log-format", "console"
    )
    assert code == 0
    assert "source_listed" in err
    assert events(err) == []


def test_a_connector_command_takes_the_log_options_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `syncer confluence -q`: the -q is ours; the connector's parser sees no options, so
    # it shows its commands (exit 2) rather than calling -q an unrecognised argument.
    assert main(["confluence", "-q"]) == 2
    err = capsys.readouterr().err
    assert "confluence commands" in err
    assert "unrecognized" not in err


# -- a reader that goes away ------------------------------------------------------------


def closed_pipe_run(*argv: str, stderr_too: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``syncer ARGV`` with its stdout (and stderr) a pipe whose reader is gone."""
    read, write = os.pipe()
    os.close(read)  # every write the command makes meets a closed pipe, deterministically
    try:
        return subprocess.run(
            [sys.executable, "-m", "syncer", *argv],
            stdout=write,
            stderr=write if stderr_too else subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        os.close(write)


def test_api_list_into_a_closed_pipe_exits_quietly() -> None:
    done = closed_pipe_run("api", "--list")
    assert done.stderr == ""
    assert done.returncode == 0


def test_a_sync_into_a_closed_pipe_keeps_its_own_exit_code(workspace: Workspace) -> None:
    for i in range(4):
        workspace.write(f"p{i}.md", f"# P{i}\n")
    assert main(["--log-level", "error", "sync", "-c", str(workspace.config)]) == 0
    for path in workspace.docs.iterdir():
        path.unlink()
    done = closed_pipe_run("sync", "-c", str(workspace.config), "-q")
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.returncode == 3  # the guard held the deletes back, as it would on a terminal
    assert len(workspace.fake.pages()) == 4
    # Logs and the report both into the closed pipe: still the command's own code.
    assert closed_pipe_run("sync", "-c", str(workspace.config), stderr_too=True).returncode == 3


def test_head_of_api_list_in_a_shell() -> None:
    done = subprocess.run(  # noqa: S602  # the very pipeline a user types
        f"'{sys.executable}' -m syncer api --list | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
        executable="/bin/bash",
    )
    assert len(done.stdout.splitlines()) == 1
    assert done.stderr == ""


# -- help -----------------------------------------------------------------------------


def parsers(
    parser: argparse.ArgumentParser, name: str = "syncer"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the command line with its command, connector commands included."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                if sub.get_default("connector_type"):
                    continue  # a connector type's own parser: below
                yield from parsers(sub, f"{name} {sub_name}")
    if name == "syncer":
        for kind in registry.available():
            for command in registry.get(kind).commands:
                sub = argparse.ArgumentParser(prog=f"syncer {kind} {command.name}")
                command.arguments(sub)
                yield sub.prog, sub


def test_every_option_and_command_has_help() -> None:
    missing = []
    for name, parser in parsers(_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{name} {c.dest}" for c in action._choices_actions if not c.help]
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_help_gives_the_exit_codes_and_what_db_and_config_commands_do() -> None:
    def help_of(*argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "syncer", *argv, "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def words(text: str) -> str:
        return " ".join(text.split())

    top = help_of()
    for code in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert f"\n  {code}" in top.split("exit codes:")[1]
    assert "Ctrl-C" in top
    assert "--allow-mass-delete" in top
    sync = help_of("sync")
    assert "exit codes:" in sync
    assert "-v, --verbose" in sync
    upgrade = help_of("db", "upgrade")
    assert "once per release for a Postgres store" in words(upgrade)
    schema = help_of("config", "schema")
    assert "JSON Schema (2020-12) of syncer.yaml" in words(schema)


def test_help_stays_cheap(tmp_path: Path) -> None:
    # The logging options on every command must not make --help import logging.
    probe = (
        "import sys\nfrom syncer.cli import main\ntry:\n    main(['sync', '--help'])\n"
        "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.split('.')[0]"
        " in {'structlog', 'pydantic', 'yaml'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.splitlines()[-1] == "[]"

"""Config loading: the happy path, inheritance, secrets, the schema, and a catalogue of
bad configs (``tests/configs/bad/``), each ending in comments that say what ``syncer
validate`` must report: ``# expect: <text>`` lines and ``# problems: N``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from syncer.cli import main
from syncer.config import loader
from syncer.errors import ConfigError

HERE = Path(__file__).parent
REPO = HERE.parent
BAD = sorted((HERE / "configs" / "bad").glob("*.yaml"))


def expectations(path: Path) -> tuple[list[str], int]:
    text = path.read_text()
    expects = re.findall(r"^# expect: (.*)$", text, flags=re.MULTILINE)
    count = int(re.search(r"^# problems: (\d+)$", text, flags=re.MULTILINE)[1])  # type: ignore[index]
    return expects, count


def test_the_catalogue_is_big_enough() -> None:
    assert len(BAD) >= 25


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_is_reported_precisely(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCER_TEST_MISSING", raising=False)
    expects, count = expectations(path)
    assert main(["validate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    problem_lines = [line for line in err.splitlines() if line.startswith(f"{path}:")]
    # One line per problem, plus the summary line.
    assert len(problem_lines) == count + 1, err
    for expect in expects:
        assert expect in err, f"{expect!r} not in:\n{err}"
    for line in problem_lines[:-1]:
        # file:line: key.path: message (a YAML error may lack the key path)
        assert re.match(rf"{re.escape(str(path))}(:\d+)?: ", line), line


def test_validate_runs_as_a_process_without_traceback(tmp_path: Path) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text("intercom:\n  regin: eu\n")
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "validate", "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "did you mean 'region'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_example_configs_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCOM_TOKEN", "tok")
    for path in [REPO / "config" / "example.yaml", REPO / "examples" / "demo.yaml"]:
        settings = loader.load(path)
        assert settings.sources, path


def test_defaults_are_inherited_and_overridden(tmp_path: Path) -> None:
    text = """
defaults:
  schedule: every 15m
  ai_copilot_availability: false
  max_delete_fraction: 0.5
sources:
  - name: a
    type: filesystem
    path: .
  - name: b
    type: filesystem
    path: .
    schedule: "*/10 * * * *"
    max_delete_fraction: 0.1
"""
    settings = loader.loads(text, base_dir=tmp_path, env={})
    a, b = settings.sources
    assert str(a.schedule) == "every 15m"
    assert a.schedule.interval is not None
    assert a.schedule.interval.total_seconds() == 900
    assert a.ai_copilot_availability is False
    assert a.max_delete_fraction == 0.5
    assert b.schedule.cron == "*/10 * * * *"
    assert b.ai_copilot_availability is False
    assert b.max_delete_fraction == 0.1


def test_variables_expand_with_defaults_and_escapes(tmp_path: Path) -> None:
    text = """
intercom:
  token: ${TOKEN}
  base_url: ${BASE:-http://127.0.0.1:9999}
sources:
  - name: a
    type: filesystem
    path: .
    page_url: "https://x.example/$${path}"
"""
    settings = loader.loads(text, base_dir=tmp_path, env={"TOKEN": "s3cret-value"})
    assert settings.intercom.token is not None
    assert settings.intercom.token.get_secret_value() == "s3cret-value"
    assert settings.intercom.base_url == "http://127.0.0.1:9999"
    assert settings.sources[0].model_dump()["page_url"] == "https://x.example/${path}"


def test_secrets_never_print(tmp_path: Path) -> None:
    text = "intercom:\n  token: ${TOKEN}\n"
    settings = loader.loads(text, base_dir=tmp_path, env={"TOKEN": "s3cret-value"})
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "s3cret-value" not in shown


def test_a_bad_token_value_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        loader.loads("intercom:\n  token: [s3cret-value]\n", base_dir=tmp_path, env={})
    assert "s3cret-value" not in str(caught.value)


def test_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    text = (
        "store:\n  url: sqlite:///state/s.db\n"
        "sources:\n  - {name: a, type: filesystem, path: docs}\n"
    )
    settings = loader.loads(text, base_dir=tmp_path, env={})
    assert settings.store.url == f"sqlite:///{tmp_path}/state/s.db"
    assert settings.sources[0].model_dump()["path"] == tmp_path / "docs"


def test_unstable_is_the_old_name_of_preview(tmp_path: Path) -> None:
    settings = loader.loads("intercom:\n  api_version: Unstable\n", base_dir=tmp_path, env={})
    assert settings.intercom.api_version == "Preview"


def test_config_schema_describes_sources_by_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    validator = jsonschema.Draft202012Validator(schema)
    good = {"sources": [{"name": "a", "type": "filesystem", "path": "."}]}
    assert list(validator.iter_errors(good)) == []
    bad = {"sources": [{"name": "a", "type": "filesystem", "path": ".", "inclde": []}]}
    assert list(validator.iter_errors(bad))
    assert "intercom" in schema["properties"]


def test_the_example_configs_commented_alerts_are_valid() -> None:
    """``config/example.yaml``'s commented ``alerts:`` block and ``admin_token``, uncommented,
    load as they are written (so the example a new user copies works)."""
    env = {
        "INTERCOM_TOKEN": "tok",
        "SLACK_WEBHOOK_URL": "https://hooks.example.com/x",
        "ALERT_TOKEN": "tok",
        "SYNCER_ADMIN_TOKEN": "an-admin-token-of-24-chars",
    }
    lines = (REPO / "config" / "example.yaml").read_text().splitlines()
    start = lines.index("# alerts:")
    block = [line.removeprefix("#").removeprefix(" ") for line in lines[start:]]
    block = block[: next(n for n, line in enumerate(block) if not line.strip())]
    head = [line.replace("  # admin_token:", "  admin_token:") for line in lines[:start]]
    rest = lines[start + len(block) :]
    settings = loader.loads(
        "\n".join([*head, *block, *rest]) + "\n",
        base_dir=REPO / "config",
        env=env,
        check_environment=False,
        complete=True,
    )
    assert settings.daemon.admin_token is not None
    assert settings.daemon.admin_token.get_secret_value() == env["SYNCER_ADMIN_TOKEN"]
    assert [w.format for w in settings.alerts.webhooks] == ["slack", "json"]
    assert settings.alerts.webhooks[1].sources == ("handbook",)
    assert settings.alerts.status_url == "https://syncer.internal/"

"""``syncer api``: any operation from the command line, with the configured credentials."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from syncer.cli import main
from tests.conftest import Workspace

REPO = Path(__file__).resolve().parents[1]


def api(capsys: pytest.CaptureFixture[str], space: Workspace, *args: str) -> tuple[int, str, str]:
    code = main(["--log-format", "json", "api", "-c", str(space.config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_operation(
    capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    code, out, _ = api(capsys, workspace, "--list")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 256
    contacts = next(line for line in lines if line.startswith("SearchContacts "))
    assert "contacts.search" in contacts
    assert "POST /contacts/search" in contacts
    assert "pages:search" in contacts
    code, out, _ = api(capsys, workspace, "--list", "folder")
    assert all("preview-only" in line for line in out.splitlines())
    assert workspace.fake.calls == []  # listing needs no Intercom


def test_a_call_prints_the_reply_as_json(
    capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    source = workspace.fake.add_source("https://docs.example.com/")
    page = workspace.fake.add_page(source["id"], "intro", title="Intro")
    code, out, _ = api(capsys, workspace, "getExternalPage", "-p", f"id={page['id']}")
    assert code == 0
    assert json.loads(out)["title"] == "Intro"
    code, out, _ = api(capsys, workspace, "ai_content.get_external_page", "-p", f"id={page['id']}")
    assert json.loads(out)["external_id"] == "intro"


def test_all_pages_prints_every_item(
    capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    made = workspace.fake.add_contacts(120)
    code, out, _ = api(capsys, workspace, "ListContacts", "--all-pages")
    assert code == 0
    assert [c["id"] for c in json.loads(out)] == sorted(c["id"] for c in made)
    assert len([c for c in workspace.fake.calls if c.operation_id == "ListContacts"]) == 3


def test_body_from_params_from_json_and_from_a_file(
    capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    contact = workspace.fake.add_contacts(1)[0]
    code, out, _ = api(
        capsys, workspace, "UpdateContact", "-p", f"id={contact['id']}", "-p", "name=Bob"
    )
    assert code == 0
    assert json.loads(out)["name"] == "Bob"
    body = workspace.root / "query.json"
    body.write_text(json.dumps({"query": {"field": "name", "operator": "=", "value": "Bob"}}))
    code, out, _ = api(capsys, workspace, "SearchContacts", "--body", f"@{body}")
    assert code == 0
    assert json.loads(out)["type"] == "list"
    code, out, _ = api(
        capsys,
        workspace,
        "SearchContacts",
        "--body",
        json.dumps(
            {
                "query": {"field": "name", "operator": "=", "value": "Bob"},
                "pagination": {"per_page": 5},
            }
        ),
    )
    assert code == 0


def test_usage_errors_exit_2_before_any_call(
    capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    code, _, err = api(capsys, workspace, "ListContact")
    assert code == 2
    assert "did you mean ListContacts" in err
    code, _, err = api(capsys, workspace, "getExternalPage")
    assert code == 2
    assert "needs id" in err
    code, _, err = api(capsys, workspace, "listDataConnectors", "-p", "per_page=many")
    assert code == 2
    assert "not a valid integer" in err
    code, _, err = api(capsys, workspace, "SearchContacts", "--body", '{"qurey": {}}')
    assert code == 2
    assert "does not match the spec" in err
    code, _, err = api(capsys, workspace, "listFolders", "--api-version", "2.16")
    assert code == 2
    assert "only in Intercom's Preview API" in err
    assert workspace.fake.calls == []


def test_an_intercom_error_exits_1_with_its_code_and_request_id(
    capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    code, _, err = api(capsys, workspace, "getExternalPage", "-p", "id=999")
    assert code == 1
    assert "404 not_found" in err
    assert "request_id" in err
    assert "tok-" not in err  # never the token


def test_the_command_runs_as_a_process(workspace: Workspace) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "api", "--list", "data_connectors"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "listDataConnectors" in done.stdout

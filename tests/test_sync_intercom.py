"""``syncer sync`` against the fake Intercom: the end state, write counts, faults,
per-document errors, a refused token, and secrets kept out of every output."""

from __future__ import annotations

import json

import pytest

from syncer.cli import main
from tests.conftest import TOKEN, Workspace


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--log-format", "json", *args])
    out, err = capsys.readouterr()
    return code, out, err


def sync_json(space: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run(capsys, "sync", "--json", "-c", str(space.config), *args)
    report = json.loads(out)
    assert report["exit_code"] == code, err
    return report  # type: ignore[no-any-return]


def counts(report: dict) -> dict[str, int]:  # type: ignore[type-arg]
    return report["sources"][0]["counts"]  # type: ignore[no-any-return]


def writes_by_operation(space: Workspace, since: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for call in space.fake.calls[since:]:
        if call.write:
            out[call.operation_id or "?"] = out.get(call.operation_id or "?", 0) + 1
    return out


def seed(space: Workspace, n: int) -> dict[str, str]:
    titles = {}
    for i in range(n):
        space.write(f"section-{i % 5}/doc-{i:04d}.md", f"# Doc {i}\n\nText of doc {i}.\n")
        titles[f"section-{i % 5}/doc-{i:04d}.md"] = f"Doc {i}"
    return titles


def test_edit_two_delete_one_add_one_then_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seed(workspace, 10)
    first = sync_json(workspace, capsys)
    assert counts(first)["created"] == 10
    assert workspace.titles() == expected
    (source,) = workspace.fake.sources()
    assert source["sync_behavior"] == "api"
    assert source["url"] == "https://docs.example.com/"
    page = workspace.fake.pages()[0]
    assert page["ai_agent_availability"] is True
    assert page["ai_copilot_availability"] is True
    assert page["ai_sales_agent_availability"] is False
    assert page["url"].startswith("https://docs.example.com/section-")

    workspace.write("section-0/doc-0000.md", "# Doc 0 (edited)\n\nNew text.\n")
    workspace.write("section-1/doc-0001.md", "# Doc 1 (edited)\n\nNew text.\n")
    (workspace.docs / "section-2/doc-0002.md").unlink()
    workspace.write("new.md", "# Brand new\n")
    expected.update(
        {
            "section-0/doc-0000.md": "Doc 0 (edited)",
            "section-1/doc-0001.md": "Doc 1 (edited)",
            "new.md": "Brand new",
        }
    )
    del expected["section-2/doc-0002.md"]

    mark = len(workspace.fake.calls)
    second = sync_json(workspace, capsys)
    assert counts(second) == {
        "created": 1,
        "updated": 2,
        "deleted": 1,
        "unchanged": 7,
        "excluded": 0,
        "failed": 0,
    }
    assert writes_by_operation(workspace, mark) == {
        "createExternalPage": 3,
        "deleteExternalPage": 1,
    }
    assert workspace.titles() == expected

    mark = len(workspace.fake.calls)
    third = sync_json(workspace, capsys)
    assert counts(third)["unchanged"] == 10
    assert writes_by_operation(workspace, mark) == {}
    assert len(workspace.fake.sources()) == 1


def test_faults_leave_the_exact_end_state(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seed(workspace, 1000)
    workspace.fake.limiter.window = 1.0  # a storm then costs seconds, not minutes
    faults = workspace.fake.faults
    faults.fail_randomly(0.05)
    faults.drop_connections(None, fraction=0.02)
    faults.lose_replies(None, fraction=0.01, method="POST")
    faults.rate_limit_storm(30, path_prefix="/ai/external_pages")
    report = sync_json(workspace, capsys)
    assert report["exit_code"] == 0, report["sources"][0]["errors"]
    assert counts(report)["created"] == 1000
    assert workspace.titles() == expected
    assert workspace.fake.rate_limited >= 30
    faults.clear()
    mark = len(workspace.fake.calls)
    again = sync_json(workspace, capsys)
    assert counts(again)["unchanged"] == 1000
    assert writes_by_operation(workspace, mark) == {}


def test_a_rejected_page_is_recorded_and_the_rest_proceed(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seed(workspace, 6)
    workspace.fake.faults.reject_external_id("section-3/doc-0003.md", status=422)
    report = sync_json(workspace, capsys)
    assert report["exit_code"] == 1
    assert counts(report)["created"] == 5
    assert counts(report)["failed"] == 1
    (error,) = report["sources"][0]["errors"]
    assert error.startswith("section-3/doc-0003.md: Intercom POST /ai/external_pages: 422")
    assert "request_id" in error
    del expected["section-3/doc-0003.md"]
    assert workspace.titles() == expected

    _, out, _ = run(capsys, "status", "-c", str(workspace.config))
    assert "failed" in out
    assert "section-3/doc-0003.md" in out

    workspace.fake.faults.clear()
    retry = sync_json(workspace, capsys)
    assert retry["exit_code"] == 0
    assert counts(retry)["created"] == 1


def test_a_refused_token_stops_with_a_clear_message(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(workspace, 3)
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", "wrong-token-123")
    code, out, err = run(capsys, "sync", "-c", str(workspace.config))
    assert code == 1
    assert "401" in out
    assert "access token was refused" in out
    assert "Traceback" not in out + err
    assert "wrong-token-123" not in out + err
    assert workspace.fake.pages() == []


def test_full_resends_everything(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    seed(workspace, 4)
    sync_json(workspace, capsys)
    mark = len(workspace.fake.calls)
    report = sync_json(workspace, capsys, "--full")
    assert counts(report)["updated"] == 4
    assert writes_by_operation(workspace, mark) == {"createExternalPage": 4}


def test_an_existing_import_source_is_adopted(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = workspace.fake.add_source(url="https://docs.example.com/")
    workspace.configure(extra=f'    import_source_id: "{existing["id"]}"\n')
    seed(workspace, 2)
    assert sync_json(workspace, capsys)["exit_code"] == 0
    assert [s["id"] for s in workspace.fake.sources()] == [existing["id"]]
    assert {p["source_id"] for p in workspace.fake.pages()} == {existing["id"]}


def test_a_source_deleted_in_intercom_is_recreated_and_refilled(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seed(workspace, 3)
    sync_json(workspace, capsys)
    (source,) = workspace.fake.sources()
    import httpx

    gone = httpx.delete(
        f"{workspace.fake.url}/ai/content_import_sources/{source['id']}",
        headers={"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "Preview"},
    )
    assert gone.status_code == 204
    assert workspace.fake.pages() == []
    report = sync_json(workspace, capsys)
    assert counts(report)["created"] == 3
    assert workspace.titles() == expected


def test_the_token_never_appears_in_any_output(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 20)
    workspace.fake.faults.fail_next(500, None, 503, None, 502)
    workspace.fake.faults.reject_external_id("section-1/doc-0001.md", status=400)
    outputs = []
    for args in (
        ["--log-level", "debug", "sync", "--json"],
        ["--log-level", "debug", "sync"],
        ["status", "--json"],
        ["validate"],
    ):
        _, out, err = run(capsys, *args, "-c", str(workspace.config))
        outputs.append(out + err)
    workspace.fake.faults.clear()
    workspace.configure(intercom="  regin: eu\n")
    outputs.append("".join(run(capsys, "validate", "-c", str(workspace.config))[1:]))
    text = "\n".join(outputs)
    assert "retrying" in text  # the faults did reach the logs
    assert "section-1/doc-0001.md" in text
    assert TOKEN not in text

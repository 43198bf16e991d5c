"""``syncer daemon`` alerts end to end: a real daemon process, the fake Intercom and a real
webhook receiver on 127.0.0.1. Failure, stale, guard and recovery each arrive once per
transition, however many runs repeat it, across a restart; a slow target holds up no
run; neither the Intercom token nor the webhook's secret URL reaches a log line."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.fakes.webhook import Receiver
from tests.test_daemon import DaemonProcess, make_docs, runs_of, sample, wait_for, write_config

HOOK_SECRET = "T0DAEMON/B0ALERTS/sekret0123456789"
JSON = f"/hooks/json/{HOOK_SECRET}"


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.close()


def _kinds(hooks: Receiver, path: str = JSON) -> list[str]:
    return [body["kind"] for body in hooks.bodies(path)]


def _until(hooks: Receiver, kinds: list[str], timeout: float = 15) -> None:
    wait_for(f"alerts {kinds}", lambda: _kinds(hooks) == kinds, timeout)


def test_each_transition_is_told_once(
    tmp_path: Path,
    fake_intercom: FakeIntercom,
    hooks: Receiver,
    daemons: list[DaemonProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_URL", hooks.url + JSON)
    hooks.delay("/hooks/slow", 2.0)
    docs = tmp_path / "docs"  # missing at first: every run fails
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake_intercom,
        store=store_url,
        sources=[("docs", docs)],
        run_on_start=True,
        daemon="  stale_after_intervals: 2",
    )
    with config.open("a") as out:
        out.write(
            "alerts:\n"
            "  max_backoff_seconds: 0.5\n"
            "  status_url: https://syncer.example/\n"
            "  webhooks:\n"
            "    - url: ${HOOK_URL}\n"
            "      name: ops\n"
            f"    - url: {hooks.url}/hooks/slack\n"
            "      format: slack\n"
            f"    - url: {hooks.url}/hooks/slow\n"
        )

    def start() -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path / f"daemon-{len(daemons)}.log", migrate=False)
        daemons.append(daemon)
        assert daemon.port
        return daemon

    daemon = start()
    started = time.monotonic()
    _until(hooks, ["failed"])
    (failed,) = hooks.bodies(JSON)
    assert "does not exist" in failed["details"][0]
    assert failed["status_url"] == "https://syncer.example/sources/docs"
    _until(hooks, ["failed", "stale"])  # 2 s without a success
    assert "has not succeeded since the daemon started" in hooks.bodies(JSON)[1]["text"]
    # The slow target (2 s a message) held up no run: one a second went on.
    assert len(runs_of(store_url, "docs")) >= time.monotonic() - started - 1
    time.sleep(2)
    assert _kinds(hooks) == ["failed", "stale"]  # more failed runs, no more messages

    # A restart re-sends nothing: the state is the store's, not the process's.
    daemon.send(signal.SIGTERM)
    assert daemon.wait(15) == 0
    daemon = start()
    time.sleep(3.5)  # past the new process's own staleness limit, too
    assert _kinds(hooks) == ["failed", "stale"]

    make_docs(docs, 10)
    _until(hooks, ["failed", "stale", "recovered"])
    assert hooks.bodies(JSON)[2]["was"] == ["failed", "stale"]
    assert hooks.bodies(JSON)[2]["text"] == (
        "syncer: source docs recovered (it was failing and stale)"
    )

    shutil.rmtree(docs)
    docs.mkdir()
    _until(hooks, ["failed", "stale", "recovered", "guard"])
    assert "would delete all 10 pages" in hooks.bodies(JSON)[3]["details"][0]
    # Held for two periods is stale as well; the guard is not told again meanwhile.
    _until(hooks, ["failed", "stale", "recovered", "guard", "stale"])
    time.sleep(1.5)
    assert _kinds(hooks).count("guard") == 1

    make_docs(docs, 10)
    _until(hooks, ["failed", "stale", "recovered", "guard", "stale", "recovered"])
    time.sleep(1.5)
    assert len(_kinds(hooks)) == 6

    slack = [body["text"] for body in hooks.bodies("/hooks/slack")]
    assert [text.split()[0] for text in slack] == [
        ":x:",
        ":hourglass:",
        ":white_check_mark:",
        ":warning:",
        ":hourglass:",
        ":white_check_mark:",
    ]
    assert "<https://syncer.example/sources/docs|status page>" in slack[0]
    metrics = daemon.metrics()
    assert sample(metrics, "syncer_alerts_total", target="ops", kind="recovered", result="sent")
    daemon.send(signal.SIGTERM)
    assert daemon.wait(15) == 0
    for log in tmp_path.glob("daemon-*.log"):
        text = log.read_text()
        assert HOOK_SECRET not in text
        assert HOOK_SECRET.split("/")[-1] not in text
        assert TOKEN not in text
        assert '"event": "alert"' in text

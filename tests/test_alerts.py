"""Alerts: the transition table, the two payloads, delivery to a real webhook receiver on
127.0.0.1 (retries with backoff, 429, refusals, headers, nothing blocking the caller),
and the store's compare-and-set across replicas and restarts, on SQLite and Postgres.

The daemon end to end (failure, stale, guard, recovery, each once) is
``test_daemon_alerts.py``'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from syncer import alerts
from syncer.alerts import State
from syncer.config import loader
from syncer.config.alerts import ALERT_KINDS, AlertSettings, WebhookSettings
from syncer.config.schema import json_schema
from syncer.config.settings import Settings
from syncer.daemon.alerting import Alerting
from syncer.daemon.webhooks import Webhooks
from syncer.errors import ConfigError
from syncer.model import Counts
from syncer.redact import Redactor
from syncer.run import SourceReport
from syncer.store import Store
from tests.fakes.webhook import Receiver

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
INTERCOM_TOKEN = "tok-alerts-0123456789abcdef"
HOOK_SECRET = "T0SECRET/B0SECRET/xyzzy0123456789"


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


# ---- the table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "kinds"),
    [
        (State(), State("failed"), ["failed"]),
        (State("failed"), State("failed"), []),
        (State(), State("blocked"), ["guard"]),
        (State("failed"), State("blocked"), ["guard"]),
        (State("blocked"), State("failed"), ["failed"]),
        (State(), State(stale=True), ["stale"]),
        (State("failed"), State("failed", stale=True), ["stale"]),
        (State("failed"), State(), ["recovered"]),
        (State("blocked", stale=True), State(), ["recovered"]),
        (State(stale=True), State(), ["recovered"]),
        (State(stale=True), State("failed"), ["failed"]),
        (State(), State(), []),
    ],
)
def test_each_change_of_health_is_one_kind(old: State, new: State, kinds: list[str]) -> None:
    assert alerts.changes(old, new) == kinds


def test_runs_and_checks_move_the_state_as_the_table_says() -> None:
    assert alerts.after_run(State(), "failed") == State("failed")
    assert alerts.after_run(State("failed", stale=True), "succeeded") == State()
    assert alerts.after_run(State("failed"), "interrupted") == State("failed")
    assert alerts.after_run(State("failed"), "skipped") == State("failed")
    assert alerts.after_run(State(stale=True), "blocked") == State("blocked", stale=True)
    assert alerts.after_check(State(), stale=True, ever_succeeded=False) == State(stale=True)
    # Fresh by a replica's own start is no recovery: only a success ends staleness.
    assert alerts.after_check(State(stale=True), stale=False, ever_succeeded=False) == State(
        stale=True
    )
    assert alerts.after_check(State(stale=True), stale=False, ever_succeeded=True) == State()


def test_the_payloads_say_what_changed() -> None:
    failed = alerts.describe(
        "failed",
        "wiki",
        at=T0,
        old=State(),
        errors=["a.md: 422 <b>bad</b> & worse"] * 7,
        status_url="https://syncer.example/",
        replica="r1",
    )
    body = alerts.json_payload(failed)
    assert body["kind"] == "failed"
    assert body["source"] == "wiki"
    assert body["text"] == "syncer: source wiki failed"
    assert len(body["details"]) == alerts.MAX_DETAILS
    assert body["status_url"] == "https://syncer.example/sources/wiki"
    assert body["at"] == T0.isoformat()
    slack = alerts.slack_payload(failed)
    assert set(slack) == {"text"}
    assert slack["text"].startswith(":x: syncer: source wiki failed\n```")
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; worse" in slack["text"]
    assert slack["text"].endswith("<https://syncer.example/sources/wiki|status page>")

    stale = alerts.describe(
        "stale",
        "wiki",
        at=T0,
        old=State("failed"),
        last_success=T0 - timedelta(hours=2, minutes=5),
        stale_after=timedelta(minutes=90),
    )
    assert stale.text == (
        "syncer: source wiki is stale: its last success was 2 h 5 min ago (stale after 1 h 30 min)"
    )
    never = alerts.describe("stale", "wiki", at=T0, old=State())
    assert "has not succeeded since the daemon started" in never.text
    recovered = alerts.describe("recovered", "wiki", at=T0, old=State("blocked", stale=True))
    assert recovered.text == (
        "syncer: source wiki recovered (it was held by the mass-delete guard and stale)"
    )
    assert recovered.was == ("guard", "stale")


# ---- delivery ---------------------------------------------------------------------------


def _alert(kind: str = "failed", source: str = "wiki") -> alerts.Alert:
    return alerts.describe(kind, source, at=T0, old=State(), errors=["boom"])


def _webhooks(hooks: Receiver, *targets: dict[str, Any], **settings: Any) -> Webhooks:
    config = AlertSettings(
        webhooks=tuple(WebhookSettings.model_validate(t) for t in targets),
        **{"max_backoff_seconds": 0.2, "timeout_seconds": 2, **settings},
    )
    return Webhooks(config, Redactor([HOOK_SECRET]), jitter=lambda: 1.0)


def test_a_message_is_retried_with_backoff_until_the_receiver_takes_it(hooks: Receiver) -> None:
    hooks.answer("/json", 503, 500, 429, 502)
    hooks.answer("/refuses", 400)
    results: list[tuple[str, str, str]] = []
    config = AlertSettings(
        webhooks=(
            WebhookSettings(url=SecretStr(hooks.url + "/json"), name="generic"),
            WebhookSettings(url=SecretStr(hooks.url + "/refuses"), name="picky"),
        ),
        max_backoff_seconds=0.2,
    )
    webhooks = Webhooks(
        config,
        Redactor(),
        jitter=lambda: 1.0,
        on_result=lambda *result: results.append(result),
    )
    started = time.monotonic()
    webhooks.send(_alert())
    assert time.monotonic() - started < 0.1  # queued, never sent on the caller's thread
    assert hooks.wait(lambda: len(hooks.bodies("/json")) == 1, 10)
    attempts = hooks.received("/json", ok_only=False)
    assert [d.status for d in attempts] == [503, 500, 429, 502, 200]
    assert attempts[-1].at - attempts[0].at >= 0.4  # backed off between tries
    assert hooks.bodies("/json")[0]["kind"] == "failed"
    assert hooks.wait(lambda: ("picky", "failed", "failed") in results, 10)
    assert len(hooks.received("/refuses", ok_only=False)) == 1  # a 400 is not retried
    webhooks.close(1.0)
    assert ("generic", "failed", "sent") in results


def test_targets_get_their_kinds_sources_format_and_headers(hooks: Receiver) -> None:
    webhooks = _webhooks(
        hooks,
        {"url": hooks.url + "/slack", "format": "slack", "events": ["failed", "recovered"]},
        {
            "url": hooks.url + "/wiki-only",
            "sources": ["wiki"],
            "headers": {"Authorization": "Bearer hook-header-secret-123"},
        },
    )
    for alert in (_alert("failed"), _alert("stale"), _alert("guard", "docs")):
        webhooks.send(alert)
    assert hooks.wait(lambda: len(hooks.received()) == 3, 10)
    time.sleep(0.2)
    webhooks.close(1.0)
    assert [b["text"].split()[0] for b in hooks.bodies("/slack")] == [":x:"]
    wiki = hooks.received("/wiki-only")
    assert [d.body["kind"] for d in wiki] == ["failed", "stale"]
    assert wiki[0].headers["authorization"] == "Bearer hook-header-secret-123"
    assert wiki[0].headers["content-type"] == "application/json"


def test_a_slow_target_holds_up_neither_the_caller_nor_another_target(hooks: Receiver) -> None:
    hooks.delay("/slow", 1.5)
    webhooks = _webhooks(hooks, {"url": hooks.url + "/slow"}, {"url": hooks.url + "/fast"})
    started = time.monotonic()
    for _ in range(3):
        webhooks.send(_alert())
    assert time.monotonic() - started < 0.1
    assert hooks.wait(lambda: len(hooks.bodies("/fast")) == 3, 5)
    assert time.monotonic() - started < 1.5
    webhooks.close(0.1)


def test_webhook_settings_refuse_what_would_mute_or_leak(tmp_path: Any) -> None:
    text = """
alerts:
  webhooks:
    - url: ${HOOK}
      events: [failed, exploded]
sources:
  - name: wiki
    type: filesystem
    path: .
"""
    with pytest.raises(ConfigError) as caught:
        loader.loads(text, base_dir=tmp_path, env={"HOOK": "ftp://" + HOOK_SECRET})
    problems = "\n".join(str(p) for p in caught.value.problems)
    assert "alerts.webhooks[0].url: url must start with https://" in problems
    assert "alerts.webhooks[0].events[1]" in problems
    assert HOOK_SECRET not in problems
    hook = {"HOOK": "https://hooks.example.com/" + HOOK_SECRET}
    typo = text.replace(", exploded", "").replace("events:", "sources: [wikki]\n      events:")
    with pytest.raises(ConfigError) as caught:
        loader.loads(typo, base_dir=tmp_path, env=hook)
    (problem,) = caught.value.problems
    assert str(problem).endswith(
        "alerts.webhooks[0].sources[0]: no source named 'wikki'; did you mean 'wiki'?"
    )
    settings = loader.loads(text.replace(", exploded", ""), base_dir=tmp_path, env=hook)
    # The URL (a Slack URL is its own credential) is a secret like any token.
    assert Redactor.from_settings(settings).redact(f"to .../{HOOK_SECRET}") == "to .../***"


# ---- the state in the store -------------------------------------------------------------


def _settings(hooks: Receiver, status_url: str = "https://syncer.example/") -> Settings:
    return Settings.model_validate(
        {
            "intercom": {"token": INTERCOM_TOKEN},
            "alerts": {
                "webhooks": [{"url": hooks.url + "/all"}],
                "status_url": status_url,
                "max_backoff_seconds": 0.2,
            },
            "sources": [{"name": "wiki", "type": "filesystem"}],
        }
    )


def _report(status: str, *errors: str) -> SourceReport:
    return SourceReport("wiki", "filesystem", status, Counts(), None, errors)


def test_two_replicas_and_a_restart_send_each_transition_once(
    store_url: str, hooks: Receiver
) -> None:
    settings = _settings(hooks)
    redactor = Redactor.from_settings(settings)
    with Store.open(store_url, migrate=True) as first_store, Store.open(store_url) as other_store:
        replicas = [
            Alerting(s, settings, holder=name, clock=lambda: T0, redactor=lambda: redactor)
            for s, name in ((first_store, "a"), (other_store, "b"))
        ]
        try:
            for report in (
                _report("failed", f"wiki: Intercom echoed Bearer {INTERCOM_TOKEN}"),
                _report("failed", "wiki: again"),
                _report("interrupted"),
                _report("blocked", "would delete all 12 pages"),
                _report("succeeded"),
                _report("succeeded"),
            ):
                for replica in replicas:  # both replicas see every run
                    replica.run_finished(report)
            for replica in replicas:
                replica.checked("wiki", stale=True, last_success=T0 - timedelta(hours=3))
                replica.checked("wiki", stale=True, last_success=T0 - timedelta(hours=3))
        finally:
            for replica in replicas:
                replica.close(2.0)
        restarted = Alerting(
            first_store, settings, holder="c", clock=lambda: T0, redactor=lambda: redactor
        )
        restarted.checked("wiki", stale=True, last_success=T0 - timedelta(hours=3))
        restarted.run_finished(_report("blocked", "still"))  # a change: told once
        restarted.close(2.0)
        assert first_store.alerts.get("wiki").run_state == "blocked"
    bodies = hooks.bodies("/all")
    assert [b["kind"] for b in bodies] == ["failed", "guard", "recovered", "stale", "guard"]
    assert bodies[0]["details"] == ["wiki: Intercom echoed ***"]
    assert INTERCOM_TOKEN not in str(bodies)
    assert bodies[1]["details"] == ["would delete all 12 pages"]
    assert bodies[2]["was"] == ["guard"]
    assert bodies[3]["text"].startswith(
        "syncer: source wiki is stale: its last success was 3 h ago"
    )
    assert bodies[4]["was"] == ["stale"]  # what was already wrong before this change
    assert {b["status_url"] for b in bodies} == {"https://syncer.example/sources/wiki"}


def test_without_webhooks_nothing_is_read_or_written(tmp_path: Any) -> None:
    settings = Settings.model_validate({"sources": [{"name": "wiki", "type": "filesystem"}]})
    with Store.open(f"sqlite:///{tmp_path}/s.db", migrate=True) as store:
        alerting = Alerting(
            store, settings, holder="a", clock=lambda: T0, redactor=lambda: Redactor()
        )
        alerting.run_finished(_report("failed", "boom"))
        alerting.checked("wiki", stale=True, last_success=None)
        alerting.close()
        assert store.alerts.all() == {}


def test_the_config_schema_documents_alerts_and_the_admin_token() -> None:
    schema = json_schema()
    assert "alerts" in schema["properties"]
    webhook = schema["$defs"]["WebhookSettings"]
    assert webhook["properties"]["format"]["enum"] == ["json", "slack"]
    assert set(webhook["properties"]["events"]["items"]["enum"]) == set(ALERT_KINDS)
    assert "admin_token" in schema["$defs"]["DaemonSettings"]["properties"]

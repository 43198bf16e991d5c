"""Two ``syncer daemon`` replicas on one Postgres store, six sources on 1 s schedules.

While a test thread keeps editing documents, no source is ever synced by both replicas
at once: the runs table shows no two runs of a source overlapping, every page write
the fake Intercom received falls inside exactly one run of its source, and no version
of a document was sent twice. Then one replica is SIGKILLed in the middle of a long run
and the other takes the source over within the lease time and finishes it.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncer.store import RunSummary, Store
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import DaemonProcess, make_docs, wait_for, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SOURCES = [f"s{i}" for i in range(6)]
LEASE_S = 3.0
EDIT_PHASE_S = 20.0


class RecordingIntercom(FakeIntercom):
    """The fake, also noting when each page write landed and what it carried."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.upserts: list[tuple[float, int, str, str]] = []  # at, source id, external id, hash

    def _upsert_page(self, request: Any) -> Any:
        reply = super()._upsert_page(request)
        if reply.status == 200:
            body = request.body
            digest = hashlib.sha256(body["html"].encode()).hexdigest()
            self.upserts.append((time.time(), int(body["source_id"]), body["external_id"], digest))
        return reply


def _runs(store_url: str) -> dict[str, list[RunSummary]]:
    with Store.open_read_only(store_url) as store:
        return {name: list(reversed(store.runs.of(name, limit=1000))) for name in SOURCES}


def _import_source_ids(store_url: str) -> dict[int, str]:
    with Store.open_read_only(store_url) as store:
        return {int(s.import_source_id): s.name for s in store.sources() if s.import_source_id}


def _edit_until(stop: threading.Event, root: Path) -> int:
    rng = random.Random(7)
    edits = 0
    while not stop.wait(0.15):
        doc = root / rng.choice(SOURCES) / f"doc-{rng.randrange(3):03}.md"
        doc.write_text(f"# {doc.stem}\n\nEdit {edits}.\n")
        edits += 1
    return edits


def test_two_replicas_never_sync_one_source_at_once_and_take_over_a_dead_one(
    tmp_path: Path, postgres_url: str
) -> None:
    for name in SOURCES:
        make_docs(tmp_path / name, 3)
    config = tmp_path / "syncer.yaml"
    with RecordingIntercom(TOKEN) as fake:
        write_config(
            config,
            fake=fake,
            store=postgres_url,
            sources=[(name, tmp_path / name) for name in SOURCES],
            run_on_start=True,
            daemon=f"  lease_seconds: {LEASE_S}\n  shutdown_grace_seconds: 5",
            intercom="  concurrency: 2",
        )
        daemons = [DaemonProcess(config, tmp_path / f"replica-{i}.log") for i in range(2)]
        try:
            _exercise(tmp_path, postgres_url, fake, daemons)
        finally:
            for daemon in daemons:
                daemon.close()


def _exercise(
    root: Path, store_url: str, fake: RecordingIntercom, daemons: list[DaemonProcess]
) -> None:
    holders = [daemon.status()["replica"] for daemon in daemons]  # both up and serving

    # Phase 1: both replicas, fast schedules, documents edited all along.
    stop_editing = threading.Event()
    edits: list[int] = []
    editor = threading.Thread(target=lambda: edits.append(_edit_until(stop_editing, root)))
    editor.start()
    time.sleep(EDIT_PHASE_S)
    stop_editing.set()
    editor.join()
    ran = [
        sum(v for (name, _), v in d.metrics().items() if name == "syncer_runs_total")
        for d in daemons
    ]
    assert all(n >= 5 for n in ran), f"both replicas should have synced sources: {ran}"

    # Phase 2: a long run of s0 (150 new documents, slow Intercom), then kill its replica.
    fake.faults.slow_down(0.05, method="POST", path_prefix="/ai/external_pages")
    make_docs(root / "s0", 150, prefix="bulk")

    def s0_leased() -> str | None:
        with Store.open_read_only(store_url) as store:
            lease = store.leases.all().get("s0")
        busy = sum(1 for _, source_id, eid, _ in fake.upserts if eid.startswith("bulk-"))
        return lease.holder if lease is not None and busy >= 10 else None

    holder = wait_for("a replica deep in s0's long run", s0_leased, 20, every=0.05)
    victim = daemons[holders.index(holder)]
    survivor = daemons[1 - holders.index(holder)]
    victim.send(signal.SIGKILL)
    killed_at = datetime.now(UTC)
    victim.wait(10)
    fake.faults.clear()

    def taken_over() -> RunSummary | None:
        later = [r for r in _runs(store_url)["s0"] if r.started_at > killed_at]
        return later[0] if later else None

    takeover = wait_for("the survivor to take s0 over", taken_over, LEASE_S + 10)
    delay = (takeover.started_at - killed_at).total_seconds()
    # The lease runs out within LEASE_S of the last renewal; s0 fires every 1 s (+10% jitter);
    # a second more for a loaded machine.
    assert delay < LEASE_S + 2.5, f"took over after {delay:.1f}s"

    def converged() -> bool:
        runs = _runs(store_url)["s0"]
        return bool(runs[-1].status == "succeeded" and runs[-1].started_at > killed_at)

    wait_for("s0 to finish on the survivor", converged, 30)
    survivor.send(signal.SIGTERM)
    assert survivor.wait(15) == 0

    # The dead replica's run was found abandoned and closed by the survivor.
    s0_runs = _runs(store_url)["s0"]
    abandoned = [r for r in s0_runs if r.started_at < killed_at and r.status == "interrupted"]
    assert abandoned
    assert "stopped without finishing" in abandoned[-1].errors[0]
    _assert_never_concurrent(store_url, fake, takeover.started_at)
    _assert_converged(root, store_url, fake)
    assert edits[0] > 50


def _assert_never_concurrent(store_url: str, fake: RecordingIntercom, takeover: datetime) -> None:
    runs = _runs(store_url)
    for name, source_runs in runs.items():
        assert len(source_runs) >= 5, f"{name} ran only {len(source_runs)} times"
        for before, after in itertools.pairwise(source_runs):
            assert before.finished_at is not None, f"{name}: run {before.id} never ended"
            assert after.started_at >= before.finished_at, (
                f"{name}: run {after.id} started at {after.started_at} while run {before.id} "
                f"ran until {before.finished_at}"
            )
    # Every page write landed inside exactly one run of its own source...
    names = _import_source_ids(store_url)
    pushed: dict[tuple[int, str, str], list[RunSummary]] = {}
    for at, source_id, external_id, digest in fake.upserts:
        when = datetime.fromtimestamp(at, UTC)
        inside = [
            r
            for r in runs[names[source_id]]
            if r.started_at <= when and (r.finished_at is None or when <= r.finished_at)
        ]
        assert len(inside) == 1, f"{names[source_id]}/{external_id} at {when}: runs {inside}"
        pushed.setdefault((source_id, external_id, digest), []).append(inside[0])
    # ...and no version of a document was sent by two runs (two replicas syncing one
    # source would both send it), but for writes in flight when the replica was killed:
    # Intercom applied them, the dead replica never recorded them, the survivor sent
    # them again (at most two per worker: one in flight, one answered but not recorded).
    # A client retry after a lost reply resends within one run, which is no overlap.
    resent = []
    for key, by in pushed.items():
        if len({run.id for run in by}) == 1:
            continue
        first, second = by  # never three times
        assert first.status == "interrupted", (key, first, second)
        assert first.started_at < takeover <= second.started_at, (key, first, second)
        resent.append(key)
    assert len(resent) <= 2 * 2, resent  # intercom.concurrency: 2


def _assert_converged(root: Path, store_url: str, fake: RecordingIntercom) -> None:
    names = _import_source_ids(store_url)
    assert sorted(names.values()) == SOURCES  # one Content Import Source each
    pages: dict[str, list[str]] = {name: [] for name in SOURCES}
    for page in fake.pages():
        pages[names[int(page["source_id"])]].append(page["external_id"])
    for name in SOURCES:
        on_disk = sorted(p.name for p in (root / name).glob("*.md"))
        assert sorted(pages[name]) == on_disk, name

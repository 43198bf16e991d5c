"""Split runs of git and Confluence sources: the batches fetch what the listing saw.

The split path's phases in this process (``_split_phases``, as workers would run them)
against the real Postgres, the fake Intercom and real sources: a Confluence space's
batches ask Confluence for bodies and restrictions only, never a listing page (the
listing job's pages travel with the run, ``syncer.connector.Resumable``), and end as
the in-process run of the same space; a git source's batches read the commit the
listing job saw while the branch moves on, the cursor is that commit, and the next run
reads the new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.config import loader
from syncer.config.settings import Settings
from syncer.intercom.client import IntercomClient
from syncer.store import Store
from tests.conftest import TOKEN
from tests.fakes.confluence import FakeConfluence, seed_space
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import runs_of
from tests.test_engine import ENGINE
from tests.test_engine_batches import (
    _split_phases,
    creates_per_page,
    end_state,
    split_jobs,
    whole_run,
)
from tests.test_git_support import GitRepo

postgres = pytest.mark.postgres
BATCH = 10


def _config(path: Path, fake: FakeIntercom, store: str, source: str, daemon: str = "") -> Settings:
    path.write_text(
        "intercom:\n"
        "  token: ${TEST_INTERCOM_TOKEN}\n"
        f"  base_url: {fake.url}\n"
        f"store:\n  url: {store}\n"
        f"daemon:\n  host: 127.0.0.1\n  port: 0\n{daemon}"
        f"sources:\n{source}"
    )
    return loader.load(path, env={"TEST_INTERCOM_TOKEN": TOKEN}, check_environment=False)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeIntercom, FakeIntercom]]:
    with FakeIntercom(TOKEN, window=1.0) as one, FakeIntercom(TOKEN, window=1.0) as other:
        yield one, other


@postgres
def test_a_split_confluence_run_lists_once_and_ends_as_the_whole_run(
    tmp_path: Path, postgres_url: str, fakes: tuple[FakeIntercom, FakeIntercom]
) -> None:
    whole_fake, split_fake = fakes
    with FakeConfluence("cloud") as wiki:
        seed_space(wiki, "SUP", 45)  # each page links to the next by title
        source = (
            "  - name: wiki\n    type: confluence\n"
            f"    base_url: {wiki.base_url}\n    email: {wiki.email}\n"
            f"    token: {wiki.token}\n    spaces: [SUP]\n"
        )
        whole = _config(
            tmp_path / "whole.yaml", whole_fake, f"sqlite:///{tmp_path / 'whole.db'}", source
        )
        split = _config(
            tmp_path / "split.yaml",
            split_fake,
            postgres_url,
            source,
            ENGINE + f"  batch_size: {BATCH}\n",
        )
        with (
            Store.open(whole.store.url, migrate=True) as whole_store,
            IntercomClient.from_settings(whole.intercom) as whole_client,
            split_jobs(split, postgres_url) as jobs,
        ):
            first = whole_run(whole, whole_store, whole_client, tmp_path / "cache")
            listed_before = _listing_calls(wiki)
            rows = _split_phases(jobs, "wiki")

    assert len(rows) == 5  # 45 pages in batches of 10
    assert end_state(split_fake) == end_state(whole_fake)
    assert len(end_state(split_fake)) == 45
    assert creates_per_page(split_fake.page_writes()) == dict.fromkeys(end_state(split_fake), 1)
    (run,) = runs_of(postgres_url, "wiki")
    assert run.status == first.status == "succeeded"
    assert run.counts == first.counts
    # The whole run listed once; the split run's listing job once, its batches never.
    assert _listing_calls(wiki) == 2 * listed_before
    wiki.assert_no_violations()


def _listing_calls(wiki: FakeConfluence) -> int:
    """Requests of space listings so far (Cloud v2: ``/spaces`` and a space's pages)."""
    return sum("/spaces" in call.path for call in wiki.calls)


@postgres
def test_a_split_git_run_reads_the_listed_commit_while_the_branch_moves(
    tmp_path: Path, postgres_url: str, fakes: tuple[FakeIntercom, FakeIntercom]
) -> None:
    _, fake = fakes
    repo = GitRepo(tmp_path / "repo")
    for i in range(35):
        repo.write(f"d{i:03}.md", f"# Doc {i}\n\nFirst text {i}.\n")
    listed = repo.commit("first")
    source = (
        f"  - name: docs\n    type: git\n    repo: {repo.path}\n"
        "    url: https://git.example.com/docs\n"
    )
    settings = _config(
        tmp_path / "split.yaml", fake, postgres_url, source, ENGINE + f"  batch_size: {BATCH}\n"
    )
    with split_jobs(settings, postgres_url) as jobs:
        store, client = jobs.store, jobs.client
        jobs.run("docs")  # the listing job: it splits the run and stops
        (run_id,) = store.batches.unfinished("docs")
        # The branch moves on before any batch runs: a file of the last batch changes.
        repo.write("d034.md", "# Doc 34\n\nSecond text.\n")
        moved = repo.commit("second")
        for row in store.batches.batches(run_id):
            jobs.split().run_batch("docs", run_id, row.number, job_id=None)
        jobs.split().finish("docs", run_id, job_id=None)
        pages = {page["external_id"]: page for page in fake.pages()}
        assert len(pages) == 35
        assert "First text 34." in pages["d034.md"]["html"]  # as listed
        assert _cursor(store) == listed

        before = len(fake.page_writes())
        report = whole_run(settings, store, client, tmp_path / "cache")
        assert report.status == "succeeded"
        writes = fake.page_writes()[before:]
        assert [(w.action, w.external_id) for w in writes] == [("updated", "d034.md")]
        assert _cursor(store) == moved
    (first, second) = runs_of(postgres_url, "docs")
    assert (first.status, first.counts.created) == ("succeeded", 35)
    assert (second.counts.updated, second.counts.unchanged) == (1, 34)


def _cursor(store: Store) -> str | None:
    state = store.source_state("docs")
    assert state is not None
    return state.cursor

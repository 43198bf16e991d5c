"""Scale: a commit that changes 3 files of a 5,000-file repository reads those 3 blobs
and costs a small fraction of the first sync.

The connector is driven exactly as ``syncer.run`` drives it (``list``, the planner's
``to_fetch`` against what the store holds, ``fetch``, ``plan``), with the store's
records kept in a dict: the SQLite store's per-document commits would dominate a first
sync of 5,000 pages and say nothing about git. ``bench/git_sync.py`` measures the whole
CLI, store included.
"""

from __future__ import annotations

import gc
import resource
import time
from pathlib import Path

import pytest

from syncer.connector import Context
from syncer.connectors.git import GitConnector, GitSettings, create
from syncer.model import Availability, Plan, Record
from syncer.plan import plan, to_fetch
from tests.test_git_support import GitRepo

FILES = 5_000


def cpu_seconds() -> float:
    """CPU time of this process and of the git processes it has waited for.

    CPU time, not wall time: it measures the work done, and another job loading the
    machine does not inflate it.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def sync_once(
    settings: GitSettings, cache: Path, records: dict[str, Record], cursor: str | None
) -> tuple[GitConnector, Plan, float]:
    """One pass as ``syncer.run`` makes it; the connector, the plan, and the CPU seconds."""
    started = cpu_seconds()
    connector = create(settings, Context(cache_dir=cache, cursor=cursor))
    assert isinstance(connector, GitConnector)
    listing = connector.list()
    fetched = list(connector.fetch(to_fetch(records, listing)))
    the_plan = plan(records, listing, fetched, Availability())
    return connector, the_plan, cpu_seconds() - started


@pytest.mark.slow
def test_three_changed_files_of_five_thousand_are_all_that_is_read(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "work")
    for n in range(FILES):
        repo.write(f"docs/section-{n % 50:02d}/doc-{n:04d}.md", f"# Doc {n}\n\nBody {n}.\n")
    repo.write("README.md", "# The docs repository\n")
    repo.commit("five thousand docs")
    settings = GitSettings.model_validate(
        {
            "name": "docs",
            "type": "git",
            "repo": str(repo.path),
            "subpath": "docs",
            "page_url": "https://github.com/acme/docs/blob/{ref}/{path}",
        }
    )
    cache = tmp_path / "cache"

    first, first_plan, first_seconds = sync_once(settings, cache, {}, None)
    assert len(first_plan.create) == FILES
    assert first.blobs_read == FILES
    records = {
        item.document.key: Record(
            key=item.document.key,
            external_id=item.document.external_id,
            version=item.document.version,
            content_hash=item.content_hash,
            page_id=str(n),
        )
        for n, item in enumerate(first_plan.create)
    }
    cursor = first.cursor()
    # A second run starts from the store's records, not from the first run's documents:
    # holding those would make the second pay for collecting garbage it never made.
    del first, first_plan
    gc.collect()

    changed = {f"docs/section-{n % 50:02d}/doc-{n:04d}.md" for n in (7, 2024, 4999)}
    for path in changed:
        repo.write(path, f"# Edited {path}\n\nNew body.\n")
    repo.commit("three edits")

    second, second_plan, second_seconds = sync_once(settings, cache, records, cursor)
    assert second.blobs_read == 3
    assert second.changes is not None
    assert set(second.changes.modified) == changed
    assert {item.document.key for item in second_plan.update} == changed
    assert len(second_plan.unchanged) == FILES - 3
    assert not second_plan.create
    assert not second_plan.delete
    print(
        f"first sync {first_seconds:.2f} CPU s ({FILES} blobs read), "
        f"incremental {second_seconds:.2f} CPU s (3 read): {first_seconds / second_seconds:.0f}x"
    )
    assert second_seconds < first_seconds / 10

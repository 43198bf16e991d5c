"""A split run's batch fetches from its listing's state, listing nothing again.

``syncer.connector.Resumable``: the listing job keeps ``fetch_state`` with the run and
each batch job's connector ``resume`` s from it (``syncer.engine.batches``). The
contract (``tests/contract.py``) holds every built-in connector to fetching the same
documents that way; here, what each one must not do: Confluence lists no space and
looks up no title the listing had, git reads the commit the run listed however the ref
moved since (fetched by SHA into a mirror that lacks it), and a state that cannot be
used is a ``SourceError`` that says what happens next.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.connector import Context
from syncer.connectors.git import GitConnector, GitSettings, create
from syncer.errors import SourceError
from syncer.model import Document
from tests.fakes.confluence import Call, FakeConfluence
from tests.test_confluence import connector_for, settings_for
from tests.test_confluence_attachments import pdf_bytes
from tests.test_git_support import GitRepo


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeConfluence]:
    context = "/confluence" if request.param == "datacenter" else None
    with FakeConfluence(request.param, context=context) as made:
        yield made


def _linking(fake: FakeConfluence, n: int) -> list[str]:
    """``n`` pages, each linking to the next by title, and a blog post; their ids."""
    ids = []
    for i in range(n):
        link = (
            f'<ac:link><ri:page ri:content-title="Guide {i + 1}"/></ac:link>' if i + 1 < n else ""
        )
        ids.append(str(fake.add_page("SUP", f"Guide {i}", f"<p>Step {i}. {link}</p>").id))
    ids.append(str(fake.add_page("SUP", "News", "<p>Shipped.</p>", kind="blogpost").id))
    return ids


def test_a_resumed_confluence_connector_asks_what_a_listed_one_fetching_asks(
    fake: FakeConfluence,
) -> None:
    ids = _linking(fake, 6)
    page = fake.add_page("SUP", "Prices", "<p>Attached.</p>")
    fake.add_attachment(page.id, "prices.pdf", pdf_bytes())
    settings = settings_for(fake, include_blogposts=True, attachments=["pdf"])
    lister = connector_for(settings)
    listing = lister.list()
    state = lister.fetch_state()
    attachment = next(s.key for s in listing.stubs if s.key not in {*ids, str(page.id)})
    batch = [s for s in listing.stubs if s.key in {ids[1], ids[-1], attachment}]

    mark = len(fake.calls)
    listed = {item.key: item for item in lister.fetch(batch)}
    asked_listed = _asked(fake.calls[mark:])
    mark = len(fake.calls)
    resumed = connector_for(settings)
    resumed.resume(state)
    fetched = {item.key: item for item in resumed.fetch(batch)}
    asked_resumed = _asked(fake.calls[mark:])

    assert fetched == listed
    assert sorted(fetched) == sorted(s.key for s in batch)
    assert all(isinstance(item, Document) for item in fetched.values())
    assert f'{page.id}">Prices</a>' in fetched[attachment].html  # its page, as listed
    # Guide 1 links to Guide 2 by title, found in the listing: no lookup, no listing.
    assert asked_resumed == asked_listed
    assert not [query for _, _, query in asked_resumed if "title" in query]
    fake.assert_no_violations()


def _asked(calls: list[Call]) -> list[tuple[str, str, str]]:
    return sorted((c.method, c.path, c.query) for c in calls)


def test_a_confluence_state_it_cannot_read_is_a_source_error(fake: FakeConfluence) -> None:
    connector = connector_for(settings_for(fake))
    for state in ("", "[]", json.dumps({"format": 99, "pages": []}), '{"format": 1}'):
        with pytest.raises(SourceError, match="the next run lists the source again"):
            connector.resume(state)


def _git(repo: Path, cache: Path) -> GitConnector:
    settings = GitSettings.model_validate(
        {"name": "docs", "type": "git", "repo": str(repo), "url": "https://git.example.com/d"}
    )
    made = create(settings, Context(cache_dir=cache))
    assert isinstance(made, GitConnector)
    return made


def test_a_resumed_git_connector_reads_the_listed_commit_on_a_fresh_mirror(
    tmp_path: Path,
) -> None:
    repo = GitRepo(tmp_path / "repo")
    for name in ("a", "b", "c"):
        repo.write(f"{name}.md", f"# {name.upper()}\n\nFirst {name}.\n")
    listed_commit = repo.commit("first")
    lister = _git(repo.path, tmp_path / "here")
    listing = lister.list()
    state = lister.fetch_state()
    assert state == listed_commit
    expected = {item.key: item for item in lister.fetch(listing.stubs)}

    # The branch moves on (and the file the batch reads changes) before the batch runs.
    repo.write("b.md", "# B\n\nSecond b.\n")
    repo.commit("second")
    resumed = _git(repo.path, tmp_path / "elsewhere")  # another machine: no mirror yet
    resumed.resume(state)
    batch = [s for s in listing.stubs if s.key in {"b.md", "c.md"}]
    fetched = {item.key: item for item in resumed.fetch(batch)}
    assert fetched == {key: expected[key] for key in ("b.md", "c.md")}
    document = fetched["b.md"]
    assert isinstance(document, Document)
    assert "First b." in document.html
    assert resumed.cursor() == listed_commit


def test_a_git_commit_the_remote_no_longer_serves_is_a_source_error(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("a.md", "# A\n")
    repo.commit("first")
    connector = _git(repo.path, tmp_path / "cache")
    with pytest.raises(SourceError, match="no longer serves commit 0000000000aa"):
        connector.resume("0000000000aa" + "0" * 28)
    with pytest.raises(SourceError, match="not a full SHA"):
        connector.resume("main")

"""Inbound webhooks: a git host's push or a Confluence Data Center page event, checked and
turned into a trigger of the source it is for (``POST /hooks/<source>``).

Off unless the source has a ``webhook:`` section (``syncer.config.webhooks``). Each
delivery is checked before anything is read from it, in constant time
(``hmac.compare_digest``), against the source's secret as its host signs:

| host | header | value |
|---|---|---|
| GitHub | ``X-Hub-Signature-256`` | ``sha256=`` + hex HMAC-SHA256 of the body |
| GitLab | ``X-Gitlab-Token`` | the secret token itself |
| Bitbucket Cloud | ``X-Hub-Signature`` | ``sha256=`` + hex HMAC-SHA256 of the body |
| Gitea | ``X-Gitea-Signature`` | hex HMAC-SHA256 of the body |
| Confluence DC | ``X-Hub-Signature`` | ``sha256=`` + hex HMAC-SHA256 of the body |

A wrong or missing signature is 401 and nothing runs. A signed delivery is then decided
(``decide_push``, ``decide_page``): a push to another ref than the source's, one that
touches no path under its ``subpath`` (nor a site config above it), a page event of
another space, or another event, is acknowledged (200, with the reason) and ignored;
the rest trigger the source (202), which never starts a second run of a running source
(``Daemon.trigger``). A push whose file list is missing or cut short (Bitbucket sends
none; GitLab lists 20 commits) runs: the run itself is cheap when nothing moved.

Bodies are limited to ``MAX_BODY``; secrets and signatures are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from syncer.config.settings import Settings
from syncer.config.webhooks import ConfluenceScope, GitScope, HookScope
from syncer.daemon.http import Reply, Request, Route, json_reply
from syncer.daemon.triggers import Triggered

# GitHub caps a delivery at 25 MB; a push of ordinary size is well under 1 MB.
MAX_BODY = 5 * 1024 * 1024
PAGE_EVENTS = ("page_created", "page_updated", "page_removed", "page_restored", "page_moved")
# Files above a subpath that change how it renders (syncer.convert.site reads them).
SITE_FILES = frozenset(
    {
        "mkdocs.yml",
        "mkdocs.yaml",
        "docusaurus.config.js",
        "docusaurus.config.ts",
        "docusaurus.config.mjs",
    }
)
# GitHub lists at most this many commits in a push; GitLab 20 (it says how many in all).
GITHUB_MAX_COMMITS = 2048

Trigger = Callable[..., Triggered]


@dataclass(frozen=True, slots=True)
class Decision:
    """What a signed delivery leads to: a run (``what`` it was, the change's time) or an
    acknowledgement that ignores it (``reason``)."""

    run: bool
    reason: str
    what: str = ""
    changed_at: datetime | None = None


def ignore(reason: str) -> Decision:
    return Decision(False, reason)


# -- signatures ------------------------------------------------------------------------------


def signed(scope: HookScope, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether ``headers`` carry ``scope``'s signature of ``body`` (constant time)."""
    secret = scope.secret.get_secret_value().encode()
    if isinstance(scope, GitScope) and scope.provider == "gitlab":
        given = headers.get("x-gitlab-token")
        # Digests of both, so neither the time nor the length tells anything.
        return given is not None and hmac.compare_digest(
            hashlib.sha256(given.encode()).digest(), hashlib.sha256(secret).digest()
        )
    mac = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if isinstance(scope, GitScope) and scope.provider == "github":
        return _equal(headers.get("x-hub-signature-256"), "sha256=" + mac)
    if isinstance(scope, GitScope) and scope.provider == "gitea":
        return _equal(headers.get("x-gitea-signature"), mac)
    # Bitbucket Cloud and Confluence Data Center: X-Hub-Signature, WebSub's form.
    return _equal(headers.get("x-hub-signature"), "sha256=" + mac)


def _equal(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.strip().lower().encode(), expected.encode())


# -- git pushes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Push:
    """One push as the hosts describe it alike: the refs it moved (full names), the
    paths its commits touched (None: not all listed), its head and who pushed."""

    refs: tuple[str, ...]
    paths: frozenset[str] | None
    head: str
    committed_at: datetime | None
    pusher: str
    default_branch: str | None = None


def push_event(provider: str, headers: Mapping[str, str]) -> str | None:
    """The event's name as the host says it, ``push`` for a push (None: not said)."""
    if provider == "github":
        return headers.get("x-github-event")
    if provider == "gitea":
        return headers.get("x-gitea-event") or headers.get("x-gogs-event")
    if provider == "gitlab":
        event = headers.get("x-gitlab-event")
        return "push" if event in ("Push Hook", "Tag Push Hook") else event
    if provider == "bitbucket":
        event = headers.get("x-event-key")
        return "push" if event == "repo:push" else event
    return None


def read_push(provider: str, body: Mapping[str, Any]) -> Push:
    """The push in ``body``, from the host's documented payload (``ValueError``: not one)."""
    if provider == "bitbucket":
        return _bitbucket_push(body)
    ref = body.get("ref")
    if not isinstance(ref, str):
        raise ValueError("a push payload has a ref")
    commits = [c for c in body.get("commits") or () if isinstance(c, Mapping)]
    if provider == "gitlab":
        total = body.get("total_commits_count")
        repository = body.get("project") or {}
        pusher = body.get("user_username") or body.get("user_name") or "?"
        head = str(body.get("checkout_sha") or body.get("after") or "")
        head_commit = next((c for c in commits if c.get("id") == head), None)
    else:  # github, gitea
        total = body.get("total_commits") if provider == "gitea" else None
        repository = body.get("repository") or {}
        who = body.get("pusher") or {}
        pusher = who.get("name") or who.get("login") or who.get("username") or "?"
        head = str(body.get("after") or "")
        head_commit = body.get("head_commit")
    complete = bool(commits) and (
        len(commits) >= total if isinstance(total, int) else len(commits) < GITHUB_MAX_COMMITS
    )
    paths: frozenset[str] | None = None
    if complete:
        paths = frozenset(
            path
            for commit in commits
            for key in ("added", "modified", "removed")
            for path in commit.get(key) or ()
            if isinstance(path, str)
        )
    if head_commit is None and commits:
        head_commit = commits[-1]
    stamp = head_commit.get("timestamp") if isinstance(head_commit, Mapping) else None
    branch = repository.get("default_branch") if isinstance(repository, Mapping) else None
    return Push(
        refs=(ref,),
        paths=paths,
        head=head,
        committed_at=_time(stamp),
        pusher=str(pusher),
        default_branch=branch if isinstance(branch, str) else None,
    )


def _bitbucket_push(body: Mapping[str, Any]) -> Push:
    # https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/#Push: push.changes[]
    # each with new (a branch or tag: type, name, target.hash, target.date); no file lists.
    changes = (body.get("push") or {}).get("changes")
    if not isinstance(changes, list):
        raise ValueError("a Bitbucket push payload has push.changes")
    refs: list[str] = []
    head, stamp = "", None
    for change in changes:
        new = change.get("new") if isinstance(change, Mapping) else None
        if not isinstance(new, Mapping) or not isinstance(new.get("name"), str):
            continue  # a branch deleted
        kind = "tags" if new.get("type") == "tag" else "heads"
        refs.append(f"refs/{kind}/{new['name']}")
        target = new.get("target") or {}
        head, stamp = str(target.get("hash") or ""), target.get("date")
    actor = body.get("actor") or {}
    pusher = actor.get("display_name") or actor.get("nickname") or "?"
    return Push(tuple(refs), None, head, _time(stamp), str(pusher))


def decide_push(scope: GitScope, event: str | None, body: Mapping[str, Any]) -> Decision:
    """Run or ignore a signed push delivery for a source with ``scope``."""
    if event != "push":
        return ignore(f"event {event or 'unnamed'} is not a push")
    try:
        push = read_push(scope.provider, body)
    except (ValueError, AttributeError, TypeError) as exc:
        return ignore(f"not a push payload: {exc}")
    if len(scope.ref) == 40 and all(c in "0123456789abcdef" for c in scope.ref):
        return ignore(f"the source syncs commit {scope.ref[:12]}, which no push moves")
    wanted = _wanted_refs(scope.ref, push.default_branch)
    moved = [ref for ref in push.refs if wanted is None or ref in wanted]
    if not moved:
        shown = ", ".join(push.refs) or "no ref"
        return ignore(f"push to {shown}, not to the source's ref {scope.ref}")
    if push.paths is not None and not touches(push.paths, scope.subpath):
        return ignore(f"the push touches no path under {scope.subpath}/")
    what = f"webhook {scope.provider} push {push.head[:12] or '?'} by {push.pusher}"
    return Decision(True, "push", what, push.committed_at)


def _wanted_refs(ref: str, default_branch: str | None) -> set[str] | None:
    """The full ref names a push must move; None: any (HEAD, and the host did not say
    which branch is the default)."""
    if ref == "HEAD":
        return None if default_branch is None else {f"refs/heads/{default_branch}"}
    if ref.startswith("refs/"):
        return {ref}
    return {f"refs/heads/{ref}", f"refs/tags/{ref}"}


def touches(paths: Iterable[str], subpath: str) -> bool:
    """Whether any of ``paths`` is under ``subpath``, or a site config above it."""
    if not subpath:
        return True
    prefix = subpath.rstrip("/") + "/"
    above = {""} | {"/".join(subpath.split("/")[:n]) for n in range(1, subpath.count("/") + 2)}
    for path in paths:
        if path.startswith(prefix):
            return True
        folder, _, name = path.rpartition("/")
        if name in SITE_FILES and folder in above:
            return True
    return False


# -- Confluence Data Center ------------------------------------------------------------------


def decide_page(scope: ConfluenceScope, body: Mapping[str, Any]) -> Decision:
    """Run or ignore a signed Confluence Data Center delivery for a source with ``scope``.

    The payload (https://developer.atlassian.com/server/confluence/webhooks/): ``event``,
    ``timestamp`` (ms), ``page`` with ``id``, ``spaceKey``, ``version`` and
    ``modificationDate`` (ms).
    """
    event = body.get("event")
    if event not in PAGE_EVENTS:
        return ignore(f"event {event or 'unnamed'} is not a page event")
    page = body.get("page")
    if not isinstance(page, Mapping):
        return ignore("the payload has no page")
    space = page.get("spaceKey")
    # A page moved out of a space is told with its new space: a move always runs, so a
    # page that left the source's spaces leaves Fin now, not at the next schedule.
    if event != "page_moved" and space not in scope.spaces:
        return ignore(f"page of space {space}, not one of {', '.join(scope.spaces)}")
    stamp = page.get("modificationDate") or body.get("timestamp")
    what = f"webhook confluence {event} page {page.get('id', '?')} in {space}"
    return Decision(True, event, what, _time(stamp))


# -- the route -------------------------------------------------------------------------------


class Hooks:
    """``POST /hooks/{name}``: check, decide, trigger."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        trigger: Trigger,
        log: structlog.typing.FilteringBoundLogger | None = None,
    ) -> None:
        self._settings = settings
        self._trigger = trigger
        self._log = log or structlog.get_logger("syncer.daemon")

    def table(self) -> list[tuple[str, str, Route]]:
        return [("POST", "/hooks/{name}", Limited(self.receive, MAX_BODY))]

    def receive(self, request: Request) -> Reply:
        name = request.params["name"]
        source = next((s for s in self._settings().sources if s.name == name), None)
        scope = source.webhook_scope() if source is not None else None
        if scope is None:
            return json_reply(404, {"error": f"no webhook for source {name!r}"})
        host = scope.provider if isinstance(scope, GitScope) else "confluence"
        if not signed(scope, request.headers, request.body):
            # Which header was missing or wrong is the sender's to know; never its value.
            self._log.warning("webhook_refused", source=name, host=host, client=request.client)
            return json_reply(401, {"error": "the signature is missing or wrong"})
        try:
            body = json.loads(request.body)
        except ValueError:
            return json_reply(400, {"error": "the body is not JSON"})
        if not isinstance(body, dict):
            return json_reply(400, {"error": "the body is not a JSON object"})
        if isinstance(scope, GitScope):
            decision = decide_push(scope, push_event(scope.provider, request.headers), body)
        else:
            decision = decide_page(scope, body)
        if not decision.run:
            self._log.info("webhook_ignored", source=name, host=host, reason=decision.reason)
            return json_reply(200, {"ignored": decision.reason})
        triggered = self._trigger(
            name, decision.what, kind="webhook", changed_at=decision.changed_at
        )
        self._log.info("webhook_received", source=name, host=host, outcome=triggered.outcome)
        if not triggered.accepted:
            return json_reply(503, {"error": f"not now: {triggered.outcome}"})
        return json_reply(202, {"outcome": triggered.outcome, "serial": triggered.serial})


@dataclass(frozen=True, slots=True)
class Limited:
    """A route that takes bodies up to ``max_body`` bytes (``syncer.daemon.http``)."""

    route: Route
    max_body: int

    def __call__(self, request: Request) -> Reply:
        return self.route(request)


def _time(value: object) -> datetime | None:
    """An ISO 8601 time (git hosts) or Unix milliseconds (Confluence), aware; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None

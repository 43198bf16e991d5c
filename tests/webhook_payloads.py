"""Webhook deliveries as each host sends them: the documented payload, and headers signed
as that host signs them. Used by the webhook tests, the end-to-end test and
``bench/freshness.py``.

Payload shapes follow the hosts' own references:
- GitHub: https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
  (``X-GitHub-Event: push``, ``X-Hub-Signature-256: sha256=<hex>``)
- GitLab: https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events
  (``X-Gitlab-Event: Push Hook``, ``X-Gitlab-Token``)
- Bitbucket Cloud: https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/#Push
  (``X-Event-Key: repo:push``, ``X-Hub-Signature: sha256=<hex>``)
- Gitea: https://docs.gitea.com/usage/webhooks (``X-Gitea-Event: push``,
  ``X-Gitea-Signature: <hex>``)
- Confluence Data Center: https://developer.atlassian.com/server/confluence/webhooks/
  (``event``, ``page.spaceKey``; ``X-Hub-Signature: sha256=<hex>``)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PROVIDERS = ("github", "gitlab", "bitbucket", "gitea")
ZERO = "0" * 40


@dataclass(frozen=True)
class Commit:
    id: str
    timestamp: datetime
    added: Sequence[str] = ()
    modified: Sequence[str] = ()
    removed: Sequence[str] = ()
    message: str = "Edit the docs"


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _git_commit(commit: Commit, repo_url: str) -> dict[str, Any]:
    author = {"name": "Doc Writer", "email": "docs@example.com", "username": "docwriter"}
    return {
        "id": commit.id,
        "tree_id": "f" * 40,
        "distinct": True,
        "message": commit.message,
        "timestamp": _iso(commit.timestamp),
        "url": f"{repo_url}/commit/{commit.id}",
        "author": author,
        "committer": author,
        "added": list(commit.added),
        "removed": list(commit.removed),
        "modified": list(commit.modified),
    }


def push_body(
    provider: str,
    commits: Sequence[Commit],
    *,
    ref: str = "refs/heads/main",
    before: str = ZERO,
    default_branch: str = "main",
) -> dict[str, Any]:
    """The push payload ``provider`` sends for ``commits`` (oldest first) on ``ref``."""
    head = commits[-1] if commits else None
    after = head.id if head else ZERO
    repo_url = "https://git.example.com/acme/docs"
    if provider == "github":
        return {
            "ref": ref,
            "before": before,
            "after": after,
            "created": before == ZERO,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{repo_url}/compare/{before[:12]}...{after[:12]}",
            "commits": [_git_commit(c, repo_url) for c in commits],
            "head_commit": _git_commit(head, repo_url) if head else None,
            "repository": {
                "id": 1296269,
                "name": "docs",
                "full_name": "acme/docs",
                "default_branch": default_branch,
                "html_url": repo_url,
            },
            "pusher": {"name": "docwriter", "email": "docs@example.com"},
            "sender": {"login": "docwriter", "id": 1, "type": "User"},
        }
    if provider == "gitlab":
        listed = list(commits)[-20:]  # GitLab lists the newest 20
        return {
            "object_kind": "push",
            "event_name": "push",
            "before": before,
            "after": after,
            "ref": ref,
            "ref_protected": True,
            "checkout_sha": after,
            "user_id": 4,
            "user_name": "Doc Writer",
            "user_username": "docwriter",
            "project_id": 15,
            "project": {
                "id": 15,
                "name": "docs",
                "web_url": repo_url,
                "path_with_namespace": "acme/docs",
                "default_branch": default_branch,
            },
            "commits": [_git_commit(c, repo_url) for c in listed],
            "total_commits_count": len(commits),
            "repository": {"name": "docs", "homepage": repo_url},
        }
    if provider == "gitea":
        return {
            "ref": ref,
            "before": before,
            "after": after,
            "compare_url": f"{repo_url}/compare/{before}...{after}",
            "commits": [_git_commit(c, repo_url) for c in commits],
            "total_commits": len(commits),
            "head_commit": _git_commit(head, repo_url) if head else None,
            "repository": {
                "id": 1,
                "name": "docs",
                "full_name": "acme/docs",
                "default_branch": default_branch,
                "html_url": repo_url,
            },
            "pusher": {"id": 1, "login": "docwriter", "username": "docwriter"},
            "sender": {"id": 1, "login": "docwriter", "username": "docwriter"},
        }
    if provider == "bitbucket":
        kind = "tag" if ref.startswith("refs/tags/") else "branch"
        name = ref.removeprefix("refs/tags/").removeprefix("refs/heads/")
        return {
            "actor": {"display_name": "Doc Writer", "nickname": "docwriter", "type": "user"},
            "repository": {"type": "repository", "name": "docs", "full_name": "acme/docs"},
            "push": {
                "changes": [
                    {
                        "new": {
                            "type": kind,
                            "name": name,
                            "target": {
                                "type": "commit",
                                "hash": after,
                                "date": _iso(head.timestamp) if head else None,
                                "message": head.message if head else "",
                            },
                        },
                        "old": None,
                        "created": before == ZERO,
                        "forced": False,
                        "closed": False,
                        "commits": [
                            {"hash": c.id, "type": "commit", "message": c.message}
                            for c in reversed(commits)
                        ],
                        "truncated": False,
                    }
                ]
            },
        }
    raise ValueError(provider)


def _mac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_push(provider: str, secret: str, body: dict[str, Any]) -> Delivery:
    """``body`` as ``provider`` delivers it, signed with ``secret``."""
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if provider == "github":
        headers |= {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + _mac(secret, raw)}
        headers["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    elif provider == "gitlab":
        headers |= {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret}
    elif provider == "bitbucket":
        headers |= {"X-Event-Key": "repo:push", "X-Hub-Signature": "sha256=" + _mac(secret, raw)}
    elif provider == "gitea":
        headers |= {"X-Gitea-Event": "push", "X-Gitea-Signature": _mac(secret, raw)}
    return Delivery(raw, headers)


SIGNATURE_HEADERS = {
    "github": "X-Hub-Signature-256",
    "gitlab": "X-Gitlab-Token",
    "bitbucket": "X-Hub-Signature",
    "gitea": "X-Gitea-Signature",
}


def page_body(event: str, space: str, page_id: int, at: datetime) -> dict[str, Any]:
    """A Confluence Data Center page event's payload."""
    millis = int(at.timestamp() * 1000)
    return {
        "timestamp": millis + 40,
        "event": event,
        "userKey": "8a7f808a7b1d6c5e017b1d6d1e0e0000",
        "page": {
            "spaceKey": space,
            "modificationDate": millis,
            "creatorKey": "8a7f808a7b1d6c5e017b1d6d1e0e0000",
            "lastModifierKey": "8a7f808a7b1d6c5e017b1d6d1e0e0000",
            "self": f"https://wiki.example.com/pages/viewpage.action?pageId={page_id}",
            "creationDate": millis - 60_000,
            "title": "Refund policy",
            "version": 3,
            "id": page_id,
        },
    }


def signed_page(secret: str, body: dict[str, Any]) -> Delivery:
    raw = json.dumps(body).encode()
    return Delivery(
        raw, {"Content-Type": "application/json", "X-Hub-Signature": "sha256=" + _mac(secret, raw)}
    )

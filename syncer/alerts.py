"""Alerts: when a source's health changes, and what the message says. Pure, no I/O.

A source's health is how its last finished run ended (``ok``, ``failed``, ``blocked``:
the mass-delete guard held deletions back) and whether it is stale. A message goes out
on a change, never per run:

=================================  =============  ====================================
change                             kind           message
=================================  =============  ====================================
run ok/blocked -> failed           ``failed``     the run's first errors
run ok/failed -> blocked           ``guard``      what the guard held back, how to go on
fresh -> stale                     ``stale``      when it last succeeded, the limit
unhealthy -> ok and fresh          ``recovered``  what it recovered from
=================================  =============  ====================================

An interrupted or skipped run changes nothing. A success makes a source fresh at once.
Staleness ends only with a success: a replica that counts a never-synced source from
its own (later) start sees it fresh, and that must not read as a recovery.

``syncer.daemon.alerting`` keeps the state in the store and sends what ``changes``
returns; ``json_payload`` and ``slack_payload`` are the two webhook formats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

RUN_STATES = {"succeeded": "ok", "failed": "failed", "blocked": "blocked"}
MAX_DETAILS = 5
MAX_DETAIL_CHARS = 500


@dataclass(frozen=True, slots=True)
class State:
    """A source's health: ``run`` is ok, failed or blocked; ``stale``."""

    run: str = "ok"
    stale: bool = False

    @property
    def healthy(self) -> bool:
        return self.run == "ok" and not self.stale


def after_run(state: State, status: str) -> State:
    """The health once a run ended with ``status``; a success is also fresh."""
    run = RUN_STATES.get(status)
    if run is None:  # interrupted, skipped, planned: says nothing of the source
        return state
    return State(run, False if run == "ok" else state.stale)


def after_check(state: State, *, stale: bool, ever_succeeded: bool) -> State:
    """The health once staleness was checked; fresh again only after a real success."""
    if stale:
        return replace(state, stale=True)
    if ever_succeeded:
        return replace(state, stale=False)
    return state


def changes(old: State, new: State) -> list[str]:
    """The alert kinds from ``old`` to ``new`` (the module's table), in order."""
    kinds = []
    if new.run != old.run and new.run == "failed":
        kinds.append("failed")
    if new.run != old.run and new.run == "blocked":
        kinds.append("guard")
    if new.stale and not old.stale:
        kinds.append("stale")
    if new.healthy and not old.healthy:
        kinds.append("recovered")
    return kinds


def was(old: State) -> tuple[str, ...]:
    """What an unhealthy ``old`` state was, in alert kinds: failed, guard, stale."""
    found = {"failed": ("failed",), "blocked": ("guard",)}.get(old.run, ())
    return (*found, "stale") if old.stale else found


@dataclass(frozen=True, slots=True)
class Alert:
    """One message about one change of one source's health."""

    kind: str
    source: str
    at: datetime
    text: str
    details: tuple[str, ...] = ()
    was: tuple[str, ...] = ()
    link: str | None = None
    replica: str = ""


def describe(
    kind: str,
    source: str,
    *,
    at: datetime,
    old: State,
    errors: Sequence[str] = (),
    last_success: datetime | None = None,
    stale_after: timedelta | None = None,
    status_url: str | None = None,
    replica: str = "",
) -> Alert:
    """The message for ``kind`` (a change away from ``old``)."""
    details = tuple(_cut(error) for error in errors[:MAX_DETAILS])
    if kind == "failed":
        text = f"syncer: source {source} failed"
    elif kind == "guard":
        text = f"syncer: source {source}: the mass-delete guard held its deletions back"
    elif kind == "stale":
        since = (
            f"its last success was {_span(at - last_success)} ago"
            if last_success is not None
            else "it has not succeeded since the daemon started"
        )
        limit = f" (stale after {_span(stale_after)})" if stale_after is not None else ""
        text = f"syncer: source {source} is stale: {since}{limit}"
        details = ()
    elif kind == "recovered":
        text = f"syncer: source {source} recovered (it was {_words(was(old))})"
        details = ()
    else:
        raise ValueError(f"unknown alert kind {kind!r}")
    link = f"{status_url}sources/{source}" if status_url else None
    return Alert(kind, source, at, text, details, was(old), link, replica)


def json_payload(alert: Alert) -> dict[str, Any]:
    """The generic JSON webhook body."""
    return {
        "kind": alert.kind,
        "source": alert.source,
        "at": alert.at.isoformat(),
        "text": alert.text,
        "details": list(alert.details),
        "was": list(alert.was),
        "status_url": alert.link,
        "replica": alert.replica,
    }


SLACK_ICONS = {
    "failed": ":x:",
    "guard": ":warning:",
    "stale": ":hourglass:",
    "recovered": ":white_check_mark:",
}


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body (Mattermost and Rocket.Chat take it too)."""
    lines = [f"{SLACK_ICONS[alert.kind]} {_slack(alert.text)}"]
    if alert.details:
        lines.append("```" + "\n".join(_slack(d) for d in alert.details) + "```")
    if alert.link:
        lines.append(f"<{alert.link}|status page>")
    return {"text": "\n".join(lines)}


def _slack(text: str) -> str:
    # Slack's mrkdwn reads these three as markup: https://api.slack.com/reference/surfaces/formatting#escaping
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


def _words(kinds: Sequence[str]) -> str:
    said = {"failed": "failing", "guard": "held by the mass-delete guard", "stale": "stale"}
    return " and ".join(said[k] for k in kinds) or "unhealthy"


def _span(delta: timedelta) -> str:
    """``45 s``, ``3 min``, ``2 h 5 min``, ``1 d 4 h``."""
    total = max(0, round(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"

"""The daemon's HTTP routes: the status page, its "sync now" action, and the JSON endpoints.

``/`` (every source) and ``/sources/{name}`` (one source: its recent runs and what a
run did with each document) are HTML pages; ``/status`` is the same rows as JSON. All
of them read from the store (``syncer.status``), never from this process's memory alone,
so every replica shows the same; only the next run time and "running here" are this
replica's. ``/readyz`` answers 503 while shutting down or when the store does not answer.

``POST /sources/{name}/trigger`` (``syncer trigger``) is the same with the token as
``Authorization: Bearer``, answering JSON with the trigger's serial; ``GET`` on it tells
whether a run has served that serial yet, and how it ended (``--wait``).

``POST /sources/{name}/sync`` starts a run now. It is off unless ``daemon.admin_token``
is set, and refused unless the form's ``token`` field matches it (compared in constant
time). The token is never a cookie, so another site cannot make a browser send it; a
request whose ``Origin`` (or ``Referer``) is another site's, or that the browser marks
``Sec-Fetch-Site: cross-site``, is refused all the same. GETs change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import structlog

from syncer.config.settings import Settings
from syncer.daemon.http import Reply, Request, Route, json_reply
from syncer.daemon.metrics import CONTENT_TYPE, Metrics
from syncer.daemon.pages import Pages
from syncer.daemon.triggers import Triggered
from syncer.errors import StoreError
from syncer.status import last_reload, source_detail, source_rows
from syncer.store import Store, Trigger
from syncer.store import engine as engines
from syncer.store.schema import MAX_RUN_DOCUMENTS

# What a "sync now" request led to (``Daemon.sync_now``), as the page then says it.
NOTICES = {
    "started": "Sync requested: the run starts in a moment; this page shows it once it has.",
    "queued": "This source is syncing already: one more run follows it, and this page shows "
    "it once it has.",
}


class Routes:
    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        settings: Callable[[], Settings],
        config_path: Path,
        holder: str,
        started_at: datetime,
        clock: Callable[[], datetime],
        stopping: Callable[[], bool],
        running: Callable[[], frozenset[str]],
        next_runs: Callable[[], dict[str, datetime | None]],
        refresh_gauges: Callable[[], None],
        sync_now: Callable[[str], str] = lambda _name: "stopping",
        trigger: Callable[..., Triggered] = lambda *_args, **_kwargs: Triggered("stopping"),
        log: structlog.typing.FilteringBoundLogger | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self._settings = settings
        self._config_path = config_path
        self._holder = holder
        self._started_at = started_at
        self._clock = clock
        self._stopping = stopping
        self._running = running
        self._next_runs = next_runs
        self._refresh_gauges = refresh_gauges
        self._sync_now = sync_now
        self._trigger = trigger
        self._log = log or structlog.get_logger("syncer.daemon")
        self.pages = Pages()

    def table(self) -> list[tuple[str, str, Route]]:
        return [
            ("GET", "/", self.overview),
            ("GET", "/sources/{name}", self.source_page),
            ("POST", "/sources/{name}/sync", self.sync),
            ("POST", "/sources/{name}/trigger", self.trigger),
            ("GET", "/sources/{name}/trigger", self.trigger_state),
            ("GET", "/assets/status.css", lambda _request: self.pages.css()),
            ("GET", "/healthz", self.healthz),
            ("GET", "/readyz", self.readyz),
            ("GET", "/metrics", self.metrics_page),
            ("GET", "/status", self.status),
        ]

    # -- the JSON endpoints ----------------------------------------------------------------

    def healthz(self, _request: Request) -> Reply:
        return json_reply(200, {"status": "alive", "replica": self._holder})

    def readyz(self, _request: Request) -> Reply:
        if self._stopping():
            return json_reply(503, {"ready": False, "reason": "shutting down"})
        try:
            self.store.ping()
        except StoreError as exc:
            self.metrics.ready.set(0)
            return json_reply(503, {"ready": False, "reason": str(exc)})
        self.metrics.ready.set(1)
        sources = len(self._settings().sources)
        return json_reply(
            200, {"ready": True, "config": str(self._config_path), "sources": sources}
        )

    def metrics_page(self, _request: Request) -> Reply:
        self._refresh_gauges()
        return Reply(200, CONTENT_TYPE, self.metrics.exposition())

    def status(self, _request: Request) -> Reply:
        settings = self._settings()
        try:
            rows = self._rows(settings)
        except StoreError as exc:
            return json_reply(503, {"error": str(exc)})
        return json_reply(
            200,
            {
                "replica": self._holder,
                "started_at": self._started_at.isoformat(),
                "config": str(self._config_path),
                "store": engines.safe_url(settings.store.url),
                "stopping": self._stopping(),
                "sources": rows,
            },
        )

    # -- the pages -------------------------------------------------------------------------

    def overview(self, request: Request) -> Reply:
        settings = self._settings()
        try:
            rows = self._rows(settings)
            frame = self._frame(settings, request)
        except StoreError as exc:
            return self._store_down(settings, exc)
        return self.pages.render("overview.html", rows=rows, **frame)

    def source_page(self, request: Request) -> Reply:
        settings = self._settings()
        name = request.params["name"]
        run = request.arg("run")
        try:
            detail = source_detail(
                settings,
                self.store,
                name,
                now=self._clock(),
                since=self._started_at,
                next_runs=self._next_runs(),
                running_here=self._running(),
                run_id=int(run) if run and run.isdigit() else None,
            )
            if detail is not None:
                detail["source"]["trigger"] = trigger_row(self.store.triggers.get(name))
            frame = self._frame(settings, request)
        except StoreError as exc:
            return self._store_down(settings, exc)
        if detail is None:
            return self._message(
                settings, 404, "No such source", f"No source {name!r} is configured.", "refused"
            )
        return self.pages.render(
            "source.html", detail=detail, max_documents=MAX_RUN_DOCUMENTS, **frame
        )

    # -- "sync now" --------------------------------------------------------------------------

    def sync(self, request: Request) -> Reply:
        settings = self._settings()
        name = request.params["name"]
        token = settings.daemon.admin_token
        if token is None:
            return self._refused(
                settings, name, "off", '"Sync now" is off: daemon.admin_token is not set.'
            )
        elsewhere = _cross_site(request)
        if elsewhere is not None:
            return self._refused(settings, name, "cross_site", elsewhere)
        given = request.field("token") or ""
        # Digests of both, so neither the comparison's time nor its length tells anything.
        if not hmac.compare_digest(_digest(given), _digest(token.get_secret_value())):
            return self._refused(settings, name, "token", "Refused: that is not the admin token.")
        if name not in {s.name for s in settings.sources}:
            return self._message(
                settings, 404, "No such source", f"No source {name!r} is configured.", "refused"
            )
        outcome = self._sync_now(name)
        self._log.info("sync_requested", source=name, outcome=outcome, client=request.client)
        if outcome not in NOTICES:
            why = (
                "The store does not answer: no run starts."
                if outcome == "unrecorded"
                else "The daemon is shutting down: no run starts."
            )
            return self._message(settings, 503, "Not now", why, "refused")
        location = f"/sources/{quote(name, safe='')}?sync={outcome}"
        return Reply(303, "text/plain; charset=utf-8", b"", (("Location", location),))

    # -- ``syncer trigger``: the same trigger, as JSON, with the token as a bearer ----------

    def trigger(self, request: Request) -> Reply:
        settings = self._settings()
        name = request.params["name"]
        token = settings.daemon.admin_token
        if token is None:
            return json_reply(403, {"error": "triggers are off: daemon.admin_token is not set"})
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            _digest(given.strip()), _digest(token.get_secret_value())
        ):
            self._log.warning("trigger_refused", source=name, client=request.client)
            return json_reply(401, {"error": "that is not the admin token"})
        what = request.field("what") or request.arg("what") or "cli"
        triggered = self._trigger(name, what[:80], kind="cli")
        if triggered.outcome == "unknown":
            return json_reply(404, {"error": f"no source {name!r} is configured"})
        if not triggered.accepted:
            return json_reply(503, {"error": f"not now: {triggered.outcome}"})
        return json_reply(202, {"outcome": triggered.outcome, "serial": triggered.serial})

    def trigger_state(self, request: Request) -> Reply:
        settings = self._settings()
        name = request.params["name"]
        if name not in {s.name for s in settings.sources}:
            return json_reply(404, {"error": f"no source {name!r} is configured"})
        try:
            row = trigger_row(self.store.triggers.get(name))
        except StoreError as exc:
            return json_reply(503, {"error": str(exc)})
        return json_reply(200, {"source": name, "trigger": row})

    def _refused(self, settings: Settings, name: str, reason: str, text: str) -> Reply:
        self._log.warning("sync_refused", source=name, reason=reason)
        return self._message(settings, 403, "Refused", text, "refused")

    # -- plumbing ----------------------------------------------------------------------------

    def _rows(self, settings: Settings) -> list[dict[str, Any]]:
        rows = source_rows(
            settings,
            self.store,
            now=self._clock(),
            since=self._started_at,
            next_runs=self._next_runs(),
            running_here=self._running(),
        )
        triggers = self.store.triggers.all()
        for row in rows:
            row["trigger"] = trigger_row(triggers.get(row["name"]))
        return rows

    def _frame(self, settings: Settings, request: Request | None = None) -> dict[str, Any]:
        """What every page shows around its content."""
        said = request.arg("sync") if request is not None else None
        return {
            "replica": self._holder,
            "sources_count": len(settings.sources),
            "now": self._clock(),
            "stopping": self._stopping(),
            "reload": last_reload(self.store),
            "store": engines.safe_url(settings.store.url),
            "admin": settings.daemon.admin_token is not None,
            "notice": {"kind": "ok", "text": NOTICES[said]} if said in NOTICES else None,
        }

    def _message(
        self, settings: Settings, status: int, heading: str, text: str, kind: str
    ) -> Reply:
        try:
            frame = self._frame(settings)
        except StoreError:
            frame = {**self._bare_frame(settings), "reload": None}
        return self.pages.render(
            "message.html", status=status, heading=heading, text=text, kind=kind, **frame
        )

    def _store_down(self, settings: Settings, exc: StoreError) -> Reply:
        frame = {**self._bare_frame(settings), "reload": None}
        return self.pages.render(
            "message.html",
            status=503,
            heading="The store does not answer",
            text=str(exc),
            kind="refused",
            **frame,
        )

    def _bare_frame(self, settings: Settings) -> dict[str, Any]:
        return {
            "replica": self._holder,
            "sources_count": len(settings.sources),
            "now": self._clock(),
            "stopping": self._stopping(),
            "store": engines.safe_url(settings.store.url),
            "admin": settings.daemon.admin_token is not None,
            "notice": None,
        }


def trigger_row(trigger: Trigger | None) -> dict[str, Any] | None:
    """A source's last trigger and the run that served one, JSON-ready (``/status``)."""
    if trigger is None:
        return None
    return {
        "at": trigger.at.isoformat(),
        "what": trigger.what,
        "changed_at": trigger.changed_at.isoformat() if trigger.changed_at else None,
        "serial": trigger.serial,
        "pending": trigger.pending,
        "served": trigger.done,
        "served_at": trigger.done_at.isoformat() if trigger.done_at else None,
        "served_status": trigger.done_status,
        "served_exit_code": trigger.done_exit,
        "freshness_s": round(trigger.freshness_s, 3) if trigger.freshness_s is not None else None,
    }


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _cross_site(request: Request) -> str | None:
    """Why ``request`` looks sent by another site's page; None when it does not."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Refused: the request came from another site (Sec-Fetch-Site: {fetch_site})."
    host = request.headers.get("host")
    # Origin when the browser sends it, else Referer; neither (curl): the token decides.
    sent = request.headers.get("origin") or request.headers.get("referer")
    if sent is not None and (sent == "null" or urlsplit(sent).netloc != host):
        return "Refused: the request came from another origin than this page."
    return None

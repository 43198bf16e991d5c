"""The daemon's alerts: each source's health kept in the store, a message per change.

After every run (``run_finished``, on the run's own thread, after its row is closed)
and every staleness check (``checked``, from housekeeping), the source's new health is
worked out (``syncer.alerts``); when it differs from the store's, the store row is
swapped by compare-and-set, and only the replica whose swap won queues the messages
(``syncer.daemon.webhooks``, which never blocks). So a transition is told once, however
many runs repeat it, whichever replica sees it first, and across restarts. Nothing is
read or written while no webhook is configured. Every text passes the redactor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from syncer import alerts
from syncer.config.alerts import AlertSettings
from syncer.config.settings import Settings
from syncer.daemon.webhooks import OnResult, Webhooks
from syncer.errors import StoreError
from syncer.redact import Redactor
from syncer.run import SourceReport
from syncer.status import stale_after
from syncer.store import Health, Store

# Tries of a compare-and-set that another replica keeps winning, before giving up.
SWAP_TRIES = 3
# How long a stopping daemon keeps delivering what is queued.
CLOSE_GRACE_S = 5.0


class Alerting:
    """Health transitions of this replica's sources, and the webhooks they go to."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        holder: str,
        clock: Callable[[], datetime],
        redactor: Callable[[], Redactor],
        on_result: OnResult = lambda _target, _kind, _result: None,
        log: structlog.typing.FilteringBoundLogger | None = None,
        webhooks: Callable[[AlertSettings, Redactor], Webhooks] | None = None,
    ) -> None:
        self.store = store
        self._holder = holder
        self._clock = clock
        self._redactor = redactor
        self._log = log or structlog.get_logger("syncer.alerts")
        self._make = webhooks or (lambda s, r: Webhooks(s, r, on_result=on_result))
        self.settings = settings
        self.webhooks = self._make(settings.alerts, redactor())

    def reconfigure(self, settings: Settings) -> None:
        """A reload: new targets if ``alerts:`` changed (the old ones finish in the background)."""
        old, self.settings = self.settings, settings
        if settings.alerts != old.alerts:
            retired, self.webhooks = self.webhooks, self._make(settings.alerts, self._redactor())
            retired.close(0.0)

    def close(self, grace: float = CLOSE_GRACE_S) -> None:
        self.webhooks.close(grace)

    def run_finished(self, report: SourceReport) -> None:
        """A run of ``report.source`` ended: alert if that changed its health."""
        if not self.webhooks.targets:
            return
        self._move(
            report.source,
            lambda state: alerts.after_run(state, report.status),
            errors=report.errors,
        )

    def checked(self, name: str, *, stale: bool, last_success: datetime | None) -> None:
        """Housekeeping judged ``name`` stale or not: alert if that changed its health."""
        if not self.webhooks.targets:
            return
        self._move(
            name,
            lambda state: alerts.after_check(
                state, stale=stale, ever_succeeded=last_success is not None
            ),
            last_success=last_success,
        )

    def _move(self, name: str, step: Callable[[alerts.State], alerts.State], **facts: Any) -> None:
        try:
            for _ in range(SWAP_TRIES):
                known = self.store.alerts.get(name)
                old = alerts.State(known.run_state, known.stale)
                new = step(old)
                if new == old:
                    return
                at = self._clock()
                if self.store.alerts.swap(name, known, Health(new.run, new.stale), at):
                    self._tell(name, old, new, at, **facts)
                    return
        except StoreError as exc:
            # The state is the store's: without it no message, rather than a repeated one.
            self._log.warning("alert_state_unavailable", source=name, error=str(exc))

    def _tell(
        self,
        name: str,
        old: alerts.State,
        new: alerts.State,
        at: datetime,
        *,
        errors: tuple[str, ...] = (),
        last_success: datetime | None = None,
    ) -> None:
        settings = self.settings
        source = next((s for s in settings.sources if s.name == name), None)
        redact = self._redactor().redact
        for kind in alerts.changes(old, new):
            alert = alerts.describe(
                kind,
                name,
                at=at,
                old=old,
                errors=[redact(error) for error in errors],
                last_success=last_success,
                stale_after=stale_after(source, settings) if source is not None else None,
                status_url=settings.alerts.status_url,
                replica=self._holder,
            )
            self._log.info("alert", kind=kind, source=name, text=redact(alert.text))
            self.webhooks.send(alert)

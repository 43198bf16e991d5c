"""Alert delivery: each webhook target has a queue and a thread of its own, so sending
never holds up a sync, and a dead target never holds up another.

``Webhooks.send`` only queues (at most ``QUEUE_LIMIT`` messages a target; past that
the oldest is dropped, and logged). Each target's thread POSTs its messages in order
through the one HTTP core (``syncer.http.core``): connection failures, 408, 425, 429
and 5xx are retried with jittered backoff doubling up to ``alerts.max_backoff_seconds``
(``Retry-After`` honoured), ``alerts.attempts`` tries in all; any other reply drops the
message. A lost reply may mean a message arrives twice: better than never. The URL and
headers of a target are secrets: logs name a target by its ``name`` only, and every
reason logged passes the daemon's redactor and the target's own.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import structlog

from syncer.alerts import Alert, json_payload, slack_payload
from syncer.config.alerts import AlertSettings, WebhookSettings
from syncer.errors import SyncerError
from syncer.http.backoff import Backoff, retry_after
from syncer.http.core import Done, Fail, Failure, HttpCore, Retry, Throttled, Verdict
from syncer.redact import Redactor

QUEUE_LIMIT = 1000
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Waited when a 429 names no Retry-After.
DEFAULT_THROTTLE_S = 5.0

OnResult = Callable[[str, str, str], None]  # target, kind, result: sent | failed | dropped


class _AbandonedError(Exception):
    """Raised out of a wait when the daemon stops: the message is given up."""


@dataclass
class _Service:
    """What a webhook's replies mean to the HTTP core: any 2xx is done."""

    name: str
    now: Callable[[], float] = time.time

    def pace(self) -> None:
        pass

    # ``ticket``: what ``pace`` handed out, where a core passes one; a webhook has no budget.
    def learn(self, reply: httpx.Response | None, ticket: object = None) -> None:
        pass

    def verdict(self, reply: httpx.Response | None, ticket: object = None) -> Verdict:
        if reply is None:
            return Retry()
        if reply.is_success:
            return Done()
        if reply.status_code == 429:
            wait = retry_after(reply.headers.get("retry-after"), self.now())
            return Throttled(DEFAULT_THROTTLE_S if wait is None else wait)
        return Retry() if reply.status_code in RETRY_STATUSES else Fail()

    def describe(self, reply: httpx.Response) -> str:
        text = " ".join(reply.text.split())[:200]
        return f"HTTP {reply.status_code}" + (f": {text}" if text else "")

    def error(self, failure: Failure) -> SyncerError:
        return SyncerError(
            f"webhook {self.name}: {failure.problem} after {failure.attempts} tries",
            target=self.name,
            status=failure.status,
        )


@dataclass
class _Target:
    name: str
    settings: WebhookSettings
    core: HttpCore
    url: str
    queue: queue.Queue[Alert] = field(default_factory=lambda: queue.Queue(QUEUE_LIMIT))
    thread: threading.Thread | None = None

    def wants(self, alert: Alert) -> bool:
        sources = self.settings.sources
        return alert.kind in self.settings.events and (not sources or alert.source in sources)


class Webhooks:
    """The configured targets, each with its queue and delivery thread."""

    def __init__(
        self,
        settings: AlertSettings,
        redactor: Redactor,
        *,
        on_result: OnResult = lambda _target, _kind, _result: None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._log = structlog.get_logger("syncer.alerts")
        self._on_result = on_result
        self._stop = threading.Event()
        self._deadline: float | None = None
        self.targets = [
            self._target(n, webhook, settings, redactor, jitter)
            for n, webhook in enumerate(settings.webhooks, start=1)
        ]
        for target in self.targets:
            target.thread = threading.Thread(
                target=self._deliver_forever,
                args=(target,),
                name=f"webhook-{target.name}",
                daemon=True,
            )
            target.thread.start()

    def send(self, alert: Alert) -> None:
        """Queue ``alert`` for every target that wants it; never blocks."""
        for target in self.targets:
            if not target.wants(alert):
                continue
            while True:
                try:
                    target.queue.put_nowait(alert)
                    break
                except queue.Full:
                    try:
                        dropped = target.queue.get_nowait()
                    except queue.Empty:
                        continue
                    self._log.warning(
                        "alert_dropped", target=target.name, kind=dropped.kind, reason="queue full"
                    )
                    self._on_result(target.name, dropped.kind, "dropped")

    def close(self, grace: float) -> None:
        """Deliver what is queued for up to ``grace`` seconds, then give the rest up."""
        self._deadline = time.monotonic() + grace
        self._stop.set()
        for target in self.targets:
            if target.thread is not None:
                target.thread.join(max(0.0, self._deadline - time.monotonic()))
        self._deadline = 0.0  # wake any thread still waiting out a backoff
        for target in self.targets:
            target.core.close()

    def _target(
        self,
        n: int,
        webhook: WebhookSettings,
        settings: AlertSettings,
        redactor: Redactor,
        jitter: Callable[[], float],
    ) -> _Target:
        name = webhook.name or f"webhook-{n}"
        url = webhook.url.get_secret_value()
        parts = urlsplit(url)
        # The URL (a Slack URL is its own credential) and its path, in every form.
        own = Redactor([url, parts.path, parts.path.lstrip("/")])
        headers = {"Content-Type": "application/json", "User-Agent": "syncer-alerts"}
        headers.update({k: v.get_secret_value() for k, v in webhook.headers.items()})
        core = HttpCore(
            _Service(name),
            base_url=f"{parts.scheme}://{parts.netloc}",
            headers=headers,
            timeout=settings.timeout_seconds,
            redactor=redactor | own,
            backoff=Backoff(
                base=1.0,
                cap=settings.max_backoff_seconds,
                attempts=settings.attempts,
                rate_limit_attempts=settings.attempts,
                jitter=jitter,
            ),
            sleep=self._wait,
            max_connections=2,
            max_wait=settings.max_backoff_seconds,
            name="alerts",
        )
        return _Target(name, webhook, core, url)

    def _wait(self, seconds: float) -> None:
        """A backoff; cut short (and the message given up) once the daemon stops."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if self._deadline is not None and time.monotonic() >= self._deadline:
                raise _AbandonedError
            if left <= 0:
                return
            time.sleep(min(left, 0.1))

    def _deliver_forever(self, target: _Target) -> None:
        while True:
            try:
                alert = target.queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if self._deadline is not None and time.monotonic() >= self._deadline:
                self._give_up(target, [alert])
                return
            self._deliver(target, alert)

    def _deliver(self, target: _Target, alert: Alert) -> None:
        body = slack_payload(alert) if target.settings.format == "slack" else json_payload(alert)
        try:
            target.core.request(
                "POST", target.url, idempotent=True, path=f"webhook {target.name}", json=body
            )
        except _AbandonedError:
            self._give_up(target, [alert])
            return
        except SyncerError as exc:
            self._log.error(
                "alert_failed",
                target=target.name,
                kind=alert.kind,
                source=alert.source,
                error=str(exc),
            )
            self._on_result(target.name, alert.kind, "failed")
            return
        self._log.info("alert_sent", target=target.name, kind=alert.kind, source=alert.source)
        self._on_result(target.name, alert.kind, "sent")

    def _give_up(self, target: _Target, alerts: Sequence[Alert]) -> None:
        left = list(alerts)
        while True:
            try:
                left.append(target.queue.get_nowait())
            except queue.Empty:
                break
        for alert in left:
            self._log.warning(
                "alert_dropped", target=target.name, kind=alert.kind, reason="shutting down"
            )
            self._on_result(target.name, alert.kind, "dropped")

"""One replica per source: claim a source's lease before a run, renew it while the run goes on.

The run also holds its source's lock (``syncer.store.locks``), which keeps any two runs
apart, one-shot ones included; the lease adds the replica's view: who holds what for
``/status``, and a clock that a paused replica cannot outrun (``valid``).

The lease rows live in the store (``Store.acquire_lease`` and friends). A background
thread renews every held lease a few times per lease period. When a renewal finds the
lease gone (another replica took it after this one stalled) or the store unreachable
for most of the lease period, the run's stop event is set, so it stops between
documents before another replica can have started: a replica that is merely slow does
not sync a source alongside the one that took over.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog

from syncer.errors import StoreError
from syncer.store import Store

# Renew this many times per lease period: two renewals can fail before it runs out.
RENEWALS_PER_LEASE = 3
# Stop a run when renewals have failed for this share of the lease period.
GIVE_UP_FRACTION = 2 / 3


def replica_id() -> str:
    """This process's name in lease rows: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class _Held:
    stop: threading.Event
    renewed: float  # monotonic time of the last successful claim or renewal


class Leases:
    """This replica's leases: ``claim`` one around a run; ``close`` ends the renewals."""

    def __init__(
        self,
        store: Store,
        holder: str,
        ttl: timedelta,
        *,
        on_lost: Callable[[str], None] = lambda _source: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.holder = holder
        self.ttl = ttl
        self._on_lost = on_lost
        self._monotonic = monotonic
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._log = structlog.get_logger("syncer.daemon").bind(replica=holder)
        self._thread = threading.Thread(
            target=self._renew_forever, name="lease-renewer", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop renewing (held leases then expire unless released)."""
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join()

    @contextmanager
    def claim(self, source: str, stop: threading.Event) -> Iterator[bool]:
        """Hold ``source`` 's lease inside the block; yields False if another replica has it.

        While held, a lost lease sets ``stop``. Leaving the block releases the lease.
        """
        if not self.store.leases.acquire(source, self.holder, self.ttl):
            yield False
            return
        with self._lock:
            self._held[source] = _Held(stop, self._monotonic())
        try:
            yield True
        finally:
            with self._lock:
                self._held.pop(source, None)
            try:
                self.store.leases.release(source, self.holder)
            except StoreError as exc:
                # It expires by itself; the other replicas wait at most one lease period.
                self._log.warning("lease_release_failed", source=source, error=str(exc))

    def valid(self, source: str) -> bool:
        """Whether this replica may still write for ``source``: asked before every write.

        True while the last successful claim or renewal is recent enough that no other
        replica can have taken the lease (it expires a whole ``ttl`` after it, and this
        stops at ``GIVE_UP_FRACTION`` of that). The monotonic clock runs on while the
        process is paused, so a replica woken after a long pause answers False at once,
        before its renewer has had a chance to notice.
        """
        with self._lock:
            entry = self._held.get(source)
            if entry is None:
                return False
            renewed = entry.renewed
        return self._monotonic() - renewed < self.ttl.total_seconds() * GIVE_UP_FRACTION

    def held(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    def renew_all(self) -> None:
        """One round of renewals (the thread calls this; tests may too)."""
        with self._lock:
            held = list(self._held.items())
        for source, entry in held:
            try:
                ok = self.store.leases.renew(source, self.holder, self.ttl)
            except StoreError as exc:
                stalled = self._monotonic() - entry.renewed
                if stalled < self.ttl.total_seconds() * GIVE_UP_FRACTION:
                    self._log.warning("lease_renewal_failed", source=source, error=str(exc))
                    continue
                ok = False
            if ok:
                entry.renewed = self._monotonic()
                continue
            if not entry.stop.is_set():
                self._log.error("lease_lost", source=source)
                entry.stop.set()
                self._on_lost(source)

    def _renew_forever(self) -> None:
        interval = self.ttl.total_seconds() / RENEWALS_PER_LEASE
        while not self._closed.wait(interval):
            self.renew_all()

"""The daemon's Intercom clients: the one in use, and those a reload replaced.

Each run takes the current config and its client for as long as it runs (``take`` /
``give_back``); a reload that changes ``intercom:`` brings a new client in, and the old
one is closed once its last run gives it back. The request counters of closed clients
are kept, so ``/metrics`` never goes back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from syncer.config.settings import Settings
from syncer.http.core import Stats
from syncer.intercom.client import IntercomClient


@dataclass
class Runtime:
    """What one loaded config gives the runs: its settings and its Intercom client."""

    settings: Settings
    client: IntercomClient
    users: int = 0
    retired: bool = False  # a reload replaced it: close the client when users hit 0


class ClientPool:
    """The current ``Runtime`` and the counters of every client ever used; thread-safe."""

    def __init__(self, settings: Settings, client: IntercomClient) -> None:
        self._lock = threading.Lock()
        self._current = Runtime(settings, client)
        self._closed = Stats()
        self._live = [client]

    @property
    def current(self) -> Runtime:
        with self._lock:
            return self._current

    def take(self) -> Runtime:
        """The current runtime, held until ``give_back``."""
        with self._lock:
            self._current.users += 1
            return self._current

    def give_back(self, runtime: Runtime) -> None:
        with self._lock:
            runtime.users -= 1
            self._close_if_retired(runtime)

    def replace(self, settings: Settings, client: IntercomClient) -> Runtime:
        """Make ``settings`` (and ``client``, new or the same) current; the old runtime."""
        with self._lock:
            old, self._current = self._current, Runtime(settings, client)
            if client is not old.client:
                self._live.append(client)
                old.retired = True
                self._close_if_retired(old)
            return old

    def totals(self) -> Stats:
        """Intercom calls of every client, closed or live."""
        with self._lock:
            total = Stats()
            total.add(self._closed)
            for client in self._live:
                total.add(client.transport.stats)
        return total

    def close(self) -> None:
        with self._lock:
            for client in self._live:
                client.close()

    def _close_if_retired(self, runtime: Runtime) -> None:
        # Called with self._lock held.
        if not runtime.retired or runtime.users:
            return
        runtime.client.close()
        self._closed.add(runtime.client.transport.stats)
        self._live.remove(runtime.client)
        runtime.retired = False

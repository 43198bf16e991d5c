"""The last check before a write leaves: may this run still write for its source?

A sync run's worker sets ``SEND_GUARD`` around each write it makes (``syncer.run``); the
Intercom transport asks it right before each attempt goes on the wire, after any wait
for the rate limit, so the gap between the question and the send is as short as it can
be. A run that was told to stop, or lost its source lock (a process paused while its
lock's connection was cut finds that out here, on waking), gets ``FencedError`` instead
of a call.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

# Unset: every call may go (``syncer api``, listings outside a run).
SEND_GUARD: ContextVar[Callable[[], bool] | None] = ContextVar("send_guard", default=None)

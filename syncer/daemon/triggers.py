"""What a trigger of a source led to (``Daemon.trigger``), as routes and clients see it."""

from __future__ import annotations

from dataclasses import dataclass

# started: a run begins now; queued: the run under way is followed by one more.
ACCEPTED = ("started", "queued")


@dataclass(frozen=True, slots=True)
class Triggered:
    """``outcome`` (started, queued, unknown, stopping, unrecorded) and the trigger's
    serial in the store (0 when it was not recorded)."""

    outcome: str
    serial: int = 0

    @property
    def accepted(self) -> bool:
        return self.outcome in ACCEPTED

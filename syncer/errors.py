"""The one error tree of syncer, sorted by how the program reacts to each branch.

::

    SyncerError                      base; carries context as keyword attributes
    ├── ConfigError                  exit 2; holds every Problem found, each with file:line
    ├── StoreError                   exit 2; the store is unreachable or its schema is behind
    ├── SourceError                  stop this source, keep the others (exit 1)
    ├── SafetyStopError                   a guard held deletions back (exit 3)
    ├── FencedError                  a write refused before it left: the run was stopped,
    │                                or lost its source lock (run interrupted)
    └── IntercomError                an Intercom reply that was not a success
        ├── NotFoundError            404: the object is not there (a delete may count it done)
        ├── RetryableError           429, 5xx, timeouts, dropped connections: back off, retry
        └── FatalIntercomError       401/403: the token is wrong; stop the run (exit 1)

Per-document problems are not exceptions: connectors return ``model.Failure`` values, the
run records them and carries on. No error ever holds a secret: settings hold secrets as
``Secret`` values, which print as ``***``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SyncerError(Exception):
    """Base of every error syncer raises on purpose.

    Context goes in keyword attributes (``source=``, ``external_id=``, ``status=``...), so
    structured logs can carry it as fields rather than prose.
    """

    exit_code = 1

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config: where, which key, what, and what to do."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(SyncerError):
    """The config cannot be used; ``problems`` lists every reason at once."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"{len(problems)} config {noun}:\n" + "\n".join(f"  {p}" for p in problems)
        )


class UsageError(SyncerError):
    """The command line asked for something that cannot be done (exit 2)."""

    exit_code = 2


class StoreError(SyncerError):
    """The store cannot be opened or its schema does not match this version (exit 2)."""

    exit_code = 2


class SourceError(SyncerError):
    """A whole source failed (unreachable, bad credentials); other sources go on."""


class SafetyStopError(SyncerError):
    """A safety guard held a run's deletions back (exit 3)."""

    exit_code = 3


class FencedError(SyncerError):
    """A write was refused before it was sent: its run was told to stop, or may no longer
    be the only one writing for its source (its source lock was lost).

    ``attempts`` (in ``context``): how many earlier attempts of the same call did go out;
    0 means Intercom never heard of it.
    """


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of Intercom's ``error.list``: what went wrong, and with which field."""

    code: str
    message: str | None = None
    field: str | None = None


class IntercomError(SyncerError):
    """A failed Intercom call, with status, request id and error codes; never the token.

    ``errors`` holds every entry of the reply's ``error.list``; ``code`` and ``field``
    are the first one's. On its own (a 400 or 422 for one page) it is a per-document
    problem: the run records it and goes on.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        codes: tuple[str, ...] = (),
        errors: tuple[ErrorDetail, ...] = (),
        **context: Any,
    ) -> None:
        codes = codes or tuple(e.code for e in errors)
        super().__init__(message, status=status, request_id=request_id, codes=codes, **context)
        self.status = status
        self.request_id = request_id
        self.codes = codes
        self.errors = errors

    @property
    def code(self) -> str | None:
        """The first error's code (``not_found``, ``parameter_invalid``, ...)."""
        return self.codes[0] if self.codes else None

    @property
    def field(self) -> str | None:
        """The field the first error names, when Intercom names one."""
        return self.errors[0].field if self.errors else None


class NotFoundError(IntercomError):
    """404: the object (or the path) does not exist."""


class RetryableError(IntercomError):
    """429, 5xx, a timeout or a dropped connection: worth retrying after a wait."""


class FatalIntercomError(IntercomError):
    """401 or 403: the token is wrong or lacks a scope; no other call will fare better."""

"""Configure structlog once, first thing: JSON lines in containers, console on a TTY.

Events are stable snake_case facts with fields (``source_listed``, ``page_upserted``),
written to stderr so that stdout stays free for plans and ``--json`` reports.

No log line carries a configured secret: ``configure`` returns a `LogSecrets` handle,
empty at first (the config is not loaded yet), and the entry point hands it the loaded
settings' `Redactor` (``add_secrets``). From then on every string value of every event
is redacted before rendering, and the rendered line once more (a value that is not a
string, such as an exception object, shows its secret only once rendered).

structlog is imported by ``configure``, not with this module: ``syncer --help`` never
logs. Importing structlog imports its console renderer, which imports rich and pygments
for tracebacks on a terminal (about 35 ms); JSON lines need neither, so when the first
configuration renders JSON, structlog is imported with rich hidden (`_import_structlog`).
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, TextIO

from syncer.redact import Redactor

if TYPE_CHECKING:
    from structlog.typing import EventDict, Processor, WrappedLogger


class _Stderr:
    """Whatever ``sys.stderr`` is at the moment of writing (tests swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


class LogSecrets:
    """The secrets log events are scrubbed of; ``configure`` returns it (see the module
    docstring). Thread-safe: adding swaps in a new, immutable ``Redactor``."""

    def __init__(self) -> None:
        self._redactor = Redactor()

    def add_secrets(self, redactor: Redactor) -> None:
        """Redact ``redactor``'s secrets too, from the next event on."""
        self._redactor = self._redactor | redactor

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        """The processor: every string in the event, keys and nested values included."""
        redactor = self._redactor
        if not redactor:
            return event
        return {_scrub(key, redactor): _scrub(value, redactor) for key, value in event.items()}

    def rendered(self, renderer: Processor) -> Processor:
        """``renderer``, its output redacted too."""

        def render(logger: WrappedLogger, method: str, event: EventDict) -> Any:
            line = renderer(logger, method, event)
            return self._redactor.redact(line) if isinstance(line, str) else line

        return render


def _scrub(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {_scrub(k, redactor): _scrub(v, redactor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(item, redactor) for item in value)
    return value


def configure(
    *, json: bool | None = None, level: str = "info", stream: TextIO | None = None
) -> LogSecrets:
    """Set up structlog; ``json=None`` means JSON unless ``stream`` is a terminal.

    Returns the handle that takes the secrets to redact once the config is loaded.
    """
    out: TextIO = stream or _Stderr()  # type: ignore[assignment]  # duck-typed: write/flush
    if json is None:
        json = not out.isatty()
    _import_structlog(console=not json)
    import structlog

    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    secrets = LogSecrets()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            secrets,
            secrets.rendered(renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    return secrets


def _import_structlog(*, console: bool) -> None:
    """Import structlog, without rich unless ``console`` (see the module docstring).

    structlog's dev module looks for rich once, when it is imported, to choose how the
    console renderer shows tracebacks; if it was imported without rich and a console is
    wanted later in the same process, the dev module is read again, with rich.
    """
    if "structlog" not in sys.modules and not console and "rich" not in sys.modules:
        sys.modules["rich"] = None  # type: ignore[assignment]  # so `import rich` fails
        try:
            import structlog
        finally:
            del sys.modules["rich"]
        return
    import structlog

    if console and getattr(structlog.dev, "rich", None) is None and find_spec("rich"):
        importlib.reload(structlog.dev)

"""The ``syncer`` command line: parse arguments, load config once, call the right module.

Every error syncer raises on purpose ends here as one clear message on stderr and an
exit code (``EXIT_CODES``: 0 ok, 1 some documents or sources failed, 2 bad usage or
config, 3 a safety guard held deletions back, 130 stopped by Ctrl-C or SIGTERM). Logging
is configured before anything else runs; its options (``--log-level``, ``--log-format``,
``-v``, ``-q``) go before or after the command. A reader that goes away (``syncer api
--list | head``) ends the output, not the command: the rest goes nowhere and the command
exits with its own code, without a traceback.

Each command imports what it needs when it runs, so that a short command is not mostly
start-up: ``syncer --help`` imports no database, HTTP, validation or logging library,
``validate`` no database or HTTP one (``tests/test_startup.py`` holds them to it).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO, cast

from syncer import __version__, logs, registry
from syncer.errors import ConfigError, SyncerError, UsageError
from syncer.intercom import cli as api_cli
from syncer.redact import RedactingStream, Redactor

if TYPE_CHECKING:
    from syncer.config.settings import Settings
    from syncer.run import SourceReport

# One-shot runs wait this long for a source another run holds, then skip it: enough for
# a scheduled run that overlaps the one before it to start once that one is done.
DEFAULT_LOCK_WAIT_S = 600.0
LOG_LEVELS = ("debug", "info", "warning", "error")
EXIT_CODES = """exit codes:
  0    success
  1    some documents or sources failed (validate --online: a check failed)
  2    bad usage or config (every config problem is listed, with file:line)
  3    a safety guard held deletions back (--allow-mass-delete to let them go)
  130  stopped by Ctrl-C or SIGTERM (the calls in flight were finished and recorded)"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code.

    Nothing printed or logged carries a configured secret: stdout and stderr are
    redacting streams for the whole command, and ``_load`` hands the loaded settings to
    ``args.on_settings``, which gives their secrets to the streams and the log handle.
    """
    # Third-party connector types are found through package metadata (importlib.metadata,
    # tens of ms), so the first parse knows only the built-in ones; a command it does not
    # know, or any other mistake, is parsed again by the whole parser, which names a
    # plugin's type or reports the mistake as it always did.
    parser = _parser(plugins=False)
    try:
        args, extra = parser.parse_known_args(argv)
    except argparse.ArgumentError:
        parser = _parser(plugins=True)
        args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "handler", None) is not _connector_command:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        # An option right after a connector type's name (`syncer confluence --help`)
        # is that type's to read, not ours.
        args.connector_args = [*extra, *args.connector_args]
    if getattr(args, "handler", None) is _connector_command:
        args.connector_args = _take_log_options(args, args.connector_args)
    log_format = getattr(args, "cmd_log_format", args.log_format)
    log_secrets = logs.configure(
        json={"json": True, "console": False}.get(log_format), level=_log_level(args)
    )
    out = RedactingStream(cast(TextIO, _PipeSafe(sys.stdout)))
    err = RedactingStream(cast(TextIO, _PipeSafe(sys.stderr)))

    def on_settings(settings: Settings) -> None:
        redactor = Redactor.from_settings(settings)
        for holder in (log_secrets, out, err):
            holder.add_secrets(redactor)

    args.on_settings = on_settings
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cast(TextIO, out), cast(TextIO, err)  # duck-typed streams
    try:
        if not getattr(args, "handler", None):
            parser.print_help(sys.stderr)
            return 2
        try:
            code: int = args.handler(args)
        except SyncerError as exc:
            print(f"syncer: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("syncer: interrupted", file=sys.stderr)
            return 130
        except Exception:
            # A bug's traceback goes out through the redacting stderr too (exit 1, as
            # Python's own handler would give), not through the interpreter's after main.
            traceback.print_exc()
            return 1
        return code
    finally:
        out.flush()
        err.flush()
        sys.stdout, sys.stderr = saved


def _parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """The whole command line; without ``plugins``, only the built-in connector types
    (and mistakes raise ``ArgumentError`` instead of exiting: see ``main``)."""
    parser = argparse.ArgumentParser(
        prog="syncer",
        description="Keep Intercom Fin's External Pages equal to your sources.",
        epilog="Connectors add commands of their own: syncer TYPE COMMAND (e.g. syncer "
        "confluence preview PAGE_ID); syncer TYPE --help lists a type's commands.\n\n" + EXIT_CODES,
        formatter_class=_Formatter,
        exit_on_error=plugins,
    )
    parser.add_argument("--version", action="version", version=f"syncer {__version__}")
    _log_options(parser, top=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        name: str,
        handler: Any,
        help_text: str,
        within: argparse._SubParsersAction[argparse.ArgumentParser] = commands,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        sub = within.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            epilog=EXIT_CODES,
            formatter_class=_Formatter,
        )
        sub.set_defaults(handler=handler)
        _log_options(sub, top=False)
        return sub

    config_option = _config_option

    def lock_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--lock-timeout",
            type=float,
            default=DEFAULT_LOCK_WAIT_S,
            metavar="SECONDS",
            help="how long to wait for a source another run is syncing (default "
            f"{DEFAULT_LOCK_WAIT_S:g}); then that source is skipped (exit 1)",
        )

    sub = command(
        "init",
        _init,
        "Write a commented starter config for one source type; say what to run next.",
        description="Write a commented starter config (default: $SYNCER_CONFIG, else "
        "./syncer.yaml) for a source of type TYPE, with the keys a first sync needs, and "
        "print the two commands to run next. An existing file is never replaced without "
        "--force.",
    )
    sub.add_argument(
        "kind",
        nargs="?",
        default="filesystem",
        choices=["filesystem", "git", "confluence"],
        metavar="TYPE",
        help="the source type: filesystem (default), git or confluence",
    )
    sub.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help="the file to write (default: $SYNCER_CONFIG, else ./syncer.yaml)",
    )
    sub.add_argument("--force", action="store_true", help="replace the file if it exists")

    sub = command(
        "validate",
        _validate,
        "Check the config; list every problem with file:line.",
        description="Check the config without contacting anything: every problem at once, "
        "each with file:line, what is wrong and what to do. A config needs sources: and, "
        "to sync them, an intercom: token (sync --dry-run needs none). --online also asks "
        "Intercom whether the token works, opens the store (read-only) and lists each "
        "source, and says which of them failed (exit 1).",
    )
    config_option(sub)
    sub.add_argument(
        "--online",
        action="store_true",
        help="also check the token with Intercom, the store, and that each source lists",
    )

    sub = command("sync", _sync, "One pass over the sources.")
    config_option(sub)
    sub.add_argument(
        "--source", action="append", default=[], metavar="NAME", help="only this source"
    )
    sub.add_argument(
        "--dry-run", action="store_true", help="print the plan; write nothing anywhere"
    )
    sub.add_argument("--full", action="store_true", help="re-read and re-send every document")
    sub.add_argument(
        "--diff",
        action="store_true",
        help="with --dry-run: for each page it would update, a diff of the text Fin would "
        "read (as Markdown) against what Intercom holds now (one call a page; needs the token)",
    )
    sub.add_argument("--json", action="store_true", help="print one machine-readable report")
    sub.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="let a run delete more than max_delete_fraction of a source's pages",
    )
    lock_option(sub)

    sub = command(
        "reconcile",
        _reconcile,
        "Check the store against Intercom's pages; report (or delete) orphan pages.",
    )
    config_option(sub)
    sub.add_argument(
        "--source", action="append", default=[], metavar="NAME", help="only this source"
    )
    sub.add_argument(
        "--delete-orphans",
        action="store_true",
        help="delete pages no document claims (complete listings only, under the guard)",
    )
    sub.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="with --delete-orphans: delete more than max_delete_fraction of a source's pages",
    )
    sub.add_argument("--json", action="store_true", help="print one machine-readable report")
    lock_option(sub)

    sub = command(
        "daemon", _daemon, "Long-running: scheduled syncs, /healthz /readyz /metrics /status."
    )
    config_option(sub)
    sub.add_argument(
        "--migrate", action="store_true", help="upgrade the store's schema before starting"
    )

    sub = command(
        "worker",
        _worker,
        "Run sources' sync jobs that daemons defer (daemon.engine: procrastinate; Postgres).",
        description="Run the sync jobs that daemons with daemon.engine: procrastinate defer "
        "to the store's PostgreSQL, until SIGTERM or SIGINT (the runs under way stop "
        "between documents and their jobs go to another worker). Start any number, on "
        "any machines, with the daemon's config; a worker that dies has its job retried "
        "by another. With a SQLite store, syncer daemon runs everything in one process.",
    )
    config_option(sub)
    sub.add_argument(
        "--concurrency",
        type=int,
        default=1,
        metavar="N",
        help="sources this worker syncs at once (default 1)",
    )
    sub.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve /healthz, /readyz and /metrics on this port of daemon.host "
        "(default daemon.port; 0: any free port)",
    )

    sub = command(
        "trigger",
        _trigger,
        "Ask a running daemon to sync one source now (for CI, after a merge).",
    )
    config_option(sub)
    sub.add_argument("source", metavar="SOURCE", help="the source's name")
    sub.add_argument(
        "--wait", action="store_true", help="wait for the run and exit with its exit code"
    )
    sub.add_argument(
        "--url",
        metavar="URL",
        help="the daemon (default: $SYNCER_URL, else the config's daemon.host and daemon.port); "
        "the admin token is $SYNCER_ADMIN_TOKEN, else daemon.admin_token",
    )
    sub.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="with --wait: give up after this long (exit 1; default 3600)",
    )

    sub = command("api", _api, "Call any Intercom operation by its operationId; print JSON.")
    config_option(sub)
    api_cli.add_arguments(sub)

    sub = command(
        "preview",
        _preview,
        "Print the HTML Fin would get for one document (stdout); title, URL, notes on stderr.",
    )
    config_option(sub)
    sub.add_argument("source", metavar="SOURCE", help="the source's name")
    sub.add_argument("key", metavar="KEY", help="the document's key (a path, a page id)")
    sub.add_argument(
        "--markdown",
        action="store_true",
        help="print the text Fin would read (title, then the HTML as Markdown), as "
        "sync --dry-run --diff compares it",
    )

    sub = command("status", _status, "Last run per source: counts, failures, staleness.")
    config_option(sub)
    sub.add_argument("--json", action="store_true", help="print the table as JSON")

    db = commands.add_parser(
        "db",
        help="Store schema migrations.",
        description="The store's schema: syncer db upgrade migrates it to this release's.",
    )
    db_commands = db.add_subparsers(title="db commands", metavar="COMMAND")
    sub = command(
        "upgrade",
        _db_upgrade,
        "Migrate the store to the newest schema.",
        db_commands,
        "Migrate the store (store.url) to this release's schema and print its revision. "
        "A SQLite store is migrated by the first sync on its own; run this once per "
        "release for a Postgres store (or start the daemon with --migrate). Safe to run "
        "again: a store already at the newest schema is left as it is.",
    )
    config_option(sub)

    config = commands.add_parser(
        "config",
        help="Config helpers.",
        description="Helpers for syncer.yaml: its JSON Schema.",
    )
    config_commands = config.add_subparsers(title="config commands", metavar="COMMAND")
    sub = command(
        "schema",
        _config_schema,
        "Print the config's JSON Schema.",
        config_commands,
        "Print the JSON Schema (2020-12) of syncer.yaml on stdout, every installed "
        "connector's source settings included, for editor completion and checks: e.g. "
        "syncer config schema > syncer.schema.json, then point your editor's YAML "
        "support at it. syncer validate checks more (folders, variables, file:line).",
    )

    # `syncer TYPE COMMAND ...`: commands a connector type adds (syncer.connector.Command).
    # Only the type's name is known here; its parser is built when it is used, so no
    # connector is imported to start any other command.
    for kind in registry.available() if plugins else registry.builtin():
        if kind in commands.choices:
            continue
        sub = commands.add_parser(kind, add_help=False)
        sub.add_argument("connector_args", nargs=argparse.REMAINDER)
        sub.set_defaults(handler=_connector_command, connector_type=kind)
    return parser


class _Formatter(argparse.HelpFormatter):
    """Wraps each paragraph; a block with indented lines (the exit codes) stays as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.split("\n\n"):
            lines = block.splitlines()
            if any(line.startswith(" ") for line in lines[1:]):
                blocks.append("\n".join(indent + line for line in lines))
            else:
                blocks.append(super()._fill_text(block, width, indent))
        return "\n\n".join(blocks)


def _log_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The logging options, on ``syncer`` and again on each command.

    A command's copy writes ``cmd_*`` and has no default, so ``syncer sync --log-level
    debug`` and ``syncer --log-level debug sync`` mean the same, and the command's wins.
    """
    prefix = "" if top else "cmd_"

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("logging (before or after the command)")
    group.add_argument(
        "--log-level",
        dest=f"{prefix}log_level",
        default=default("info"),
        choices=LOG_LEVELS,
        help="the least important events logged (default info)",
    )
    group.add_argument(
        "--log-format",
        dest=f"{prefix}log_format",
        default=default("auto"),
        choices=["auto", "json", "console"],
        help="auto: console on a terminal, JSON lines otherwise",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest=f"{prefix}verbose",
        action="count",
        default=default(0),
        help="one level more detail than --log-level (-v: debug events)",
    )
    group.add_argument(
        "-q",
        "--quiet",
        dest=f"{prefix}quiet",
        action="count",
        default=default(0),
        help="one level less per -q: -q warnings and errors only, -qq errors only",
    )


def _log_level(args: argparse.Namespace) -> str:
    """The level the logging options add up to, wherever they were given."""
    base = getattr(args, "cmd_log_level", args.log_level)
    shift = (args.quiet + getattr(args, "cmd_quiet", 0)) - (
        args.verbose + getattr(args, "cmd_verbose", 0)
    )
    index = min(max(LOG_LEVELS.index(base) + shift, 0), len(LOG_LEVELS) - 1)
    return LOG_LEVELS[index]


def _take_log_options(args: argparse.Namespace, connector_args: list[str]) -> list[str]:
    """``syncer confluence preview 123 -v``: the logging options are ours, the rest the
    connector's (its parser is built later, after logging is configured)."""
    ours = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _log_options(ours, top=False)
    found, rest = ours.parse_known_args(connector_args)
    for name, value in vars(found).items():
        setattr(args, name, value)
    return rest


class _PipeSafe:
    """A stream whose reader may go away (``syncer api --list | head``).

    Once a write meets a closed pipe, the rest of the output goes nowhere, and the
    command goes on to its own exit code. The file descriptor is pointed at /dev/null,
    so what the interpreter flushes at exit does not meet the closed pipe again (the
    recipe of Python's ``signal`` docs, "Note on SIGPIPE").
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self._lost(exc)
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except OSError as exc:
                self._lost(exc)

    def _lost(self, exc: OSError) -> None:
        if exc.errno not in (errno.EPIPE, errno.EINVAL):  # EINVAL: Windows' closed pipe
            raise exc
        self.reader_gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # not a file (a test's capture): nothing will flush it at exit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _config_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help="config file (default: $SYNCER_CONFIG, else ./syncer.yaml)",
    )


def _load(args: argparse.Namespace) -> Settings:
    from syncer.config import loader

    # What the config points at (folders) is checked by `validate`, and by each source's
    # run for itself: one missing folder must not stop the other sources.
    settings = loader.load(args.config or loader.default_config_path(), check_environment=False)
    args.on_settings(settings)  # main(): redact the config's secrets from every output
    return settings


def _check_sources(settings: Settings, names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in {s.name for s in settings.sources}]
    if unknown:
        known = ", ".join(s.name for s in settings.sources) or "none"
        raise UsageError(f"no source named {', '.join(unknown)} in the config (sources: {known})")


def _init(args: argparse.Namespace) -> int:
    from syncer import init

    default = _default_config_path()
    path = args.config or default
    text = init.starter(args.kind)
    try:
        with path.open("w" if args.force else "x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise UsageError(
            f"{path} exists; pass --force to replace it, or -c FILE to write another file"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(init.next_steps(path, args.kind, default_path=path == default))
    return 0


def _default_config_path() -> Path:
    # config.loader's own, without importing YAML and pydantic for a command that needs neither.
    return Path(os.environ.get("SYNCER_CONFIG") or "syncer.yaml")


def _validate(args: argparse.Namespace) -> int:
    from syncer.config import loader

    path = args.config or loader.default_config_path()
    try:
        settings = loader.load(path, for_sync=True)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        noun = "problem" if len(exc.problems) == 1 else "problems"
        print(f"{path}: {len(exc.problems)} {noun}", file=sys.stderr)
        return 2
    names = ", ".join(f"{s.name} ({s.type})" for s in settings.sources) or "no sources"
    print(f"{path}: ok: {names}")
    if not args.online:
        return 0
    from syncer.online import checks

    args.on_settings(settings)  # main(): what a check prints is redacted of the secrets
    failed = []
    for check in checks(settings):
        print(check, flush=True)
        if not check.ok:
            failed.append(check.what)
    if failed:
        print(f"{path}: online: {len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _settle_heap() -> None:
    """Take what is loaded so far (modules, the config) out of the collector's reach.

    It lives as long as the process, yet every full collection scans it again, the one
    at exit too: ``gc.freeze`` spares them that (a 10,000-file no-op sync: 0.25 s of
    its 1.1). Garbage that is made later is collected as before.
    """
    import gc

    gc.freeze()


def _sync(args: argparse.Namespace) -> int:
    from syncer import report
    from syncer.intercom.client import IntercomClient
    from syncer.intercom.publisher import IntercomPublisher
    from syncer.progress import progress_for
    from syncer.run import Options, exit_code, sync
    from syncer.store import Store

    if args.diff and not args.dry_run:
        raise UsageError("--diff shows what a dry run would change; add --dry-run")
    settings = _load(args)
    _check_sources(settings, args.source)
    _settle_heap()
    options = Options(
        dry_run=args.dry_run, full=args.full, allow_mass_delete=args.allow_mass_delete
    )
    # A dry run calls Intercom only to read the pages it would update, for --diff.
    wants_intercom = not args.dry_run or args.diff
    client = IntercomClient.from_settings(settings.intercom) if wants_intercom else None
    publisher = None
    if client is not None and not args.dry_run:
        publisher = IntercomPublisher(client, concurrency=settings.intercom.concurrency)
    differ = None
    if args.diff and client is not None:
        from syncer.diff import Differ

        reader = client

        def read_page(page_id: str) -> tuple[str, str]:
            page = reader.ai_content.get_external_page(page_id)
            return page.title, page.html

        differ = Differ(read_page)
    url = settings.store.url
    try:
        redact = Redactor.from_settings(settings).redact
        store = (
            Store.open_read_only(url)
            if args.dry_run
            else Store.open(url, migrate=_local(url), redact=redact)
        )
    except BaseException:
        if client is not None:
            client.close()
        raise
    try:
        with progress_for(sys.stderr, enabled=not args.json) as progress, _stopping() as stop:
            reports = sync(
                settings,
                store,
                publisher,
                options,
                sources=args.source,
                cache_dir=settings.cache_dir,
                progress=progress,
                stop=stop,
                lock_wait=args.lock_timeout,
                diffs=differ,
            )
    finally:
        store.close()
        if client is not None:
            client.close()
    if args.json:
        print(json.dumps(report.to_json(reports, dry_run=args.dry_run), indent=2))
    else:
        print(report.to_text(reports, dry_run=args.dry_run))
    if stop.is_set():
        print(_stopped_summary(reports, dry_run=args.dry_run), file=sys.stderr)
    return exit_code(reports)


def _stopped_summary(reports: Sequence[SourceReport], *, dry_run: bool) -> str:
    """After Ctrl-C: one line on what reached Intercom before the stop."""
    if dry_run:
        return "syncer: stopped: a dry run sends nothing; nothing was sent"
    created = sum(r.counts.created for r in reports)
    updated = sum(r.counts.updated for r in reports)
    deleted = sum(r.counts.deleted for r in reports)
    sent = created + updated + deleted
    stopped = next((r.source for r in reports if r.status == "interrupted"), None)
    where = f" during source {stopped}" if stopped else ""
    return (
        f"syncer: stopped{where}: {sent} page{'' if sent == 1 else 's'} sent to Intercom "
        f"({created} created, {updated} updated, {deleted} deleted), each recorded; the "
        "next run sends the rest"
    )


@contextmanager
def _stopping() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM stop a one-shot run as they stop the daemon: between calls.

    The first signal sets the event the run checks before every Intercom call: calls in
    flight finish and their answers are recorded, nothing more is sent, the run is
    recorded ``interrupted`` and the command exits 130. A second signal stops at once.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            f"syncer: {signal.Signals(signum).name}: finishing the calls in flight "
            "(again to stop at once)",
            file=sys.stderr,
        )

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _api(args: argparse.Namespace) -> int:
    return api_cli.run(args, lambda: _load(args))


def _reconcile(args: argparse.Namespace) -> int:
    from syncer.intercom.client import IntercomClient
    from syncer.intercom.publisher import IntercomPublisher
    from syncer.reconcile import reconcile
    from syncer.run import worst
    from syncer.store import Store

    settings = _load(args)
    _check_sources(settings, args.source)
    url = settings.store.url
    with (
        IntercomClient.from_settings(settings.intercom) as client,
        Store.open(
            url, migrate=_local(url), redact=Redactor.from_settings(settings).redact
        ) as store,
        _stopping() as stop,
    ):
        results = reconcile(
            settings,
            store,
            IntercomPublisher(client, concurrency=settings.intercom.concurrency),
            sources=args.source,
            delete_orphans=args.delete_orphans,
            allow_mass_delete=args.allow_mass_delete,
            cache_dir=settings.cache_dir,
            stop=stop,
            lock_wait=args.lock_timeout,
        )
    if args.json:
        print(json.dumps({"sources": [r.as_dict() for r in results]}, indent=2))
    for r in [] if args.json else results:
        where = "" if r.configured else " (no longer in the config)"
        if r.problem and r.status != "blocked":
            print(f"{r.source}{where}: {r.problem}")
            continue
        print(
            f"{r.source}{where}: import source {r.import_source_id}: restored {r.restored} "
            f"({r.identical} identical), forgot {r.forgotten}, orphans {len(r.orphans)}, "
            f"deleted {r.deleted}"
        )
        if r.problem:
            print(f"  ! {r.problem}")
        for orphan in r.orphans[:25]:
            print(f"  orphan {orphan.page_id}: {orphan.title} ({orphan.external_id})")
    return worst(r.exit_code for r in results)


def _local(url: str) -> bool:
    # A local SQLite file belongs to this one process: create and migrate it on first use.
    # A shared Postgres store is migrated on purpose, with `syncer db upgrade`.
    return url.startswith("sqlite")


def _preview(args: argparse.Namespace) -> int:
    from syncer.preview import preview

    return preview(
        _load(args), args.source, args.key, sys.stdout, sys.stderr, markdown=args.markdown
    )


def _status(args: argparse.Namespace) -> int:
    from syncer.status import source_status

    settings = _load(args)
    rows = source_status(settings, now=datetime.now(UTC))
    if args.json:
        print(json.dumps({"sources": rows}, indent=2, default=str))
        return 0
    for row in rows:
        print(_status_line(row))
        last = row["last_run"]
        if last is not None and last["status"] != "running":
            for error in last["errors"][:5]:
                print(f"  ! {error}")
        for line in _job_lines(row.get("jobs")):
            print(f"  {line}")
    return 0


def _status_line(row: dict[str, Any]) -> str:
    last = row["last_run"]
    if last is None:
        return f"{row['name']} ({row['type']}): never synced"
    stale = "  STALE" if row["stale"] else ""
    if last["status"] == "running":
        state = f"running since {last['started_at']} ({row['lock_holder']})"
        if row["abandoned"]:
            state = f"abandoned: started {last['started_at']}, its process is gone"
        return f"{row['name']} ({row['type']}): {state}{stale}"
    counts = ", ".join(f"{k} {v}" for k, v in last["counts"].items())
    return (
        f"{row['name']} ({row['type']}): {last['status']} at {last['finished_at']} "
        f"in {last['duration_s']}s: {counts}{stale}"
    )


def _job_lines(jobs: dict[str, Any] | None) -> list[str]:
    """The task engine's jobs of a source (``daemon.engine: procrastinate``): none
    printed while it has none waiting, running or failed."""
    if jobs is None:
        return []
    counted = [f"{jobs[state]} {state}" for state in ("queued", "running", "failed") if jobs[state]]
    if not counted:
        return []
    lines = [f"jobs: {', '.join(counted)}"]
    failure = jobs["last_failure"]
    if failure is not None:
        why = failure["error"] or "no error recorded (see the worker's log)"
        lines.append(f"! job {failure['job_id']} failed at {failure['at']}: {why}")
    return lines


def _daemon(args: argparse.Namespace) -> int:
    from syncer.config import loader
    from syncer.daemon import serve

    return serve(
        args.config or loader.default_config_path(),
        migrate_store=args.migrate,
        on_settings=args.on_settings,
    )


def _worker(args: argparse.Namespace) -> int:
    from syncer.config import loader
    from syncer.engine import worker

    return worker.serve(
        args.config or loader.default_config_path(),
        concurrency=args.concurrency,
        port=args.port,
        on_settings=args.on_settings,
    )


def _trigger(args: argparse.Namespace) -> int:
    from syncer.trigger import TriggerError, target, trigger

    try:
        where = target(args.config, url=args.url)
        return trigger(where, args.source, wait=args.wait, timeout=args.timeout)
    except TriggerError as exc:
        print(f"syncer trigger: {exc}", file=sys.stderr)
        return exc.exit_code


def _db_upgrade(args: argparse.Namespace) -> int:
    import structlog

    from syncer.store import migrate

    settings = _load(args)
    migrate.upgrade(settings.store.url)
    structlog.get_logger("syncer.db").info("store_upgraded", revision=migrate.head())
    print(f"store at revision {migrate.head()}")
    return 0


def _config_schema(args: argparse.Namespace) -> int:
    from syncer.config.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _connector_command(args: argparse.Namespace) -> int:
    """``syncer TYPE COMMAND ...``: a command the connector type adds, parsed by its own."""
    kind = registry.get(args.connector_type)
    parser = argparse.ArgumentParser(
        prog=f"syncer {kind.name}", description=f"Commands of the {kind.name} connector."
    )
    if not kind.commands:
        raise UsageError(f"the {kind.name} connector adds no commands of its own")
    commands = parser.add_subparsers(title=f"{kind.name} commands", metavar="COMMAND")
    for command in kind.commands:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        _config_option(sub)
        command.arguments(sub)
        sub.set_defaults(command=command)
    inner = parser.parse_args(args.connector_args)
    if not hasattr(inner, "command"):
        parser.print_help(sys.stderr)
        return 2
    inner.on_settings = args.on_settings
    code: int = inner.command.run(inner, _load(inner), sys.stdout, sys.stderr)
    return code

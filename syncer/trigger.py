"""``syncer trigger SOURCE [--wait]``: ask a running daemon to sync one source now.

For CI after a merge. The daemon's URL is ``--url``, else ``$SYNCER_URL``, else the
config's ``daemon.host``/``daemon.port``; the admin token is ``$SYNCER_ADMIN_TOKEN``,
else the config's ``daemon.admin_token`` (the config is read only when one of them is
needed). The daemon records the trigger and starts the source, or queues one more run
behind the run under way (``POST /sources/{name}/trigger``). With ``--wait`` this waits
until a run has served the trigger (``GET`` on the same path) and exits with that run's
exit code. No daemon answering is exit 2, as are a refused token and an unknown source.

Only the standard library: ``syncer --help`` must stay cheap, and this module is imported
when the command runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

POLL_S = 0.5
REQUEST_TIMEOUT_S = 10.0


class TriggerError(Exception):
    """The trigger was not taken, or its run never reported: the message, an exit code."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Target:
    """Where the daemon answers, and the token it wants."""

    url: str
    token: str


def target(
    config: Path | None,
    *,
    url: str | None,
    env: Mapping[str, str] | None = None,
) -> Target:
    """The daemon's URL and admin token from the options, the environment, the config."""
    env = os.environ if env is None else env
    url = url or env.get("SYNCER_URL") or None
    token = env.get("SYNCER_ADMIN_TOKEN") or None
    if url is None or token is None:
        from syncer.config import loader

        settings = loader.load(config or loader.default_config_path(), env, check_environment=False)
        if url is None:
            host = settings.daemon.host
            # The daemon listens on every address: this machine reaches it on loopback.
            host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
            url = f"http://{_bracketed(host)}:{settings.daemon.port}"
        if token is None and settings.daemon.admin_token is not None:
            token = settings.daemon.admin_token.get_secret_value()
    if not url.startswith(("http://", "https://")):
        raise TriggerError(f"--url {url!r} must start with http:// or https://")
    if not token:
        raise TriggerError(
            "no admin token: set daemon.admin_token in the config or SYNCER_ADMIN_TOKEN"
        )
    return Target(url.rstrip("/"), token)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def trigger(
    where: Target,
    source: str,
    *,
    wait: bool,
    timeout: float,
    out: TextIO = sys.stdout,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Trigger ``source``; with ``wait``, the exit code of the run that served it."""
    path = f"/sources/{quote(source, safe='')}/trigger"
    status, reply = _call(where, "POST", path)
    if status == 401:
        raise TriggerError(f"the daemon at {where.url} refused the admin token")
    if status in (403, 404):
        raise TriggerError(str(reply.get("error") or f"HTTP {status}"))
    if status != 202:
        raise TriggerError(f"the daemon did not take the trigger: {reply.get('error')}", 1)
    serial = int(reply["serial"])
    verb = "started" if reply.get("outcome") == "started" else "queued behind the run under way"
    print(f"{source}: sync {verb} (trigger {serial})", file=out, flush=True)
    if not wait:
        return 0
    deadline = clock() + timeout
    while True:
        status, reply = _call(where, "GET", path)
        row = reply.get("trigger") if status == 200 else None
        if isinstance(row, dict) and int(row.get("served") or 0) >= serial:
            code = int(row.get("served_exit_code") or 0)
            print(f"{source}: run {row.get('served_status')} (exit {code})", file=out, flush=True)
            return code
        if clock() >= deadline:
            raise TriggerError(f"{source}: no run finished within {timeout:g} s", 1)
        sleep(POLL_S)


def _call(where: Target, method: str, path: str) -> tuple[int, dict[str, Any]]:
    # The URL is http(s) only: ``target`` refuses any other scheme.
    request = urllib.request.Request(  # noqa: S310
        where.url + path,
        method=method,
        headers={"Authorization": f"Bearer {where.token}", "Accept": "application/json"},
        data=b"" if method == "POST" else None,
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as reply:  # noqa: S310
            return reply.status, _json(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TriggerError(f"no syncer daemon answers at {where.url}: {reason}") from None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

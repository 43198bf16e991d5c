"""``syncer daemon``: scheduled syncs in a long-running process, with health and metrics.

``service`` runs it (schedules, signals, shutdown, reload); ``leases`` keeps one replica
per source; ``schedules`` turns a source's schedule into an APScheduler trigger;
``metrics``, ``status`` and ``http`` are the ``/metrics``, ``/status``, ``/healthz`` and
``/readyz`` endpoint.
"""

from syncer.daemon.service import Daemon, serve

__all__ = ["Daemon", "serve"]

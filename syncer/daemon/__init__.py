"""``syncer daemon``: scheduled syncs in a long-running process, with health and metrics.

``service`` runs it (``serve``, signals, start, shutdown, reload) and composes the rest:
``runs`` (what a source's job does), ``scheduling`` (APScheduler jobs, from the triggers
of ``schedules``), ``housekeeping`` (gauges, staleness), ``routes`` and ``http`` (the
endpoint: ``/healthz``, ``/readyz``, ``/metrics``, ``/status``), ``hooks`` (inbound
webhooks: ``/hooks/<source>``), ``triggers`` (what a trigger led to), ``metrics`` and
``clients`` (the Intercom client of the current config).
"""

from syncer.daemon.service import Daemon, serve

__all__ = ["Daemon", "serve"]

"""The task engine: sources' syncs as procrastinate jobs, run by ``syncer worker`` anywhere.

With ``daemon.engine: procrastinate`` the daemon only schedules: each due source becomes
one job in the store's Postgres, and ``syncer worker`` processes, on any number of
machines, run the jobs. The default (``in_process``) and every SQLite store keep the
daemon running each sync itself, as one command.

Why procrastinate (https://procrastinate.readthedocs.io): its queue is tables and
functions in the Postgres the store already uses, so there is no broker to run, and it
is Postgres only, as this mode is. A job's ``lock`` keeps two jobs of one source from
running at once, on any worker; its ``queueing_lock`` keeps one waiting job per source,
so a source deferred again while one waits is deferred once; retries are decided per
exception; workers beat a heartbeat, so the job of a worker that died can be found and
handed to another. It was the issue's pick (issue 14), over a home-made lease table
(retired since, revision 0010).

The parts: ``schema`` (which procrastinate the store's schema is, checked at start),
``app`` (the procrastinate App on the store's Postgres, the ``sync_source`` task, its
locks and retries), ``jobs`` (what a job does: ``syncer.run.sync_source``, as the daemon
runs it, with the worker's config), ``batches`` (a large run split into a listing job,
batch jobs and a finishing job), ``deferring`` (the scheduler's side: a due source
deferred once, however many daemons schedule it), ``budget`` (one Intercom rate-limit
window shared by every worker sending on it) and ``worker`` (``syncer worker``).
This package's ``__init__`` imports nothing: procrastinate is loaded only by those
that use it, so SQLite users and ``syncer --help`` never import it.
"""

# The tasks' names: the status counts their jobs without importing procrastinate. A
# source's run is a ``sync_source`` job, or, split, one of it, ``sync_batch`` jobs and
# a ``finish_run`` job (``batches``).
TASK = "syncer.sync_source"
BATCH_TASK = "syncer.sync_batch"
FINISH_TASK = "syncer.finish_run"
TASKS = (TASK, BATCH_TASK, FINISH_TASK)

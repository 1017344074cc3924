"""The worker class `tipline worker` runs: RQ's forking `Worker`, started once.

RQ forks a work horse per job. Whatever the parent has not loaded, every horse loads again: the job
modules and the worker context took ~0.5-1.5 s per job. This class loads both in the parent before
it starts working, so each horse inherits them and a job starts in milliseconds.

Why still a fork per job (and not RQ's `SimpleWorker`, which runs jobs in the worker itself): a
crash, a leak or a SIGKILL of a job costs that one job (RQ retries it; filing is idempotent), never
the worker, its scheduler or the jobs after it. Nothing loaded here holds an open connection or a
thread (redis-py pools reconnect in a forked child; the store and adapters connect per job).
"""

from __future__ import annotations

import gc
import importlib
import logging
from typing import Any

from rq.job import Job as RQJob

from bot.jobs import Job
from bot.worker_metrics import CountingWorker
from config.settings import SettingsError
from secure_store.backends import StoreError
from secure_store.report import report_validator
from workers.context import worker_context

log = logging.getLogger("tipline.worker")


def job_modules() -> list[str]:
    """Every module whose functions are enqueued as jobs (named by `bot.jobs.Job`'s dotted paths)."""
    return sorted({job.function.rpartition(".")[0] for job in Job})


def start_once() -> None:
    """Load, in the calling process, what every job needs."""
    for module in job_modules():
        importlib.import_module(module)
    report_validator()
    try:
        worker_context()
    except (SettingsError, StoreError) as exc:  # as before: each job fails visibly, re-runnable once fixed
        log.error("worker context not loaded; every job will fail until this is fixed: %s", exc)
    gc.freeze()  # what a horse inherits is never collected there: its pages stay shared, not copied


ABANDONED_AFTER = 15
"""Seconds past its last heartbeat (every `HEARTBEAT_SECONDS`, 5) after which a running job's claim
lapses, so the next worker's upkeep retries the job of a killed worker (RQ's own: 60 s, then its
retry: a confirmed report waited over a minute for a timer)."""


class StartedOnceWorker(CountingWorker):
    """RQ's `Worker`, with the job modules and the worker context loaded before it forks, counting
    each job's outcome for /metrics (bot.worker_metrics), and giving up on a killed worker's job
    after `ABANDONED_AFTER` seconds instead of a minute."""

    def get_heartbeat_ttl(self, job: RQJob) -> int:
        return min(int(super().get_heartbeat_ttl(job)), int(self.job_monitoring_interval) + ABANDONED_AFTER)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        start_once()
        return bool(super().work(*args, **kwargs))

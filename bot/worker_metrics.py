"""Worker metrics for Prometheus, kept in Redis so that every worker process on every machine adds
to the same numbers, and read back on the web's `/metrics` together with what RQ's own registries
say (queue depth, the oldest waiting job, failed and retrying jobs, the scheduler).

Workers count each job's outcome (`succeeded`, `retried`, `failed`) and its duration by job name
(label `job_name`: `file_report`, `fetch_media`, …; not `job`, which Prometheus gives the scrape
target) in two Redis hashes; nothing about a job's payload is recorded.
Every web process exports the same service-wide figures: aggregate them with `max`, not `sum`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler

from bot.keys import RedisKeys

OUTCOMES_KEY = RedisKeys().job_outcomes
DURATION_KEY = RedisKeys().job_seconds
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OVERDUE_AFTER = 60
"""A scheduled job this many seconds past its time means no scheduler is moving jobs."""


def job_name(job: Job) -> str:
    """The job's short name (`file_report`), never its arguments."""
    return (job.func_name or "unknown").rsplit(".", 1)[-1]


def record(connection: Redis, job: Job, outcome: str) -> None:
    """Count one outcome of `job`, and its duration when it ran to an end here."""
    name = job_name(job)
    pipe = connection.pipeline(transaction=False)
    pipe.hincrby(OUTCOMES_KEY, f"{name}|{outcome}", 1)
    if job.started_at is not None and job.ended_at is not None:
        seconds = max(0.0, (job.ended_at - job.started_at).total_seconds())
        bucket = next((str(b) for b in BUCKETS if seconds <= b), "+Inf")
        pipe.hincrby(DURATION_KEY, f"{name}|{bucket}", 1)
        pipe.hincrbyfloat(DURATION_KEY, f"{name}|sum", seconds)
    pipe.execute()


class CountingWorker(Worker):
    """RQ's worker, counting each job's outcome in Redis as it is handled (in the work horse for
    jobs that ran, in the worker for a horse that died)."""

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry: StartedJobRegistry) -> None:
        super().handle_job_success(job, queue, started_job_registry)
        _quietly(record, self.connection, job, "succeeded")

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: StartedJobRegistry | None = None,
                           exc_string: str = "") -> None:
        retried = bool(job.retries_left)
        super().handle_job_failure(job, queue, started_job_registry, exc_string)
        _quietly(record, self.connection, job, "retried" if retried else "failed")


def _quietly(action: Any, *args: Any) -> None:
    """A metric is never worth a job: Redis errors while counting are dropped."""
    with contextlib.suppress(RedisError):
        action(*args)


class WorkerCollector(Collector):
    """Reads the service-wide job figures from Redis at each scrape."""

    def __init__(self, connection: Redis, queue: Queue) -> None:
        self.connection = connection
        self.queue = queue

    def collect(self) -> Iterator[Any]:
        yield from self._outcomes()
        yield from self._durations()
        yield from self._queue()

    def _outcomes(self) -> Iterator[Any]:
        jobs = CounterMetricFamily("tipline_jobs", "Jobs handled by workers, by job and outcome "
                                   "(succeeded, retried, failed)", labels=["job_name", "outcome"])
        raw: dict[bytes, bytes] = self.connection.hgetall(OUTCOMES_KEY)  # type: ignore[assignment]
        for field, value in sorted(raw.items()):
            name, _, outcome = field.decode().partition("|")
            jobs.add_metric([name, outcome], float(value))
        yield jobs
        filed = CounterMetricFamily("tipline_reports_filed", "Report filing jobs that succeeded")
        filed.add_metric([], float(raw.get(b"file_report|succeeded", 0)))
        yield filed

    def _durations(self) -> Iterator[Any]:
        family = HistogramMetricFamily("tipline_job_duration_seconds", "Time jobs ran, by job",
                                       labels=["job_name"])
        raw: dict[bytes, bytes] = self.connection.hgetall(DURATION_KEY)  # type: ignore[assignment]
        per_job: dict[str, dict[str, float]] = {}
        for field, value in raw.items():
            name, _, bucket = field.decode().partition("|")
            per_job.setdefault(name, {})[bucket] = float(value)
        for name, counts in sorted(per_job.items()):
            running = 0.0
            buckets: list[tuple[str, float]] = []
            for bound in (*(str(b) for b in BUCKETS), "+Inf"):
                running += counts.get(bound, 0.0)
                buckets.append((bound, running))
            family.add_metric([name], buckets, counts.get("sum", 0.0))
        yield family

    def _queue(self) -> Iterator[Any]:
        queue, connection, now = self.queue, self.connection, time.time()
        scheduled = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
        gauges = {
            "tipline_queue_depth": ("Jobs waiting in the queue", queue.count),
            "tipline_jobs_running": ("Jobs a worker is running now", StartedJobRegistry(queue=queue).count),
            "tipline_jobs_failed": ("Jobs that used up their retries (`tipline jobs` lists them)",
                                    FailedJobRegistry(queue=queue).count),
            "tipline_jobs_scheduled": ("Jobs waiting for a time: retries after backoff, reminders, clean-ups",
                                       scheduled.count),
            "tipline_workers": ("Worker processes registered for the queue", Worker.count(queue=queue)),
            "tipline_oldest_job_age_seconds": ("How long the job at the head of the queue has waited",
                                               self._oldest_age(now)),
            "tipline_scheduled_jobs_overdue": (f"Scheduled jobs more than {OVERDUE_AFTER}s past their time",
                                               connection.zcount(scheduled.key, 0, now - OVERDUE_AFTER)),
            "tipline_scheduler_alive": ("1 while a scheduler (`tipline scheduler`, or a worker's fallback) "
                                        "holds the queue's scheduler lock",
                                        int(bool(connection.exists(RQScheduler.get_locking_key(queue.name))))),
        }
        for name, (text, value) in gauges.items():
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], float(value))
            yield gauge

    def _oldest_age(self, now: float) -> float:
        head = self.queue.get_job_ids(0, 0)
        job = Job.fetch_many(head, connection=self.connection, serializer=self.queue.serializer)[0] if head else None
        if job is None or job.enqueued_at is None:
            return 0.0
        enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
        return max(0.0, now - enqueued.timestamp())

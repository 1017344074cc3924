"""The RQ queue the web process fills and workers drain (JSON serializer: never pickle)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

FILE_REPORT_RETRY = Retry(max=10, interval=[5, 15, 60, 300, 900, 1800, 3600, 3600, 3600, 3600])
JOB_TIMEOUT = 300


def make_queue(connection: Redis, name: str) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def enqueue(queue: Queue, job: str, payload: str, job_id: str, delay: int = 0) -> None:
    """Enqueue `workers.jobs.<job>(payload)` under a stable job id, so a repeat enqueue is harmless;
    with `delay` (seconds) the RQ scheduler runs it then.

    Payloads are sealed with `workers.payload.seal_payload`; failed jobs stay 90 days for re-running.
    """
    options: dict[str, Any] = {
        "job_id": job_id,
        "retry": FILE_REPORT_RETRY,
        "job_timeout": JOB_TIMEOUT,
        "result_ttl": 0,
        "failure_ttl": 90 * 24 * 3600,
        "description": job.replace("_", " "),
    }
    if delay:
        queue.enqueue_in(timedelta(seconds=delay), f"workers.jobs.{job}", payload, **options)
    else:
        queue.enqueue(f"workers.jobs.{job}", payload, **options)

"""The RQ queue the web process fills and workers drain (JSON serializer: never pickle)."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

FILE_REPORT_RETRY = Retry(max=10, interval=[5, 15, 60, 300, 900, 1800, 3600, 3600, 3600, 3600])
JOB_TIMEOUT = 300


def make_queue(connection: Redis, name: str) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def enqueue_file_report(queue: Queue, report_id: str, payload: str) -> None:
    """Enqueue filing under a job id derived from the report id, so a repeat enqueue is harmless."""
    queue.enqueue(
        "workers.jobs.file_report",
        payload,
        job_id=f"file-{report_id}",
        retry=FILE_REPORT_RETRY,
        job_timeout=JOB_TIMEOUT,
        result_ttl=0,
        failure_ttl=90 * 24 * 3600,
        description="file report",
    )

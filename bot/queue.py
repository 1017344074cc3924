"""The RQ queue the web process fills and workers drain (JSON serializer: never pickle)."""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from bot.constants import (
    JOB_FAILURE_TTL,
    JOB_RETRY_INTERVALS,
    JOB_TIMEOUT,
    QUESTION_RETRY_INTERVALS,
    SWEEP_FAILURE_TTL,
)
from bot.jobs import Enqueue, EnqueueNow, Job
from bot.redis_wire import Wire

RETRY = Retry(max=len(JOB_RETRY_INTERVALS), interval=list(JOB_RETRY_INTERVALS))
QUESTION_RETRY = Retry(max=len(QUESTION_RETRY_INTERVALS), interval=list(QUESTION_RETRY_INTERVALS))


def make_queue(connection: Redis, name: str) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def _options(job: Job, job_id: str) -> dict[str, Any]:
    if job in (Job.QUIET_SWEEP, Job.FOLLOWUP_POLL):  # chains that schedule their own successor: never retried
        description = "quiet sweep" if job is Job.QUIET_SWEEP else "follow-up poll"
        return {"job_id": job_id, "result_ttl": 0, "failure_ttl": SWEEP_FAILURE_TTL, "description": description}
    return {
        "job_id": job_id,
        "retry": QUESTION_RETRY if job is Job.DELIVER_QUESTION else RETRY,
        "job_timeout": JOB_TIMEOUT,
        "result_ttl": 0,
        "failure_ttl": JOB_FAILURE_TTL,
        "description": job.value.replace("_", " "),
    }


def enqueue(queue: Queue, job: Job, payload: str, job_id: str, delay: int = 0) -> None:
    """Enqueue `job(payload)` under a stable job id, so a repeat enqueue is harmless; with `delay`
    (seconds) the RQ scheduler runs it then. Failed jobs are retried with backoff, then kept for re-running."""
    options = _options(job, job_id)
    if delay:
        queue.enqueue_in(timedelta(seconds=delay), job.function, payload, **options)
    else:
        queue.enqueue(job.function, payload, **options)


def enqueue_now_on(queue: Queue, wire: Wire) -> EnqueueNow:
    """The engine's `EnqueueNow`: RQ builds the job's commands exactly as `enqueue` would, into a
    pipeline of the queue's own (blocking) client that is never executed (RQ's documented `pipeline`
    argument: no I/O), and the web process's `Wire` sends them as one MULTI/EXEC. Without it each
    enqueue took a thread hop, and a burst of confirmations queued behind the GIL (p99 at the last step)."""

    async def put(job: Job, payload: str, job_id: str) -> None:
        options = _options(job, job_id)
        options["timeout"] = options.pop("job_timeout", None)
        commands = queue.connection.pipeline()
        try:
            queue.enqueue_call(job.function, args=(payload,), pipeline=commands, **options)
            await wire.transaction([args for args, _ in commands.command_stack])
        finally:
            commands.reset()

    return put


def enqueue_on(queue: Queue) -> Enqueue:
    """The `Enqueue` the engine and the quiet policy are given, bound to `queue`."""

    def put(job: Job, payload: str, job_id: str, delay: int = 0) -> None:
        enqueue(queue, job, payload, job_id, delay)

    return put


def note_failure(job: RQJob, exc_type: type[BaseException], exc_value: BaseException,
                 traceback: TracebackType | None) -> bool:
    """RQ exception handler: keep the failure's type (never its message) on the job, so `tipline jobs`
    can say why a job waits for a retry (RQ records an exception only once retries are used up)."""
    module = "" if exc_type.__module__ == "builtins" else f"{exc_type.__module__}."
    name = module + exc_type.__qualname__
    job.meta["error"] = name[:80]
    job.save_meta()  # type: ignore[no-untyped-call]
    return True

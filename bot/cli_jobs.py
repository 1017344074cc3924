"""`tipline jobs`: see and re-run jobs that failed or wait to retry, without ever showing payloads.

Lists id, job, when it last failed and the exception type only: job payloads are sealed drafts and
exception messages may carry details an operator has no need to see.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.queue import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from bot.embedded_redis import EmbeddedRedis
from bot.queue import make_queue
from config.settings import load_settings


@dataclass(frozen=True)
class JobLine:
    job_id: str
    function: str
    state: str
    failed_at: datetime | None
    exception: str

    def render(self) -> str:
        when = self.failed_at.isoformat(timespec="seconds") if self.failed_at else "-"
        return f"{self.job_id}  {self.function}  {self.state}  {when}  {self.exception}"


def _exception_type(job: Job) -> str:
    """The exception's class name from the last traceback line (`pkg.Error: message` -> `pkg.Error`)."""
    result = job.latest_result()
    text = (result.exc_string if result else None) or ""
    lines = [line for line in text.strip().splitlines() if line and not line.startswith(" ")]
    if not lines:
        return str(job.meta.get("error") or "-")  # a retrying job: noted by bot.queue.note_failure
    return lines[-1].split(":", 1)[0].strip()[:80]


def _line(job: Job, state: str) -> JobLine:
    result = job.latest_result()
    failed_at = result.created_at if result else job.ended_at
    return JobLine(job.id, (job.func_name or "-").removeprefix("workers.jobs."), state, failed_at, _exception_type(job))


def _scheduled(queue: Queue) -> ScheduledJobRegistry:
    return ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]


def abandoned_job_ids(queue: Queue) -> list[str]:
    """Jobs a worker took and will not finish (it was killed): in the started registry past their
    last heartbeat, or taken off the queue and never started (RQ's intermediate queue). RQ's upkeep
    puts them back for a retry within about a minute (bot/run.py); until then they are listed here."""
    started = StartedJobRegistry(queue=queue)
    expired = list(started.get_expired_job_ids(time.time()))
    running = set(started.get_job_ids())
    taken = IntermediateQueue(queue.key, connection=queue.connection).get_job_ids()
    return expired + [job_id for job_id in taken if job_id not in running and job_id not in expired]


def problem_jobs(queue: Queue) -> list[JobLine]:
    """Failed jobs (retries used up), jobs that failed and wait for an automatic retry (scheduled
    after having started once), then abandoned jobs (their worker died). Jobs scheduled to run later,
    such as reminders, are not listed."""
    lines: list[JobLine] = []
    registries = (("failed", FailedJobRegistry(queue=queue).get_job_ids()),
                  ("retrying", _scheduled(queue).get_job_ids()), ("abandoned", abandoned_job_ids(queue)))
    for state, job_ids in registries:
        for job in Job.fetch_many(job_ids, connection=queue.connection, serializer=JSONSerializer):
            if job is not None and (state != "retrying" or job.started_at is not None):
                lines.append(_line(job, state))
    return lines


def retry(queue: Queue, job_ids: list[str]) -> list[str]:
    """Put failed (or waiting) jobs back on the queue now; returns the ids re-queued."""
    done: list[str] = []
    for registry in (FailedJobRegistry(queue=queue), _scheduled(queue)):
        for job_id in job_ids:
            if job_id in done:
                continue
            try:
                registry.requeue(job_id)
            except (NoSuchJobError, InvalidJobOperation):
                continue
            done.append(job_id)
    return done


def jobs_command(args: argparse.Namespace, redis_url: str, queue_name: str) -> int:
    connection = Redis.from_url(redis_url)
    queue = make_queue(connection, queue_name)
    try:
        lines = problem_jobs(queue)
        if args.jobs_command in (None, "list"):
            for line in lines:
                print(line.render())
            if not lines:
                print("no failed or retrying jobs", file=sys.stderr)
            return 0
        wanted = [line.job_id for line in lines] if args.all else [args.job_id]
        done = retry(queue, wanted)
        for job_id in done:
            print(f"re-queued {job_id}")
        missing = [job_id for job_id in wanted if job_id not in done]
        for job_id in missing:
            print(f"tipline: no failed or retrying job {job_id}", file=sys.stderr)
        return 1 if missing else 0
    finally:
        connection.close()


def jobs_main(args: argparse.Namespace) -> int:
    """Run against `REDIS_URL`, or the dev run's embedded Redis under the var dir."""
    settings = load_settings()
    if settings.redis_url:
        return jobs_command(args, settings.redis_url, settings.queue_name)
    embedded = EmbeddedRedis(settings.var_dir)
    try:
        return jobs_command(args, embedded.start(), settings.queue_name)
    finally:
        embedded.stop()

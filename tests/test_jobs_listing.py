"""`tipline jobs` shows every job that is not going to run by itself soon, with its state."""

from __future__ import annotations

import redis
from rq.intermediate_queue import IntermediateQueue

from bot.cli_jobs import problem_jobs
from bot.jobs import Job, seal_payload
from bot.queue import enqueue, make_queue
from config.settings import Settings


def test_a_job_taken_by_a_worker_that_died_before_starting_it_is_listed_as_abandoned(
    settings: Settings, redis_client: redis.Redis,
) -> None:
    queue = make_queue(redis_client, f"{settings.queue_name}-listing")  # no worker left by another test takes it
    enqueue(queue, Job.FILE_REPORT, seal_payload(settings.session_key, {"report_id": "r1"}), "file-r1")
    # What a worker's dequeue does (RQ moves the job to its intermediate queue) before it is killed:
    intermediate = IntermediateQueue(queue.key, connection=redis_client)
    redis_client.lmove(queue.key, intermediate.key, "RIGHT", "LEFT")
    assert queue.get_job_ids() == []
    assert [(line.job_id, line.state) for line in problem_jobs(queue)] == [("file-r1", "abandoned")]

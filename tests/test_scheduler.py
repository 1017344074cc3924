"""Delayed jobs (retries, reminders, quiet sweeps) keep moving when the process scheduling them dies:
`tipline scheduler` takes the queue's scheduler lock over from a killed worker, and back after its
own restart, in seconds rather than the minute RQ's lock takes to lapse; and a killed worker's job
is retried within half a minute, not after RQ's minute-long claim."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from rq import Queue, Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.serializers import JSONSerializer
from rq.utils import utcformat

from bot.queue import make_queue
from bot.scheduler import claim, scheduler_name
from tests.conftest import ROOT, kill_worker, start_worker, worker_env

TAKEOVER_LIMIT = 10.0
"""Seconds within which a job delayed by one second must reach the queue after its scheduler died
(RQ alone: the lock's 61 s, then up to a worker's upkeep interval)."""


def start_scheduler(service_env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=worker_env(service_env), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


@pytest.fixture
def queue(service_env: dict[str, str], redis_client: redis.Redis) -> Queue:
    return make_queue(redis_client, service_env["QUEUE_NAME"])


def holder(redis_client: redis.Redis, queue: Queue) -> str | None:
    value = redis_client.get(RQScheduler.get_locking_key(queue.name))
    return value.decode() if isinstance(value, bytes) else None


def wait_for(condition: object, limit: float) -> float:
    """Seconds until `condition()` held (polled); fails after `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"not within {limit} s")


def delayed_job_moves(queue: Queue) -> float:
    """Seconds until a job delayed by one second leaves the scheduled registry for the queue."""
    job = queue.enqueue_in(timedelta(seconds=1), "builtins.len", "x", result_ttl=0)
    registry = ScheduledJobRegistry(queue=queue)
    return wait_for(lambda: job.id not in registry.get_job_ids(), TAKEOVER_LIMIT + 1)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_delayed_jobs_move_within_seconds_after_the_worker_holding_the_scheduler_is_killed(
    service_env: dict[str, str], redis_client: redis.Redis, queue: Queue, processes: list[subprocess.Popen[str]],
) -> None:
    worker = start_worker(service_env)
    processes.append(worker)
    wait_for(lambda: holder(redis_client, queue) is not None, 30)  # the worker's fallback scheduler holds it
    processes.append(start_scheduler(service_env))
    kill_worker(worker)
    assert delayed_job_moves(queue) < TAKEOVER_LIMIT
    assert holder(redis_client, queue) == scheduler_name(queue.name)


def test_a_restarted_scheduler_takes_its_own_lock_back_at_once(
    service_env: dict[str, str], redis_client: redis.Redis, queue: Queue, processes: list[subprocess.Popen[str]],
) -> None:
    first = start_scheduler(service_env)
    processes.append(first)
    wait_for(lambda: holder(redis_client, queue) == scheduler_name(queue.name), 30)
    os.killpg(first.pid, signal.SIGKILL)  # as the kernel's OOM killer would: no chance to let go
    first.wait()
    processes.append(start_scheduler(service_env))  # as its supervisor does
    assert delayed_job_moves(queue) < TAKEOVER_LIMIT


def beating(redis_client: redis.Redis, name: str, at: datetime) -> None:
    """A scheduler's record as RQ keeps it, last beating at `at`."""
    redis_client.hset(SCHEDULER_KEY_TEMPLATE % name, "last_heartbeat", utcformat(at))


def test_a_standby_takes_over_only_from_a_scheduler_that_stopped_beating(
    redis_client: redis.Redis, queue: Queue,
) -> None:
    lock = RQScheduler.get_locking_key(queue.name)
    other_host = f"tipline-{queue.name}-other-host"
    redis_client.set(lock, other_host, ex=61)
    standby = RQScheduler([queue.name], connection=redis_client, serializer=JSONSerializer,
                          name=scheduler_name(queue.name))
    beating(redis_client, other_host, datetime.now(UTC) - timedelta(seconds=1))
    assert not claim(standby, redis_client, queue.name)
    assert holder(redis_client, queue) == other_host
    beating(redis_client, other_host, datetime.now(UTC) - timedelta(seconds=30))
    assert claim(standby, redis_client, queue.name)
    assert holder(redis_client, queue) == scheduler_name(queue.name)


def test_a_worker_scheduler_gives_way_to_the_scheduler_process(redis_client: redis.Redis, queue: Queue) -> None:
    worker_scheduler = RQScheduler([queue.name], connection=redis_client, serializer=JSONSerializer)
    assert worker_scheduler.acquire_locks() == {queue.name}
    dedicated = RQScheduler([queue.name], connection=redis_client, serializer=JSONSerializer,
                            name=scheduler_name(queue.name))
    assert claim(dedicated, redis_client, queue.name)
    worker_scheduler.heartbeat()
    assert worker_scheduler.acquired_locks == set()  # it sees the lock is gone and stops scheduling


@pytest.mark.slow
def test_the_job_of_a_killed_worker_runs_again_within_half_a_minute(
    service_env: dict[str, str], redis_client: redis.Redis, queue: Queue, processes: list[subprocess.Popen[str]],
) -> None:
    first = start_worker(service_env)
    processes += [first, start_scheduler(service_env)]
    job = queue.enqueue("time.sleep", 60, retry=Retry(max=1, interval=[1]), result_ttl=0, job_timeout=300)
    wait_for(lambda: job.id in StartedJobRegistry(queue=queue).get_job_ids(), 30)
    wait_for(lambda: Job.fetch(job.id, connection=redis_client).started_at is not None, 30)
    killed_run = Job.fetch(job.id, connection=redis_client).started_at
    kill_worker(first)
    processes.append(start_worker(service_env))  # its upkeep finds the job abandoned and retries it

    def running_again() -> bool:
        again = Job.fetch(job.id, connection=redis_client)
        return again.get_status() == "started" and again.started_at != killed_run

    assert wait_for(running_again, 90) < 40  # RQ alone: its 65 s claim, then upkeep and retry

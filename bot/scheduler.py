"""`tipline scheduler`: moves delayed jobs (retries, reminders, quiet sweeps, polls) onto the queue.

RQ lets one scheduler per queue work, by a lock its holder refreshes every second with a 61 s TTL
(rq/scheduler.py). A holder killed without warning (a worker's scheduler SIGKILLed with its worker)
left every delayed job waiting until that lock lapsed and a worker's upkeep noticed: a minute or
more. This process runs RQ's scheduler on its own, supervised like the web and the workers, and:
- claims under a name stable across restarts (the host's), so its supervisor's restart takes its own
  lock back at once instead of waiting for it to lapse;
- takes the lock over from a worker's scheduler at once (workers still run one, as a fallback where
  this process is not deployed), and from another host's scheduler whose heartbeat stopped
  `STALE_SECONDS` ago, instead of 61 s;
- rides out a Redis restart (errors are logged by type and the loop goes on).
"""

from __future__ import annotations

import logging
import signal
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.serializers import JSONSerializer
from rq.utils import utcparse

log = logging.getLogger("tipline.scheduler")

INTERVAL = 1
"""Seconds between two looks at the scheduled jobs (RQ's own default; whole seconds: RQ sets its lock's TTL from it)."""

STALE_SECONDS = 5.0
"""A holder that has not refreshed its heartbeat (every second) for this long is taken as dead."""

TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
"""KEYS: the queue's scheduler lock; ARGV: the dead holder's name, ours, the lock's TTL. Only if the
lock still names that holder (no one else took it meanwhile)."""


def scheduler_name(queue_name: str) -> str:
    """The same on every restart on this host, so a restarted scheduler owns its old lock."""
    return f"tipline-{queue_name}-{socket.gethostname()}"


def last_beat(connection: Redis, name: str) -> datetime | None:
    """When the scheduler named `name` last beat (UTC, by its host's clock); None when it left no record
    (RQ lets a scheduler's record lapse a minute after its last beat)."""
    beat = connection.hget(SCHEDULER_KEY_TEMPLATE % name, "last_heartbeat")
    if beat is None:
        return None
    text = beat.decode() if isinstance(beat, bytes) else str(beat)
    return utcparse(text).replace(tzinfo=UTC)


def holder_is_stale(connection: Redis, holder: str, now: datetime, stale: float = STALE_SECONDS) -> bool:
    """True when the scheduler named `holder` last beat more than `stale` seconds before `now`
    (or left no record of itself)."""
    beat = last_beat(connection, holder)
    return beat is None or (now - beat).total_seconds() > stale


def dedicated(name: str) -> bool:
    """True for the name of a `tipline scheduler` process (a worker's scheduler has a random one)."""
    return name.startswith("tipline-")


def claim(scheduler: RQScheduler, connection: Redis, queue_name: str, stale: float = STALE_SECONDS) -> bool:
    """Hold the queue's scheduler lock: acquire it if free, refresh it if ours, take it over from a
    worker's scheduler or from a holder whose heartbeat is stale. True when this one holds it after."""
    if queue_name in scheduler.acquire_locks():  # type: ignore[no-untyped-call]
        return True
    key = RQScheduler.get_locking_key(queue_name)
    holder = connection.get(key)
    if holder is None:
        return False
    name = holder.decode() if isinstance(holder, bytes) else str(holder)
    if dedicated(name) and not holder_is_stale(connection, name, datetime.now(UTC), stale):
        return False
    if connection.eval(TAKE_OVER, 1, key, name, scheduler.name, int(scheduler.interval) + 60) and dedicated(name):
        log.warning("scheduler lock taken over: its holder stopped beating %.0f s ago or more", stale)
    return queue_name in scheduler.acquire_locks()  # type: ignore[no-untyped-call]


def run(connection: Redis, queue_name: str, stopping: Callable[[], bool], interval: int = INTERVAL,
        stale: float = STALE_SECONDS) -> None:
    """Schedule until `stopping()`; then release the lock so a standby takes over at once."""
    scheduler = RQScheduler([queue_name], connection=connection, interval=interval, serializer=JSONSerializer,
                            name=scheduler_name(queue_name))
    holding = False
    try:
        while not stopping():
            try:
                if claim(scheduler, connection, queue_name, stale):
                    if not holding:
                        log.info("scheduling delayed jobs of queue %s", queue_name)
                        holding = True
                        scheduler.register_birth()
                    scheduler.heartbeat()  # type: ignore[no-untyped-call]
                    scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
                elif holding:
                    log.warning("scheduler lock held by another scheduler now; standing by")
                    holding = False
            except RedisError as exc:
                log.warning("scheduler could not reach Redis (%s: %s); trying again", type(exc).__name__, exc)
            time.sleep(interval)
    finally:
        try:
            scheduler.release_locks()  # type: ignore[no-untyped-call]
            scheduler.register_death()
        except RedisError:
            pass  # the lock lapses by itself; our next start takes it back at once (same name)


def serve(connection: Redis, queue_name: str) -> None:
    """The process's main loop: until SIGTERM or SIGINT."""
    stop = {"now": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run(connection, queue_name, lambda: stop["now"])

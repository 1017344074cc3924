"""One fetch and decode per file at a time, across workers.

The prompt fetch of a file and the filing of its report may run at once on two workers; decoding a
large picture twice costs seconds of CPU and hundreds of megabytes. Whoever fetches a file first
holds its claim (a Redis lock, renewed while held); the other waits, woken as soon as the holder lets
go, then uses what the holder stored. A holder that died leaves the claim for `CLAIM_SECONDS` at most.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from bot.keys import RedisKeys
from config.errors import Transient

CLAIM_SECONDS = 15
"""A claim lapses this long after its holder stopped renewing it (a killed worker)."""
CLAIM_WAIT = 120
"""How long a job waits for another worker's fetch of the same file (a fetch gives up after 60 s)."""


class FileBusy(Transient):
    """Another worker kept fetching this file for longer than a job waits; retried later."""


@contextlib.contextmanager
def fetching(redis: Redis, media_id: str, wait: float = CLAIM_WAIT,
             keys: RedisKeys | None = None) -> Iterator[None]:
    """Hold the claim on one file while fetching, checking and storing it; callers look again at
    what is stored once inside, since the previous holder may have stored it. Raises `FileBusy`
    after waiting `wait` seconds for another holder."""
    name = (keys or RedisKeys()).media_claim(media_id)
    lock = Lock(redis, name, timeout=CLAIM_SECONDS, thread_local=False)
    _acquire(redis, lock, name, time.monotonic() + wait)
    stop = threading.Event()
    renewal = threading.Thread(target=_renew, args=(lock, stop), name="media-claim", daemon=True)
    renewal.start()
    try:
        yield
    finally:
        stop.set()
        renewal.join()
        with contextlib.suppress(LockError, RedisError):  # not released: it lapses by itself
            lock.release()
            redis.publish(name, b"1")


def _acquire(redis: Redis, lock: Lock, name: str, deadline: float) -> None:
    if lock.acquire(blocking=False):
        return
    with contextlib.closing(redis.pubsub(ignore_subscribe_messages=True)) as released:  # type: ignore[no-untyped-call]
        released.subscribe(name)  # before looking again, so a release in between is not missed
        while not lock.acquire(blocking=False):
            left = deadline - time.monotonic()
            if left <= 0:
                raise FileBusy("another worker was still fetching it")
            released.get_message(timeout=min(left, CLAIM_SECONDS / 3))  # woken by a release, or to look again


def _renew(lock: Lock, stop: threading.Event) -> None:
    while not stop.wait(CLAIM_SECONDS / 3):
        try:
            lock.reacquire()
        except (LockError, RedisError):
            return

"""Connections to Redis that survive what production does to them.

Every process opens Redis through here. A pool bounded by `REDIS_MAX_CONNECTIONS` where a burst
waits for a free connection (`BlockingConnectionPool`, up to `POOL_WAIT` seconds) instead of
failing at once; commands retried with backoff for up to `REDIS_RETRY_SECONDS` (8) on a dropped
connection or a Redis still loading its AOF (a restart takes seconds, and leaves every pooled
connection stale), and idle connections checked before use. What still fails after that budget, the
web process keeps for later (bot/spool.py): a webhook never waits past Twilio's 15 s for Redis.
"""

from __future__ import annotations

import redis
from redis import BlockingConnectionPool as SyncBlockingPool
from redis import Redis as SyncRedis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError, TimeoutError
from redis.retry import Retry

from config.settings import Settings

POOL_WAIT = 5
BACKOFF_BASE = 0.05
BACKOFF_CAP = 0.8
"""Retries wait 0.1, 0.2, 0.4 s, then 0.8 s each: a Redis back after a restart is used within 0.8 s."""
CONNECT_SECONDS = 2
"""A connection attempt that gets no answer in this long fails (and is retried within the budget)."""
HEALTH_CHECK_SECONDS = 10
COMMAND_SECONDS = 10
"""A command of the web process's (never a blocking one) that gets no answer in this long fails and is
retried, instead of holding a webhook for ever on a half-dead connection."""
_RETRY_ON = (ConnectionError, TimeoutError)
DRIVER = DriverInfo(name="redis-py", lib_version=redis.__version__)
"""What each new connection tells Redis (CLIENT SETINFO), worked out once: left to itself, redis-py reads
its version from the installed package's metadata for every connection it makes (~1 ms), and a worker's
job, in a forked horse, makes its connections anew."""


def redis_url_of(settings: Settings) -> str:
    """`settings.redis_url`, which every client of the service's needs (the CLI starts the embedded one)."""
    if not settings.redis_url:
        raise ValueError("settings.redis_url must be set (the CLI starts the embedded Redis in dev)")
    return settings.redis_url


def retries_within(seconds: float) -> int:
    """How many retries, backing off as above, fit in `seconds` of waiting (8 s: 12 retries, 7.9 s)."""
    retries, waited = 0, 0.0
    while waited + min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (retries + 1)) <= seconds:
        retries += 1
        waited += min(BACKOFF_CAP, BACKOFF_BASE * 2 ** retries)
    return retries


def backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE)


def async_redis(settings: Settings) -> Redis:
    """The web process's (and workers' short-lived loops') asyncio client."""
    pool = BlockingConnectionPool.from_url(
        redis_url_of(settings), max_connections=settings.redis_max_connections, timeout=POOL_WAIT,
        health_check_interval=HEALTH_CHECK_SECONDS, socket_timeout=COMMAND_SECONDS,
        socket_connect_timeout=CONNECT_SECONDS, driver_info=DRIVER,
        retry=AsyncRetry(backoff(), retries_within(settings.redis_retry_seconds), supported_errors=_RETRY_ON),
        retry_on_error=list(_RETRY_ON),
    )
    return Redis.from_pool(pool)


def sync_redis(settings: Settings) -> SyncRedis:
    """The blocking client (RQ, enqueueing from the web process, the CLI)."""
    pool = SyncBlockingPool.from_url(
        redis_url_of(settings), max_connections=settings.redis_max_connections, timeout=POOL_WAIT,
        health_check_interval=HEALTH_CHECK_SECONDS, socket_connect_timeout=CONNECT_SECONDS, driver_info=DRIVER,
        retry=Retry(backoff(), retries_within(settings.redis_retry_seconds), supported_errors=_RETRY_ON),
        retry_on_error=list(_RETRY_ON),
    )
    return SyncRedis.from_pool(pool)

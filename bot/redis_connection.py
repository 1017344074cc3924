"""Connections to Redis that survive what production does to them.

Every process opens Redis through here. A pool bounded by `REDIS_MAX_CONNECTIONS` where a burst
waits for a free connection (`BlockingConnectionPool`, up to `POOL_WAIT` seconds) instead of
failing at once; commands retried with backoff on a dropped connection (a restarted or failed-over
Redis leaves every pooled connection stale), and idle connections checked before use.
"""

from __future__ import annotations

from redis import BlockingConnectionPool as SyncBlockingPool
from redis import Redis as SyncRedis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError
from redis.retry import Retry

from config.settings import Settings

POOL_WAIT = 5
RETRIES = 4
"""Up to 4 retries, 0.05 s to 1 s apart: covers a restart of a few seconds without holding a webhook."""
HEALTH_CHECK_SECONDS = 10
COMMAND_SECONDS = 10
"""A command of the web process's (never a blocking one) that gets no answer in this long fails and is
retried, instead of holding a webhook for ever on a half-dead connection."""
_RETRY_ON = (ConnectionError, TimeoutError)


def _url(settings: Settings) -> str:
    if not settings.redis_url:
        raise ValueError("settings.redis_url must be set (the CLI starts the embedded Redis in dev)")
    return settings.redis_url


def async_redis(settings: Settings) -> Redis:
    """The web process's (and workers' short-lived loops') asyncio client."""
    pool = BlockingConnectionPool.from_url(
        _url(settings), max_connections=settings.redis_max_connections, timeout=POOL_WAIT,
        health_check_interval=HEALTH_CHECK_SECONDS, socket_timeout=COMMAND_SECONDS,
        retry=AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), RETRIES, supported_errors=_RETRY_ON),
        retry_on_error=list(_RETRY_ON),
    )
    return Redis.from_pool(pool)


def sync_redis(settings: Settings) -> SyncRedis:
    """The blocking client (RQ, enqueueing from the web process, the CLI)."""
    pool = SyncBlockingPool.from_url(
        _url(settings), max_connections=settings.redis_max_connections, timeout=POOL_WAIT,
        health_check_interval=HEALTH_CHECK_SECONDS,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), RETRIES, supported_errors=_RETRY_ON),
        retry_on_error=list(_RETRY_ON),
    )
    return SyncRedis.from_pool(pool)

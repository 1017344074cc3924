"""What a worker process needs, built once per process from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from redis import Redis

from adapters.base import Adapter, MediaLimits
from adapters.registry import load_adapters
from bot.compact import COMPACT
from bot.media_status import MediaStatus
from bot.redis_connection import sync_redis
from config.dev import ensure_dev_settings
from config.settings import Settings, SettingsError, load_settings
from flows.machine import ReportFlow
from secure_store.backends import Store, open_store
from secure_store.keys import Recipient, parse_public_keys


@dataclass
class WorkerContext:
    settings: Settings
    store: Store
    recipients: list[Recipient]
    adapters: dict[str, Adapter]
    redis: Redis
    flow: ReportFlow
    """The report flow and its translations, for what workers say to reporters (loaded once: ~60 ms)."""

    @property
    def limits(self) -> MediaLimits:
        return MediaLimits(self.settings.max_media_bytes, self.settings.media_types)

    @property
    def media_status(self) -> MediaStatus:
        return MediaStatus(self.redis, self.settings.session_key, compact=self.settings.redis_format >= COMPACT)


@cache
def worker_context() -> WorkerContext:
    """The worker process's context, from the environment, built once."""
    settings = ensure_dev_settings(load_settings())
    if not settings.redis_url:
        raise SettingsError("REDIS_URL must be set for workers (`tipline worker` sets it in dev)")
    return make_context(settings)


def make_context(settings: Settings) -> WorkerContext:
    return WorkerContext(
        settings=settings,
        store=open_store(settings.store_url, settings.s3_endpoint_url),
        recipients=parse_public_keys(settings.analyst_public_keys),
        adapters=load_adapters(settings),
        redis=sync_redis(settings),
        flow=ReportFlow(default_country=settings.default_country or None),
    )

"""The aiohttp application: health, readiness, metrics, and every enabled adapter's routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from adapters.base import Adapter, Chat, Inbound, MediaLimits, Reply
from adapters.registry import load_adapters
from bot import metrics
from bot.engine import Engine
from bot.queue import enqueue_on, make_queue
from bot.quiet import QuietTimer
from bot.redis_connection import async_redis, sync_redis
from bot.sessions import SessionStore
from config.settings import Settings
from flows.machine import ReportFlow
from secure_store.backends import Store, StoreError, open_store

log = logging.getLogger("tipline.web")

ENGINE = web.AppKey("engine", Engine)
SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
REDIS = web.AppKey("redis", Redis)
ADAPTERS = web.AppKey("adapters", dict[str, Adapter])


@web.middleware
async def never_500(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unexpected errors become a bare 500 without details; the log line names only the route."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("unhandled %s on %s", type(exc).__name__, request.path, exc_info=False)
        raise web.HTTPInternalServerError(text="internal error") from None


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


NO_PERSISTENCE = ("Redis persistence (AOF) is off: a restart loses queued reports, retries and live "
                  "conversations; set appendonly yes and appendfsync everysec (see README)")


async def persistence_warnings(redis: Redis) -> list[str]:
    """What Redis would lose on a restart; [] when AOF is on (or a managed Redis hides INFO)."""
    try:
        info = await redis.info("persistence")
    except Exception:  # a managed Redis may refuse INFO; readiness is judged by PING
        return []
    return [] if str(info.get("aof_enabled", "1")) == "1" else [NO_PERSISTENCE]


async def readyz(request: web.Request) -> web.Response:
    problems: dict[str, str] = {}
    warnings: list[str] = []
    try:
        await request.app[REDIS].ping()
        warnings = await persistence_warnings(request.app[REDIS])
    except Exception as exc:
        problems["redis"] = type(exc).__name__
    try:
        await asyncio.to_thread(request.app[STORE].ping)
    except StoreError as exc:
        problems["store"] = str(exc)
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    return web.json_response({"status": "ready", **({"warnings": warnings} if warnings else {})})


async def warn_at_start(app: web.Application) -> None:
    for warning in await persistence_warnings(app[REDIS]):
        log.warning("%s", warning)


async def metrics_view(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def make_app(settings: Settings, clock: Callable[[], float] = time.time) -> web.Application:
    """Build the app for `settings`; Redis must be reachable at `settings.redis_url`. `clock`:
    wall-clock seconds for the quiet timers (tests move it instead of waiting)."""
    if not settings.redis_url:
        raise ValueError("settings.redis_url must be set (the CLI starts the embedded Redis in dev)")
    redis = async_redis(settings)
    blocking_redis = sync_redis(settings)
    queue = make_queue(blocking_redis, settings.queue_name)
    engine = Engine(
        sessions=SessionStore.from_settings(redis, settings),
        flow=ReportFlow(default_country=settings.default_country or None),
        pseudonym_key=settings.pseudonym_key,
        session_key=settings.session_key,
        enqueue=enqueue_on(queue),
        quiet=QuietTimer(enqueue_on(queue), settings.reminder_after, settings.draft_expiry),
        limits=MediaLimits(settings.max_media_bytes, settings.media_types),
        clock=clock,
    )
    adapters = load_adapters(settings)

    async def handle(message: Inbound, chat: Chat | None = None) -> list[Reply]:
        started = time.perf_counter()
        try:
            replies = await engine.handle(message, chat)
        except Exception:
            metrics.MESSAGES.labels(message.channel, "error").inc()
            raise
        metrics.HANDLE_SECONDS.observe(time.perf_counter() - started)
        metrics.MESSAGES.labels(message.channel, "handled" if replies else "duplicate").inc()
        return replies

    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[never_500])
    app[ENGINE] = engine
    app[SETTINGS] = settings
    app[STORE] = open_store(settings.store_url, settings.s3_endpoint_url)
    app[REDIS] = redis
    app[ADAPTERS] = adapters
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    for adapter in adapters.values():
        app.router.add_routes(adapter.routes(handle))

    async def close(app: web.Application) -> None:
        for adapter in adapters.values():
            await adapter.close()
        await redis.aclose()
        blocking_redis.close()

    app.on_startup.append(warn_at_start)
    app.on_cleanup.append(close)
    return app

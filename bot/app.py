"""The aiohttp application: health, readiness, metrics, and every enabled adapter's routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.asyncio import Redis

from adapters.base import Adapter, Chat, Inbound, MediaLimits, Reply
from adapters.registry import load_adapters
from bot import logs, metrics
from bot.engine import Engine
from bot.followup import FollowUps
from bot.identity import pseudonym
from bot.jobs import Job, SendLater
from bot.queue import enqueue_now_on, enqueue_on, make_queue
from bot.quiet import QuietTimer
from bot.redis_connection import async_redis, sync_redis
from bot.redis_wire import Wire
from bot.sessions import SessionStore
from bot.spool import NOT_NOW, Spool, replay_forever
from bot.worker_metrics import WorkerCollector
from config.settings import Settings
from flows.machine import ReportFlow
from secure_store.backends import Store, StoreError, open_store

log = logging.getLogger("tipline.web")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

ENGINE = web.AppKey("engine", Engine)
SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
REDIS = web.AppKey("redis", Redis)
ADAPTERS = web.AppKey("adapters", dict[str, Adapter])
WORKER_METRICS = web.AppKey("worker_metrics", CollectorRegistry)


@web.middleware
async def guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every request gets an id for its log lines (the caller's `X-Request-Id` when it is a plain
    token, else a new random one; echoed in the response); webhook answers of 4xx are counted; an
    unexpected error becomes a bare 500 whose log line names only the route. One middleware rather
    than three: each is a coroutine more on every webhook."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _GIVEN_ID.match(given) else secrets.token_hex(8)
    token = logs.REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        count_refusal(request, exc.status)
        exc.headers["X-Request-Id"] = request_id
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("unhandled %s on %s", type(exc).__name__, request.path, exc_info=False)
        failed = web.HTTPInternalServerError(text="internal error")
        failed.headers["X-Request-Id"] = request_id
        raise failed from None
    finally:
        logs.REQUEST_ID.reset(token)
    count_refusal(request, response.status)
    response.headers["X-Request-Id"] = request_id
    return response


def count_refusal(request: web.Request, status: int) -> None:
    """Count a webhook request answered 4xx (forged signature, bad body, too large) by channel and
    status; only routes that exist, so a scan of made-up paths adds no label values."""
    if not 400 <= status < 500:
        return
    route = request.match_info.route.resource
    if route is not None and route.canonical.startswith("/webhooks/"):
        metrics.REJECTED.labels(route.canonical.removeprefix("/webhooks/"), str(status)).inc()


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
    """This process's figures, then the service-wide worker and queue figures read from Redis."""
    service = await asyncio.to_thread(generate_latest, request.app[WORKER_METRICS])
    return web.Response(body=generate_latest() + service, headers={"Content-Type": CONTENT_TYPE_LATEST})


def make_app(settings: Settings, clock: Callable[[], float] = time.time) -> web.Application:
    """Build the app for `settings`; Redis must be reachable at `settings.redis_url`. `clock`:
    wall-clock seconds for the quiet timers (tests move it instead of waiting)."""
    redis = async_redis(settings)
    wire = Wire.from_settings(settings)
    blocking_redis = sync_redis(settings)
    queue = make_queue(blocking_redis, settings.queue_name)
    adapters = load_adapters(settings)

    async def deliver(adapter: str, address: str, replies: list[Reply]) -> None:
        await adapters[adapter].send(address, replies)

    engine = Engine(
        sessions=SessionStore.from_settings(redis, settings, scripts=wire),
        flow=ReportFlow(default_country=settings.default_country or None),
        pseudonym_key=settings.pseudonym_key,
        session_key=settings.session_key,
        enqueue=enqueue_now_on(queue, wire),
        quiet=QuietTimer(enqueue_on(queue), settings.reminder_after, settings.draft_expiry),
        limits=MediaLimits(settings.max_media_bytes, settings.media_types),
        clock=clock,
        addition_window=settings.addition_window,
        album_quiet=settings.album_quiet_ms / 1000,
        followups=FollowUps(redis, settings.session_key, settings.followup_ttl),
        deliver=deliver,
    )
    spool = Spool(settings.var_dir / "spool" / str(settings.port), settings.session_key)

    async def keep(who: str, message: Inbound, why: str) -> list[Reply]:
        await asyncio.to_thread(spool.keep, who, message)
        metrics.MESSAGES.labels(message.adapter, "kept").inc()
        log.warning("message kept to be handled later (%s)", why)
        return []

    async def handle(message: Inbound, chat: Chat | None = None) -> list[Reply]:
        """The engine's answer; a message that cannot be handled now is kept (bot/spool.py): the
        provider gets 200 with nothing to say, the reporter the replies a moment later."""
        started = time.perf_counter()
        if spool.waiting and (who := pseudonym(settings.pseudonym_key, message.adapter, message.sender)) \
                in spool.waiting:
            return await keep(who, message, "its conversation has messages kept before it")
        try:
            replies = await engine.handle(message, chat)
        except NOT_NOW as exc:
            return await keep(pseudonym(settings.pseudonym_key, message.adapter, message.sender), message,
                              type(exc).__name__)
        except Exception:
            metrics.MESSAGES.labels(message.adapter, "error").inc()
            raise
        metrics.HANDLE_SECONDS.observe(time.perf_counter() - started)
        metrics.MESSAGES.labels(message.adapter, "handled" if replies else "duplicate").inc()
        return replies

    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[guard])
    app[ENGINE] = engine
    app[SETTINGS] = settings
    app[STORE] = open_store(settings.store_url, settings.s3_endpoint_url)
    app[REDIS] = redis
    app[ADAPTERS] = adapters
    app[WORKER_METRICS] = CollectorRegistry(auto_describe=False)
    app[WORKER_METRICS].register(WorkerCollector(blocking_redis, queue))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    for adapter in adapters.values():
        app.router.add_routes(adapter.routes(handle))

    async def close(app: web.Application) -> None:
        await engine.answers_sent()
        for adapter in adapters.values():
            await adapter.close()
        await redis.aclose()
        await wire.aclose()
        blocking_redis.close()

    async def answer_kept(who: str, message: Inbound, replies: list[Reply]) -> None:
        """Send the replies to a kept message; a worker sends them if the provider cannot now."""
        if not replies:
            return
        try:
            await deliver(message.adapter, message.sender, replies)
        except Exception as exc:
            log.warning("replies to a kept message go to a worker (%s)", type(exc).__name__)
            later = SendLater(message.adapter, message.sender, tuple(replies), who, engine.clock())
            await engine.enqueue(Job.SEND_LATER, later.seal(settings.session_key), f"send-{secrets.token_hex(8)}")

    async def replay_kept(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(replay_forever(spool, engine.handle, answer_kept))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.on_startup.append(warn_at_start)
    app.cleanup_ctx.append(replay_kept)
    app.on_cleanup.append(close)
    return app

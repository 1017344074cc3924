"""The quiet sweeper job: the RQ side of the quiet-conversation policy in bot/quiet.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot import quiet
from bot.queue import enqueue_on, make_queue
from bot.redis_connection import async_redis
from bot.sessions import Session, SessionStore
from workers.context import WorkerContext, worker_context
from workers.reporter import tell

T = TypeVar("T")


def sweep(token: str) -> str:
    """Scheduled job: remind or expire the conversations that are due, then schedule the next sweep."""
    return asyncio.run(_run(worker_context(), lambda sessions, policy, remind: quiet.sweep(
        sessions, token, policy, remind)))


def look_at_quiet(context: WorkerContext, now: float) -> list[str]:
    """What a sweep does at wall-clock `now`, outside the chain (tests pass a time instead of waiting)."""
    return asyncio.run(_run(context, lambda sessions, policy, remind: quiet.look_at_quiet(
        sessions, now, policy, remind)))


async def _run(context: WorkerContext,
               work: Callable[[SessionStore, quiet.QuietPolicy, quiet.Remind], Awaitable[T]]) -> T:
    settings = context.settings
    policy = quiet.QuietPolicy(
        reminder_after=settings.reminder_after, draft_expiry=settings.draft_expiry,
        expiry_policy=settings.expiry_policy, sweep_every=settings.quiet_sweep_seconds, spec=context.flow.spec,
        session_key=settings.session_key, enqueue=enqueue_on(make_queue(context.redis, settings.queue_name)),
    )

    async def remind(session: Session) -> None:
        await tell(context, session, context.flow.prompt(session.conversation, "reminder"), "reminder")

    redis = async_redis(settings)
    try:
        return await work(SessionStore.from_settings(redis, settings), policy, remind)
    finally:
        await redis.aclose()

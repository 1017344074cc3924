"""The quiet sweeper job: the RQ side of the quiet-conversation policy in bot/quiet.py."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis as AsyncRedis

from bot import quiet
from bot.queue import enqueue_on, make_queue
from bot.sessions import Session, SessionStore
from workers.context import WorkerContext, worker_context
from workers.reporter import tell


def sweep(token: str) -> str:
    """Scheduled job: remind or expire the conversations that are due, then schedule the next sweep."""
    return asyncio.run(_sweep(worker_context(), token))


async def _sweep(context: WorkerContext, token: str) -> str:
    settings = context.settings
    policy = quiet.QuietPolicy(
        reminder_after=settings.reminder_after, draft_expiry=settings.draft_expiry,
        expiry_policy=settings.expiry_policy, sweep_every=settings.quiet_sweep_seconds, spec=context.flow.spec,
        session_key=settings.session_key, enqueue=enqueue_on(make_queue(context.redis, settings.queue_name)),
    )

    async def remind(session: Session) -> None:
        await tell(context, session, context.flow.prompt(session.conversation, "reminder"), "reminder")

    redis = AsyncRedis.from_url(settings.redis_url or "")
    try:
        return await quiet.sweep(SessionStore(redis, settings.session_key, settings.session_ttl), token, policy, remind)
    finally:
        await redis.aclose()

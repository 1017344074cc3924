"""Quiet conversations: one reminder, then the draft is handled by `EXPIRY_POLICY`.

Every live conversation sits in one sorted set (`tl:q`) scored by when it next needs a look; the
engine updates it in the same transaction that saves the session. One self-renewing job, the
sweeper (RQ scheduler, every `QUIET_SWEEP_SECONDS`), looks at the conversations that are due.
A single chain runs at a time: it holds a claim key naming its next job, and a job that finds
another name there stops. If the chain dies, the claim expires and the next message starts one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from rq import Queue

from bot.drafts import discarded_draft, report_draft, worth_filing
from bot.jobs import Job, seal_payload
from bot.queue import enqueue, enqueue_on, make_queue
from bot.quiet import schedule_sweep
from bot.redis_connection import async_redis
from bot.sessions import QUIET_INDEX, SWEEPER_CLAIM, SWEEPER_CLAIM_SECONDS, Session, SessionStore
from workers.context import WorkerContext, worker_context
from workers.reporter import tell

log = logging.getLogger("tipline.reminders")

BATCH = 200


def sweep(token: str) -> str:
    """Scheduled job: remind or expire the conversations that are due, then schedule the next sweep."""
    context = worker_context()
    redis = context.redis
    holder = redis.get(SWEEPER_CLAIM)
    if not isinstance(holder, bytes) or holder.decode() != token:
        return "stale chain"
    outcomes = look_at_quiet(context, time.time())
    following = secrets.token_hex(8)
    interval = context.settings.quiet_sweep_seconds
    redis.set(SWEEPER_CLAIM, following, ex=interval + SWEEPER_CLAIM_SECONDS)
    schedule_sweep(enqueue_on(_queue(context)), following, delay=interval)
    return f"looked at {len(outcomes)}: " + ", ".join(f"{o}={outcomes.count(o)}" for o in sorted(set(outcomes)))


def look_at_quiet(context: WorkerContext, now: float) -> list[str]:
    """Remind or expire the conversations due by `now` (wall-clock seconds); one outcome each."""
    members: list[bytes] = context.redis.zrangebyscore(QUIET_INDEX, "-inf", now, 0, BATCH)  # type: ignore[assignment]
    due = [m.decode() for m in members]
    return asyncio.run(_look_at(context, due, now)) if due else []


async def _look_at(context: WorkerContext, due: list[str], now: float) -> list[str]:
    settings = context.settings
    redis = async_redis(settings)
    try:
        sessions = SessionStore.from_settings(redis, settings)
        return [await _look(context, sessions, who, now) for who in due]
    finally:
        await redis.aclose()


async def _look(context: WorkerContext, sessions: SessionStore, who: str, now: float) -> str:
    """Remind once per quiet spell, expire at the end of it; otherwise just re-index."""
    settings = context.settings
    async with sessions.lock(who):
        session = await sessions.load(who)
        if session is None:
            await sessions.redis.zrem(sessions.quiet_index, who)
            return "gone"
        last = float(session.extra.get("q", 0))
        quiet_for = now - last
        if quiet_for >= settings.draft_expiry:
            await asyncio.to_thread(_expire, context, session)
            await sessions.end(who)
            return "expired"
        stamp = session.extra.get("n", 0)
        if settings.reminder_after and quiet_for >= settings.reminder_after and session.extra.get("r") != stamp:
            await _remind(context, session)
            session.extra["r"] = stamp
            await sessions.save(who, session, quiet_check_at=last + settings.draft_expiry)
            return "reminded"
        reminded = not settings.reminder_after or session.extra.get("r") == stamp
        await sessions.redis.zadd(sessions.quiet_index,
                                  {who: last + (settings.draft_expiry if reminded else settings.reminder_after)})
        return "not yet"


async def _remind(context: WorkerContext, session: Session) -> None:
    await tell(context, session, context.flow.prompt(session.conversation, "reminder"), "reminder")


def _queue(context: WorkerContext) -> Queue:
    return make_queue(context.redis, context.settings.queue_name)


def _expire(context: WorkerContext, session: Session) -> None:
    """File what the reporter typed as an incomplete report (or an addendum), or discard it."""
    settings = context.settings
    flow = context.flow
    queue = _queue(context)
    step = session.conversation.state
    if settings.expiry_policy == "file" and worth_filing(session, flow.spec):
        addendum = session.conversation.addendum_to is not None
        note = f"not confirmed by the reporter: the conversation went quiet at step '{step}' and expired"
        draft = report_draft(session, flow.spec, "addendum" if addendum else "incomplete", notes=(note,))
        enqueue(queue, Job.FILE_REPORT, seal_payload(settings.session_key, draft), f"file-{session.report_id}")
        log.info("expired draft filed as incomplete (media=%d)", len(draft["media"]))
    elif session.conversation.media or session.extra.get("ids"):
        payload = seal_payload(settings.session_key, discarded_draft(session, session.conversation.media, whole=True))
        enqueue(queue, Job.DISCARD_DRAFT, payload, f"discard-{session.report_id}")
        log.info("expired draft discarded (media=%d)", len(session.conversation.media))

"""Quiet conversations: one reminder, then the draft is handled by `EXPIRY_POLICY`.

Each live conversation has one scheduled job (`quiet-r-<pseudonym>`, then `quiet-e-<pseudonym>`),
re-armed on every message (RQ scheduler, `enqueue_in`). The job first reminds, then re-arms itself for the expiry.
It acts only if the conversation has not moved on since it was armed (same message stamp, and
the quiet time has really passed), so a late or early run does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from datetime import timedelta

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from bot.drafts import report_draft, worth_filing
from bot.sessions import Session, SessionStore
from flows.machine import ReportFlow
from workers.context import WorkerContext, worker_context
from workers.payload import seal_payload
from workers.queue import enqueue, make_queue

log = logging.getLogger("tipline.reminders")

REMIND, EXPIRE = "remind", "expire"


def job_id(who: str, phase: str) -> str:
    """One id per phase: a running reminder job re-arms the expiry under the other id, so RQ's
    clean-up of the finished reminder cannot delete the expiry it just scheduled."""
    return f"quiet-{phase[0]}-{who}"


class QuietTimer:
    """The engine's side: (re)arm or drop a conversation's quiet job."""

    def __init__(self, queue: Queue, reminder_after: int, draft_expiry: int) -> None:
        self.queue = queue
        self.reminder_after = reminder_after
        self.draft_expiry = draft_expiry

    def start(self, who: str, stamp: int) -> None:
        phase, delay = (REMIND, self.reminder_after) if self.reminder_after else (EXPIRE, self.draft_expiry)
        if phase == REMIND:
            self._drop(job_id(who, EXPIRE))
        arm(self.queue, who, stamp, phase, delay)

    def stop(self, who: str) -> None:
        for phase in (REMIND, EXPIRE):
            self._drop(job_id(who, phase))

    def _drop(self, name: str) -> None:
        self.queue.scheduled_job_registry.remove(name)
        with contextlib.suppress(NoSuchJobError):
            Job.fetch(name, connection=self.queue.connection, serializer=self.queue.serializer).delete()


def arm(queue: Queue, who: str, stamp: int, phase: str, delay: int) -> None:
    queue.enqueue_in(
        timedelta(seconds=delay), "workers.reminders.quiet", who, stamp, phase,
        job_id=job_id(who, phase), result_ttl=0, failure_ttl=24 * 3600, description="quiet",
    )


def quiet(who: str, stamp: int, phase: str) -> str:
    """Scheduled job: remind the reporter, or handle the expired draft, unless they wrote since."""
    context = worker_context()
    return asyncio.run(_quiet(context, who, stamp, phase))


async def _quiet(context: WorkerContext, who: str, stamp: int, phase: str) -> str:
    settings = context.settings
    redis = AsyncRedis.from_url(settings.redis_url or "")
    try:
        sessions = SessionStore(redis, settings.session_key, settings.session_ttl)
        async with sessions.lock(who):
            session = await sessions.load(who)
            if session is None or int(session.extra.get("n", 0)) != stamp:
                return "moved on"
            quiet_for = time.time() - float(session.extra.get("q", 0))
            wanted = settings.reminder_after if phase == REMIND else settings.draft_expiry
            if quiet_for < wanted - 0.1:  # re-armed while queued: the engine's newer job follows
                return "not yet"
            if phase == REMIND:
                await _remind(context, session)
                await asyncio.to_thread(_arm_expiry, context, who, stamp, quiet_for)
                return "reminded"
            await asyncio.to_thread(_expire, context, session)
            await sessions.end(who)
            return "expired"
    finally:
        await redis.aclose()


async def _remind(context: WorkerContext, session: Session) -> None:
    flow = ReportFlow()
    adapter = context.adapters.get(session.channel)
    if adapter is None:
        log.warning("no adapter for a reminder on channel %s", session.channel)
        return
    try:
        await adapter.send(session.address, [flow.prompt(session.conversation, "reminder")])
    except Exception as exc:  # one reminder is a courtesy; the expiry still follows
        log.warning("reminder not sent: %s", type(exc).__name__)


def _queue(context: WorkerContext) -> Queue:
    return make_queue(Redis.from_url(context.settings.redis_url or ""), context.settings.queue_name)


def _arm_expiry(context: WorkerContext, who: str, stamp: int, quiet_for: float) -> None:
    remaining = max(1, math.ceil(context.settings.draft_expiry - quiet_for))
    arm(_queue(context), who, stamp, EXPIRE, remaining)


def _expire(context: WorkerContext, session: Session) -> None:
    """File what the reporter typed as an incomplete report (or an addendum), or discard it."""
    settings = context.settings
    flow = ReportFlow()
    queue = _queue(context)
    step = session.conversation.state
    if settings.expiry_policy == "file" and worth_filing(session, flow.spec):
        addendum = session.conversation.addendum_to is not None
        note = f"not confirmed by the reporter: the conversation went quiet at step '{step}' and expired"
        draft = report_draft(session, flow.spec, "addendum" if addendum else "incomplete", notes=(note,))
        enqueue(queue, "file_report", seal_payload(settings.session_key, draft), f"file-{session.report_id}")
        log.info("expired draft filed as incomplete (media=%d)", len(draft["media"]))
    elif session.conversation.media:
        payload = seal_payload(settings.session_key, {"media": session.conversation.media})
        enqueue(queue, "discard_draft", payload, f"discard-{session.report_id}")
        log.info("expired draft discarded (media=%d)", len(session.conversation.media))

"""Delivering analysts' questions: the poll that finds them in the store, and the job that sends one.

The reporter's address is readable only inside `deliver_question`, in memory, for the one send; what
stays is a record for analysts (sealed to their keys) and the encrypted link pseudonym -> report in
Redis. Log lines name request ids (random) and outcomes, never addresses or text. See docs/follow-up.md.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from nacl.public import PrivateKey
from redis.asyncio import Redis as AsyncRedis
from rq import get_current_job

from adapters.base import AsksReporters, Question, Undeliverable
from bot.constants import FOLLOWUP_MAX_AGE, FOLLOWUP_POLL_BATCH
from bot.followup import FollowUps, Link
from bot.identity import pseudonym
from bot.jobs import Job
from bot.queue import enqueue, make_queue
from flows.followup import question_text, too_long_for
from secure_store.backends import ObjectMissing
from secure_store.followup import (
    DELIVERED,
    NOT_DELIVERED,
    REQUEST_PREFIX,
    Request,
    file_record,
    open_request,
    record,
    request_id_of,
    request_name,
)
from secure_store.report import now_iso
from secure_store.seal import SealError
from workers.context import WorkerContext, worker_context

log = logging.getLogger("tipline.followup")


@asynccontextmanager
async def _followups(context: WorkerContext) -> AsyncIterator[FollowUps]:
    redis = AsyncRedis.from_url(context.settings.redis_url or "")
    try:
        yield FollowUps(redis, context.settings.session_key, context.settings.followup_ttl)
    finally:
        await redis.aclose()


def poll(token: str) -> str:
    """Scheduled job: enqueue one delivery per unclaimed question in `requests/`, then schedule the next poll."""
    context = worker_context()
    return asyncio.run(_poll(context, token))


async def _poll(context: WorkerContext, token: str) -> str:
    settings = context.settings
    queue = make_queue(context.redis, settings.queue_name)
    async with _followups(context) as followups:
        if await followups.poll_holder() != token:
            return "stale chain"
        found = 0
        try:
            for name in context.store.names(REQUEST_PREFIX):
                request_id = request_id_of(name)
                if request_id is None or found >= FOLLOWUP_POLL_BATCH:
                    continue
                if await followups.claim(request_id):
                    enqueue(queue, Job.DELIVER_QUESTION, request_id, f"ask-{request_id}")
                    found += 1
        finally:
            following = secrets.token_hex(8)
            await followups.claim_poll(following, settings.followup_poll_seconds, only_if_free=False)
            enqueue(queue, Job.FOLLOWUP_POLL, following, f"followup-poll-{following}",
                    delay=settings.followup_poll_seconds)
    return f"found {found}"


def deliver_question(request_id: str) -> str:
    """Send one analyst's question to its reporter and record what happened; retried on outages."""
    context = worker_context()
    return asyncio.run(_deliver(context, request_id))


def _last_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def _seconds(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


async def _deliver(context: WorkerContext, request_id: str) -> str:
    settings, store = context.settings, context.store
    name = request_name(request_id)
    async with _followups(context) as followups:
        if await followups.was_delivered(request_id):
            store.delete(name)
            return "already delivered"
        try:
            blob = store.get(name)
        except ObjectMissing:
            return "no such request"
        try:
            request, asked_by = open_request(blob, PrivateKey(settings.followup_private_key), context.recipients)
        except SealError as exc:
            log.warning("follow-up request %s refused and removed: %s", request_id, exc)
            store.delete(name)
            return "refused"
        if request.request_id != request_id:
            log.warning("follow-up request %s refused and removed: its name and content differ", request_id)
            store.delete(name)
            return "refused"
        status, reason, sent_as = await _send(context, followups, request)
        if status == DELIVERED:
            await followups.mark_delivered(request_id)
        file_record(store, context.recipients, record(request, asked_by, status, now_iso(), reason, sent_as))
        store.delete(name)
        log.info("follow-up question %s: %s%s", request_id, status, f" ({sent_as})" if sent_as else "")
        return status


async def _send(context: WorkerContext, followups: FollowUps, request: Request) -> tuple[str, str | None, str | None]:
    """(status, reason, how it was sent). Raises on a transient failure unless this is the last attempt."""
    settings = context.settings
    if time.time() - _seconds(request.asked_at) > FOLLOWUP_MAX_AGE:
        return NOT_DELIVERED, "the question waited more than 7 days for a worker", None
    adapter = context.adapters.get(request.adapter)
    if not isinstance(adapter, AsksReporters):
        return NOT_DELIVERED, f"the channel {request.adapter!r} cannot carry questions in this service", None
    who = pseudonym(settings.pseudonym_key, request.adapter, request.address)
    if await followups.opted_out(who):
        return NOT_DELIVERED, "the reporter ended follow-up (sent DELETE); do not ask again", None
    locale = context.flow.locales.get(request.language) or context.flow.locales["en"]
    date = request.reported_at[:10]
    text = question_text(locale, date, request.question)
    problem = too_long_for(request.channel, text)
    if problem:
        return NOT_DELIVERED, problem, None
    earlier = await followups.find(who)
    heard = max(_seconds(request.reported_at), earlier.heard_at if earlier else 0.0)
    question = Question(text=text, date=date, question=request.question, language=locale.language,
                        last_heard=heard, rtl=locale.rtl)
    try:
        sent_as = await adapter.ask(request.address, question)
    except Undeliverable as exc:
        return NOT_DELIVERED, str(exc), None
    except Exception as exc:
        if not _last_attempt():
            log.info("follow-up question %s not sent yet (%s); will retry", request.request_id, type(exc).__name__)
            raise
        return NOT_DELIVERED, f"the channel could not be reached after several tries ({type(exc).__name__})", None
    await followups.link(who, Link(request.report_id, request.request_id, locale.language, heard))
    return DELIVERED, None, sent_as

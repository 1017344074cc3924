"""Redis memory per live conversation (bar: at most 2 KB), measured with MEMORY USAGE.

Drives the real engine (no HTTP) through a realistic SMS conversation (Twilio-shaped addresses and
media URLs) for many reporters, stopping at the review step where a draft is largest, then sums
MEMORY USAGE over the session, its de-duplication marks and its share of the quiet index.
"""

from __future__ import annotations

import asyncio
import uuid

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from adapters.base import Inbound, MediaRef
from bench.common import bench_environment
from bot.engine import Engine
from bot.jobs import Job
from bot.queue import enqueue_on, make_queue
from bot.quiet import QuietTimer
from bot.sessions import SessionStore
from flows.machine import ReportFlow

CONVERSATIONS = 300
DESCRIPTION = (
    "Around ten men live in the basement of the bakery on the corner. They work nights, the door is "
    "locked from outside, a man in a grey van collects them at 5 am and their passports are kept by the "
    "owner. One of them asked me for food and said they are not paid."
)
SCRIPT = ["hello", "yes", "1", DESCRIPTION, "done", "Corner of Main Street and 5th, behind the bakery",
          "last night around 11 pm", "grey Ford Transit, partial plate KX12", "done", "no", "no"]
MEDIA_AT = 8  # three photos arrive with the message that ends the media step; the draft then waits at review
BAR = 2048
ACCOUNT = "https://api.twilio.com/2010-04-01/Accounts/AC" + "7" * 32


def enqueue(job: Job, payload: str, job_id: str, delay: int = 0) -> None:
    if job is not Job.FETCH_MEDIA:
        raise AssertionError("this benchmark stops before submitting")


async def main() -> None:
    with bench_environment() as (settings, _):
        redis = Redis.from_url(settings.redis_url or "")
        await redis.flushdb()
        sweeps = enqueue_on(make_queue(SyncRedis.from_url(settings.redis_url or ""), "bench"))
        engine = Engine(SessionStore(redis, settings.session_key, settings.session_ttl), ReportFlow(),
                        settings.pseudonym_key, settings.session_key, enqueue, QuietTimer(sweeps, 1800, 21600))
        for n in range(CONVERSATIONS):
            sender = f"+4479{n:08d}"
            for i, text in enumerate(SCRIPT):
                message = uuid.uuid4().hex
                media = tuple(
                    MediaRef("twilio", f"{ACCOUNT}/Messages/MM{message}/Media/ME{uuid.uuid4().hex}", "photo",
                             "image/jpeg")
                    for _ in range(3 if i == MEDIA_AT else 0)
                )
                replies = await engine.handle(Inbound(channel="twilio", sender=f"{sender}|+15005550006",
                                                      message_id=f"SM{message}",
                                                      provider_message_ids=(f"SM{message}",), text=text, media=media,
                                                      kind="sms", country_hint="GB"))
        assert "1. " in replies[-1].text, "the drafts wait at the review step"
        sessions = [k async for k in redis.scan_iter("tl:s:*")]
        marks = [k async for k in redis.scan_iter("tl:d:*")]
        count = len(sessions)
        per_session = sum([await redis.memory_usage(k) or 0 for k in sessions]) / count
        per_marks = sum([await redis.memory_usage(k) or 0 for k in marks]) / count
        per_index = (await redis.memory_usage("tl:q") or 0) / count
        shared = sum([await redis.memory_usage(k) or 0 async for k in redis.scan_iter("rq:*")])
        total = per_session + per_marks + per_index
        print(f"live conversations: {count}  messages each: {len(SCRIPT)}  media each: 3  (waiting at review)")
        print(f"session (encrypted draft):  {per_session:7.0f} B per conversation")
        print(f"de-duplication marks:       {per_marks:7.0f} B per conversation ({len(marks) / count:.0f} key each)")
        print(f"quiet index entry:          {per_index:7.0f} B per conversation")
        print(f"total:                      {total:7.0f} B per conversation; bar {BAR} B; ratio {total / BAR:.2f}")
        print(f"(shared, not per conversation: the quiet sweeper's job and queue keys, {shared} B in all)")
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())

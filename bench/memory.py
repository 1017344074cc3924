"""Redis memory per live conversation (bar: at most 2 KB), measured with MEMORY USAGE.

Drives the real engine (no HTTP) through a realistic conversation for many reporters, stopping
mid-report where a draft is largest, then sums MEMORY USAGE over the session and its marks.
"""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from adapters.base import Inbound, MediaRef
from bench.common import bench_environment
from bot.engine import Engine
from bot.sessions import SessionStore
from flows.machine import ReportFlow

CONVERSATIONS = 300
DESCRIPTION = (
    "Around ten men live in the basement of the bakery on the corner. They work nights, the door is "
    "locked from outside, a man in a grey van collects them at 5 am and their passports are kept by the "
    "owner. One of them asked me for food and said they are not paid."
)
SCRIPT = ["hello", "1", "yes", "1", DESCRIPTION, "done", "Corner of Main Street and 5th, behind the bakery",
          "last night around 11 pm", "grey Ford Transit, partial plate KX12", "done"]
BAR = 2048


def enqueue(job: str, payload: str, job_id: str) -> None:
    raise AssertionError("this benchmark stops before submitting")


async def main() -> None:
    with bench_environment() as (settings, _):
        redis = Redis.from_url(settings.redis_url or "")
        await redis.flushdb()
        engine = Engine(SessionStore(redis, settings.session_key, settings.session_ttl), ReportFlow(),
                        settings.pseudonym_key, settings.session_key, enqueue)
        for n in range(CONVERSATIONS):
            sender = f"+4479{n:08d}"
            for i, text in enumerate(SCRIPT):
                media = tuple(
                    MediaRef("simulator", uuid.uuid4().hex, "photo", "image/jpeg") for _ in range(3 if i == 6 else 0)
                )
                await engine.handle(Inbound(channel="simulator", sender=sender, message_id=uuid.uuid4().hex,
                                            text=text, media=media, kind="whatsapp"))
        sessions = [k async for k in redis.scan_iter("tl:s:*")]
        marks = [k async for k in redis.scan_iter("tl:d:*")]
        session_bytes = sum([await redis.memory_usage(k) or 0 for k in sessions])
        mark_bytes = sum([await redis.memory_usage(k) or 0 for k in marks])
        per_session = session_bytes / len(sessions)
        per_marks = mark_bytes / len(sessions)
        total = per_session + per_marks
        print(f"live conversations: {len(sessions)}  messages each: {len(SCRIPT)}  media each: 3")
        print(f"session (encrypted draft): {per_session:7.0f} B per conversation")
        print(f"de-duplication marks:      {per_marks:7.0f} B per conversation ({len(marks) / len(sessions):.0f} keys)")
        print(f"total:                     {total:7.0f} B per conversation; bar {BAR} B; ratio {total / BAR:.2f}")
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())

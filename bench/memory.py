"""Redis memory per live conversation (bar: at most 2 KB), measured with MEMORY USAGE.

Drives the real engine (no HTTP) through realistic SMS conversations (Twilio-shaped addresses and
media URLs) of 12 and of 30 messages, for many reporters, stopping at the review step where a draft
is largest, then sums MEMORY USAGE over everything a live conversation keeps: the session, its
de-duplication marks, its share of the quiet index and the media status record the worker writes
for each photo it has fetched. With TWILIO_DELETE_MESSAGES the session also keeps message ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from adapters.base import Inbound, MediaRef
from bench.common import bench_environment
from bot.engine import Engine
from bot.jobs import Job, open_payload
from bot.keys import RedisKeys
from bot.media_status import MediaStatus
from bot.queue import enqueue_on, make_queue
from bot.quiet import QuietTimer
from bot.sessions import SessionStore
from config.settings import Settings
from flows.machine import ReportFlow

CONVERSATIONS = 200
DESCRIPTION = (
    "Around ten men live in the basement of the bakery on the corner. They work nights, the door is "
    "locked from outside, a man in a grey van collects them at 5 am and their passports are kept by the "
    "owner. One of them asked me for food and said they are not paid."
)
MORE = ["They are young, maybe 18 or 20, and speak Romanian I think.", "The van comes back at 11 pm every night.",
        "Last week one of them had a bandage on his hand.", "The owner shouts at them in the yard.",
        "A woman brings them food once a day, nobody leaves alone.", "I have seen this for about two months.",
        "There is a second building behind the bakery where I think others sleep.",
        "The windows of the basement are covered with cardboard.", "One of them told me his boss keeps his papers.",
        "I am afraid to be seen asking more questions.", "The grey van has a ladder on the roof.",
        "They look very tired and thin.", "Sometimes a black car comes too."]
PHOTO = "<photo>"
# (name, script): every message a reporter sends, up to the review step where a draft is largest.
# SMS from a UK number: the language is pre-selected from the phone's country.
SCRIPTS = {
    "12 messages, 1 photo": ["hello", "yes", "1", DESCRIPTION, "done", "Corner of Main Street and 5th, behind the "
                             "bakery", "last night around 11 pm", "grey Ford Transit, partial plate KX12", PHOTO,
                             "done", "no", "no"],
    "30 messages, 5 photos": ["hello", "yes", "1", DESCRIPTION, *MORE, "done",
                              "Corner of Main Street and 5th, behind the bakery", "last night around 11 pm",
                              "grey Ford Transit, partial plate KX12", PHOTO, PHOTO, PHOTO, PHOTO, PHOTO, "done", "no",
                              "no"],
}
BAR = 2048
ACCOUNT = "https://api.twilio.com/2010-04-01/Accounts/AC" + "7" * 32


class Worker:
    """Does to Redis what the worker's `fetch_media` does for each photo: one media status record."""

    def __init__(self, statuses: MediaStatus, session_key: bytes) -> None:
        self.statuses = statuses
        self.session_key = session_key

    def __call__(self, job: Job, payload: str, job_id: str, delay: int = 0) -> None:
        if job is not Job.FETCH_MEDIA:
            raise AssertionError("this benchmark stops before submitting")
        item = open_payload(self.session_key, payload)
        self.statuses.claim(item["id"], {
            "id": item["id"], "kind": "photo", "status": "stored", "object": f"media/{item['id']}",
            "content_type": "image/jpeg", "size": 1048576, "sha256": hashlib.sha256(item["id"].encode()).hexdigest(),
            "metadata": "removed"})


async def walk(engine: Engine, script: list[str], n: int, keep_ids: bool) -> str:
    sender = f"+4479{n:08d}"
    text = ""
    for said in script:
        message = uuid.uuid4().hex
        media = (MediaRef("twilio", f"{ACCOUNT}/Messages/MM{message}/Media/ME{uuid.uuid4().hex}", "photo",
                          "image/jpeg"),) if said == PHOTO else ()
        replies = await engine.handle(Inbound(
            adapter="twilio", sender=f"{sender}|+15005550006", message_id=f"SM{message}",
            provider_message_ids=(f"SM{message}",) if keep_ids else (), text=None if said == PHOTO else said,
            media=media, medium="sms", country_hint="GB"))
        text = replies[-1].text if replies else text
    return text


async def measure(settings: Settings, script: list[str], keep_ids: bool) -> dict[str, float]:
    redis = Redis.from_url(settings.redis_url or "")
    sync = SyncRedis.from_url(settings.redis_url or "")
    await redis.flushdb()
    sweeps = enqueue_on(make_queue(sync, "bench"))
    engine = Engine(SessionStore(redis, settings.session_key, settings.session_ttl), ReportFlow(),
                    settings.pseudonym_key, settings.session_key, Worker(MediaStatus(sync, settings.session_key),
                                                                         settings.session_key),
                    QuietTimer(sweeps, 1800, 21600))
    for n in range(CONVERSATIONS):
        last = await walk(engine, script, n, keep_ids)
        assert "1. " in last, f"the drafts wait at the review step, not at: {last[:60]!r}"

    async def usage(pattern: str) -> float:
        return sum([await redis.memory_usage(k) or 0 async for k in redis.scan_iter(pattern)]) / CONVERSATIONS

    keys = RedisKeys()
    parts = {"session (encrypted draft)": await usage(keys.session("*")),
             "de-duplication marks": await usage(keys.marks("*")),
             "quiet index entry": await usage(keys.quiet_index),
             "media status records": await usage(keys.media_status("*"))}
    await redis.aclose()
    sync.close()
    return parts


async def main() -> None:
    with bench_environment() as (settings, _):
        print(f"Redis MEMORY USAGE per live conversation waiting at review, {CONVERSATIONS} conversations each "
              f"(SMS, Twilio-shaped addresses and media URLs)")
        for name, script in SCRIPTS.items():
            for keep_ids in (False, True):
                parts = await measure(settings, script, keep_ids)
                total = sum(parts.values())
                label = f"{name}{', TWILIO_DELETE_MESSAGES' if keep_ids else ''}"
                detail = ", ".join(f"{k} {v:.0f}" for k, v in parts.items())
                print(f"  {label:46s} {total:6.0f} B  ({detail})"
                      + (f"  bar {BAR} B" if name.startswith("30") else ""))


if __name__ == "__main__":
    asyncio.run(main())

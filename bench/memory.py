"""Redis memory per live conversation (bar: at most 2 KB at 30 messages), measured with MEMORY USAGE.

Drives the real engine (no HTTP) through realistic SMS conversations (Twilio-shaped addresses and
media URLs) of 12 and of 30 messages, for many reporters, stopping at the review step where a draft
is largest, then sums MEMORY USAGE over every key under the project's prefix, by kind: the session,
its de-duplication marks, its share of the quiet index and the media status records the worker
writes for the photos it has fetched (a key of an unknown kind is counted and named too). With
TWILIO_DELETE_MESSAGES the session also keeps message ids. Each case runs with REDIS_FORMAT=1 (what
the first release reads) and 2 (compact, bot/compact.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import timeit
import uuid
from collections import defaultdict

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from adapters.base import Inbound, MediaRef
from bench.common import bench_environment
from bot.compact import COMPACT, pack, unpack
from bot.engine import Engine
from bot.identity import pseudonym
from bot.jobs import Job, open_payload
from bot.keys import RedisKeys
from bot.media_status import MediaStatus
from bot.queue import enqueue_on, make_queue
from bot.quiet import QuietTimer
from bot.sessions import Session, SessionStore
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
    """Does to Redis what the worker's `fetch_media` does for each photo: records its media status."""

    def __init__(self, statuses: MediaStatus, session_key: bytes) -> None:
        self.statuses = statuses
        self.session_key = session_key

    async def __call__(self, job: Job, payload: str, job_id: str) -> None:
        if job is not Job.FETCH_MEDIA:
            raise AssertionError("this benchmark stops before submitting")
        item = open_payload(self.session_key, payload)
        self.statuses.claim(item["id"], {
            "id": item["id"], "kind": "photo", "status": "stored", "object": f"media/{item['id']}",
            "content_type": "image/jpeg", "size": 1048576, "sha256": hashlib.sha256(item["id"].encode()).hexdigest(),
            "metadata": "removed"}, item["report_id"])


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


@dataclasses.dataclass
class Part:
    """One kind of key: bytes and keys per conversation, and the Redis encodings seen."""

    bytes: float = 0.0
    keys: float = 0.0
    encodings: set[str] = dataclasses.field(default_factory=set)


def kind_of(key: str, keys: RedisKeys) -> str:
    """Which part of a live conversation `key` is (by its key pattern in bot/keys.py)."""
    kinds = [("session (encrypted draft)", keys.session("")), ("media status records", keys.media_status("")),
             ("de-duplication marks", keys.marks("")), ("quiet index (shared)", keys.quiet_index),
             ("quiet sweeper claim (global)", keys.sweeper)]
    for name, prefix in kinds:
        if key == prefix or (prefix.endswith(":") and key.startswith(prefix)):
            return name
    return f"other: {key.rsplit(':', 1)[0]}"


async def measure(settings: Settings, script: list[str], keep_ids: bool) -> tuple[dict[str, Part], float]:
    """Bytes per conversation by kind of key, and the microseconds one session costs to encode and decode."""
    redis = Redis.from_url(settings.redis_url or "")
    sync = SyncRedis.from_url(settings.redis_url or "")
    await redis.flushdb()
    compact = settings.redis_format >= COMPACT
    sweeps = enqueue_on(make_queue(sync, "bench"))
    engine = Engine(SessionStore(redis, settings.session_key, settings.session_ttl, compact=compact), ReportFlow(),
                    settings.pseudonym_key, settings.session_key,
                    Worker(MediaStatus(sync, settings.session_key, compact=compact), settings.session_key),
                    QuietTimer(sweeps, 1800, 21600))
    for n in range(CONVERSATIONS):
        last = await walk(engine, script, n, keep_ids)
        assert "1. " in last, f"the drafts wait at the review step, not at: {last[:60]!r}"

    keys = RedisKeys()
    parts: dict[str, Part] = defaultdict(Part)
    async for raw in redis.scan_iter(f"{keys.prefix}:*"):
        key = raw.decode()
        part = parts[kind_of(key, keys)]
        part.bytes += (await redis.memory_usage(key) or 0) / CONVERSATIONS
        part.keys += 1 / CONVERSATIONS
        part.encodings.add((await redis.object("encoding", key)).decode())
        assert await redis.ttl(key) > 0 or key in (keys.quiet_index,), f"{key} never expires"
    session = await engine.sessions.load(pseudonym(settings.pseudonym_key, "twilio", f"+4479{0:08d}|+15005550006"))
    assert session is not None
    cpu = codec_microseconds(session, settings.session_key, compact)
    await redis.aclose()
    sync.close()
    return dict(sorted(parts.items(), key=lambda item: -item[1].bytes)), cpu


def codec_microseconds(session: Session, key: bytes, compact: bool, rounds: int = 2000) -> float:
    """What encoding a session for Redis and decoding it again costs (best of 3), in microseconds."""
    packed = pack(session.to_bytes(key if compact else None), compact)
    encode = min(timeit.repeat(lambda: pack(session.to_bytes(key if compact else None), compact),
                               number=rounds, repeat=3))
    decode = min(timeit.repeat(lambda: Session.from_bytes(unpack(packed), key), number=rounds, repeat=3))
    return (encode + decode) / rounds * 1e6


async def main() -> None:
    with bench_environment() as (base, _):
        print(f"Redis MEMORY USAGE per live conversation waiting at review, {CONVERSATIONS} conversations each "
              f"(SMS, Twilio-shaped addresses and media URLs); bar: at most {BAR} B at 30 messages")
        for redis_format in (1, COMPACT):
            settings = dataclasses.replace(base, redis_format=redis_format)
            print(f"\nREDIS_FORMAT={redis_format}")
            for name, script in SCRIPTS.items():
                for keep_ids in (False, True):
                    parts, cpu = await measure(settings, script, keep_ids)
                    total = sum(p.bytes for p in parts.values())
                    label = f"{name}{', TWILIO_DELETE_MESSAGES' if keep_ids else ''}"
                    verdict = ""
                    if name.startswith("30"):
                        verdict = f"  {'meets' if total <= BAR else 'OVER'} the {BAR} B bar"
                    print(f"  {label:46s} {total:6.0f} B{verdict}; session encode + decode {cpu:.0f} us")
                    for part_name, part in parts.items():
                        print(f"      {part_name:30s} {part.bytes:6.0f} B in {part.keys:4.2f} keys "
                              f"({', '.join(sorted(part.encodings))})")


if __name__ == "__main__":
    asyncio.run(main())

"""Follow-up in Redis: the link from a reporter's pseudonym to the report they were asked about,
who asked not to be contacted again, and which analysts' questions were claimed and delivered.

Every key (bot/keys.py) is named by a pseudonym or a random request id, never an address; the link
is encrypted with `SESSION_KEY` and expires after `FOLLOWUP_TTL`. See docs/follow-up.md.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from rq import Queue

from bot.constants import FOLLOWUP_CLAIM_TTL, FOLLOWUP_DELIVERED_TTL, FOLLOWUP_OPTED_OUT_TTL, FOLLOWUP_POLL_GRACE
from bot.jobs import Job
from bot.keys import RedisKeys
from bot.queue import enqueue


@dataclass(frozen=True)
class Link:
    """A delivered question the reporter may answer: which report, which question, and when the
    reporter last wrote (WhatsApp's window counts from it)."""

    report_id: str
    question_id: str
    language: str
    heard_at: float

    def to_bytes(self) -> bytes:
        return json.dumps({"r": self.report_id, "q": self.question_id, "l": self.language, "h": self.heard_at},
                          separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Link:
        data: dict[str, Any] = json.loads(raw)
        return cls(str(data["r"]), str(data["q"]), str(data.get("l", "en")), float(data.get("h", 0)))


class FollowUps:
    """The follow-up keys of one Redis (async: the engine's client, or a worker's own loop)."""

    def __init__(self, redis: Redis, session_key: bytes, ttl: int, keys: RedisKeys | None = None) -> None:
        self.redis = redis
        self.box = SecretBox(session_key)
        self.ttl = ttl
        self.keys = keys or RedisKeys()
        self._link = self.keys.followup_link
        self._opted_out = self.keys.followup_opted_out
        self._claim = self.keys.followup_claim
        self._delivered = self.keys.followup_delivered

    async def link(self, who: str, link: Link) -> None:
        """Let the reporter's next messages answer `link.question_id` for `FOLLOWUP_TTL` seconds."""
        await self.redis.set(self._link(who), self.box.encrypt(link.to_bytes()), ex=self.ttl)

    async def find(self, who: str) -> Link | None:
        return self.opened(*await self.redis.mget(self._link(who), self.keys.followup_link_before(who)))

    def opened(self, raw: object, before: object = None) -> Link | None:
        """The link a sealed value holds (as `find` or the engine's lock-and-open read it), if any; else the
        one an earlier release kept under `before` (that key also holds recent filings, which are no link)."""
        for value in (raw, before):
            if isinstance(value, bytes):
                try:
                    return Link.from_bytes(self.box.decrypt(value))
                except (CryptoError, ValueError, KeyError):
                    continue
        return None

    async def heard(self, who: str, link: Link) -> None:
        """The reporter wrote: keep the link (its clock restarts) and remember when, for WhatsApp's window."""
        await self.link(who, Link(link.report_id, link.question_id, link.language, time.time()))

    async def end(self, who: str) -> None:
        """DELETE: forget the link and never deliver another question to this reporter."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._link(who), self.keys.followup_link_before(who))
            pipe.set(self._opted_out(who), b"1", ex=FOLLOWUP_OPTED_OUT_TTL)
            await pipe.execute()

    async def opted_out(self, who: str) -> bool:
        return bool(await self.redis.exists(self._opted_out(who)))

    async def claim(self, request_id: str) -> bool:
        """True for the one caller that may enqueue this question's delivery (for the next hour)."""
        return bool(await self.redis.set(self._claim(request_id), b"1", nx=True, ex=FOLLOWUP_CLAIM_TTL))

    async def mark_delivered(self, request_id: str) -> None:
        await self.redis.set(self._delivered(request_id), b"1", ex=FOLLOWUP_DELIVERED_TTL)

    async def was_delivered(self, request_id: str) -> bool:
        return bool(await self.redis.exists(self._delivered(request_id)))

    async def claim_poll(self, token: str, interval: int, only_if_free: bool) -> bool:
        """Name `token` as the poll chain's next job; with `only_if_free`, only when no chain holds it."""
        claimed = await self.redis.set(self.keys.followup_poll, token.encode(), nx=only_if_free,
                                       ex=interval + FOLLOWUP_POLL_GRACE)
        return bool(claimed)

    async def poll_holder(self) -> str | None:
        raw = await self.redis.get(self.keys.followup_poll)
        return raw.decode() if isinstance(raw, bytes) else None


def start_poll(redis: SyncRedis, queue: Queue, interval: int) -> bool:
    """Start the poll chain (workers.followup.poll) unless one runs; each worker process calls it when
    it starts, so a deployment that restarts its workers always has one. True if this call started it."""
    token = secrets.token_hex(8)
    if not redis.set(RedisKeys().followup_poll, token.encode(), nx=True, ex=interval + FOLLOWUP_POLL_GRACE):
        return False
    enqueue(queue, Job.FOLLOWUP_POLL, token, f"followup-poll-{token}")
    return True

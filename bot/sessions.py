"""Live conversations in Redis: encrypted, expiring, locked one message at a time, de-duplicated.

Everything stored here is either an opaque pseudonym or ciphertext under `SESSION_KEY`. A
session holds the reply address (encrypted) and goes away when the conversation ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from flows.machine import Conversation

DEDUPE_TTL = 7 * 24 * 3600
RECEIPT_TTL = 90 * 24 * 3600
LOCK_TIMEOUT = 60
LOCK_WAIT = 30


@dataclass
class Session:
    """A conversation plus what the bot needs to answer it; serialised compactly for Redis."""

    conversation: Conversation
    address: str
    channel: str
    kind: str = ""
    report_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        data = {
            "c": self.conversation.to_dict(),
            "a": self.address,
            "ch": self.channel,
            "k": self.kind,
            "r": self.report_id,
            "x": self.extra,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Session:
        data = json.loads(raw)
        return cls(
            conversation=Conversation.from_dict(data["c"]),
            address=data["a"],
            channel=data["ch"],
            kind=data.get("k", ""),
            report_id=data.get("r", ""),
            extra=data.get("x", {}),
        )


class SessionStore:
    """Sessions, locks and de-duplication marks for one Redis."""

    def __init__(self, redis: Redis, session_key: bytes, ttl: int, prefix: str = "tl") -> None:
        self.redis = redis
        self.box = SecretBox(session_key)
        self.ttl = ttl
        self.prefix = prefix

    def _session(self, who: str) -> str:
        return f"{self.prefix}:s:{who}"

    def _seen(self, message: str) -> str:
        return f"{self.prefix}:d:{message}"

    def _receipt(self, digest: str) -> str:
        return f"{self.prefix}:rc:{digest}"

    def lock(self, who: str) -> Lock:
        """A lock across processes: one message of a conversation at a time."""
        return Lock(self.redis, f"{self.prefix}:l:{who}", timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_WAIT)

    async def seen(self, message: str) -> bool:
        return bool(await self.redis.exists(self._seen(message)))

    async def load(self, who: str) -> Session | None:
        raw = await self.redis.get(self._session(who))
        if not isinstance(raw, bytes):
            return None
        try:
            return Session.from_bytes(self.box.decrypt(raw))
        except (CryptoError, ValueError, KeyError):
            return None

    async def save(self, who: str, session: Session, message: str | None = None) -> None:
        """Store the session and mark the message handled (if any), atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._session(who), self.box.encrypt(session.to_bytes()), ex=self.ttl)
            if message:
                pipe.set(self._seen(message), b"1", ex=DEDUPE_TTL)
            await pipe.execute()

    async def end(self, who: str, message: str | None = None) -> None:
        """Forget the conversation (and its reply address) and mark the message handled (if any)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._session(who))
            if message:
                pipe.set(self._seen(message), b"1", ex=DEDUPE_TTL)
            await pipe.execute()

    async def remember_receipt(self, digest: str, report_id: str) -> None:
        """Let a receipt code (known here only by its slow hash) find its report for 90 days."""
        await self.redis.set(self._receipt(digest), report_id.encode(), ex=RECEIPT_TTL)

    async def find_receipt(self, digest: str) -> str | None:
        raw = await self.redis.get(self._receipt(digest))
        return raw.decode() if isinstance(raw, bytes) else None

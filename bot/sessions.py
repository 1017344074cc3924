"""Live conversations in Redis: encrypted, expiring, locked one message at a time, de-duplicated.

Everything stored here is either an opaque pseudonym or ciphertext under `SESSION_KEY` (the
session JSON is compressed, then encrypted, to keep a live conversation under 2 KB of Redis). A
session holds the reply address (encrypted) and goes away when the conversation ends.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.lock import Lock

from flows.machine import Conversation

DEDUPE_TTL = 7 * 24 * 3600
RECEIPT_TTL = 90 * 24 * 3600
LOCK_TIMEOUT = 60
LOCK_WAIT = 30
SWEEPER_CLAIM_SECONDS = 120
ERASABLE_TTL = 47 * 3600
MAX_ERASABLE = 500
SESSION_FORMAT = 1
"""The layout of a stored session (`v`). Changes are additive: a release reads sessions of its own
and earlier formats (the first release wrote none: 0) and ignores fields it does not know, so
processes of two releases can share live conversations during a deploy (docs/operations.md)."""
QUIET_INDEX = "tl:q"
SWEEPER_CLAIM = "tl:q:sweeper"


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
            "v": SESSION_FORMAT,
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
    """Sessions, locks, de-duplication marks and the quiet index for one Redis.

    Keys: `tl:s:<who>` the encrypted session; `tl:d:<who>` a set of handled message marks (kept
    7 days, beyond the session, so a provider retry after the end starts nothing); `tl:q` one
    sorted set of conversations by when they next need a quiet check (see workers.reminders).
    """

    def __init__(self, redis: Redis, session_key: bytes, ttl: int, prefix: str = "tl") -> None:
        self.redis = redis
        self.box = SecretBox(session_key)
        self.ttl = ttl
        self.prefix = prefix
        self.quiet_index = QUIET_INDEX
        self.sweeper = SWEEPER_CLAIM

    def _session(self, who: str) -> str:
        return f"{self.prefix}:s:{who}"

    def _marks(self, who: str) -> str:
        return f"{self.prefix}:d:{who}"

    def _erasable(self, who: str) -> str:
        return f"{self.prefix}:e:{who}"

    def _receipt(self, digest: str) -> str:
        return f"{self.prefix}:rc:{digest}"

    def lock(self, who: str) -> Lock:
        """A lock across processes: one message of a conversation at a time."""
        return Lock(self.redis, f"{self.prefix}:l:{who}", timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_WAIT)

    async def open(self, who: str, message: int) -> tuple[bool, Session | None]:
        """In one round trip: was `message` handled already, and the live session (if any)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sismember(self._marks(who), str(message))
            pipe.get(self._session(who))
            handled, raw = await pipe.execute()
        return bool(handled), self._decrypt(raw)

    async def load(self, who: str) -> Session | None:
        return self._decrypt(await self.redis.get(self._session(who)))

    def _seal(self, plaintext: bytes) -> bytes:
        return self.box.encrypt(zlib.compress(plaintext, 1))

    def _unseal(self, raw: object) -> bytes | None:
        """Plaintext of what `_seal` stored; None for nothing, or for anything damaged or foreign."""
        if not isinstance(raw, bytes):
            return None
        try:
            return zlib.decompress(self.box.decrypt(raw))
        except (CryptoError, ValueError, zlib.error):
            return None

    def _decrypt(self, raw: object) -> Session | None:
        plaintext = self._unseal(raw)
        if plaintext is None:
            return None
        try:
            return Session.from_bytes(plaintext)
        except (ValueError, KeyError):
            return None

    def _mark(self, pipe: Pipeline, who: str, message: int) -> None:
        pipe.sadd(self._marks(who), message)
        pipe.expire(self._marks(who), DEDUPE_TTL)

    async def save(
        self, who: str, session: Session, message: int | None = None, quiet_check_at: float | None = None,
        sweeper_token: str | None = None,
    ) -> bool:
        """Store the session, mark the message handled and index the next quiet check, atomically.

        With `sweeper_token`, also claims the quiet sweeper if none is running; returns True when
        this call claimed it (the caller then starts one, see workers.reminders)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._session(who), self._seal(session.to_bytes()), ex=self.ttl)
            if message is not None:
                self._mark(pipe, who, message)
            if quiet_check_at is not None:
                pipe.zadd(self.quiet_index, {who: quiet_check_at})
            if sweeper_token is not None:
                pipe.set(self.sweeper, sweeper_token, nx=True, ex=SWEEPER_CLAIM_SECONDS)
            results = await pipe.execute()
        return sweeper_token is not None and bool(results[-1])

    async def end(self, who: str, message: int | None = None) -> None:
        """Forget the conversation (and its reply address) and mark the message handled (if any)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._session(who))
            pipe.zrem(self.quiet_index, who)
            if message is not None:
                self._mark(pipe, who, message)
            await pipe.execute()

    async def mark(self, who: str, message: int) -> None:
        """Mark a message handled without touching the conversation."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._mark(pipe, who, message)
            await pipe.execute()

    async def keep_erasable(self, who: str, message_ids: list[str]) -> None:
        """After a conversation ends, keep (encrypted, for 47 hours: Telegram lets bots delete
        messages younger than 48) the ids of both sides, so the reporter can have the chat erased."""
        sealed = self._seal(json.dumps(message_ids[-MAX_ERASABLE:]).encode())
        await self.redis.set(self._erasable(who), sealed, ex=ERASABLE_TTL)

    async def take_erasable(self, who: str) -> list[str]:
        plaintext = self._unseal(await self.redis.getdel(self._erasable(who)))
        if plaintext is None:
            return []
        try:
            return [str(i) for i in json.loads(plaintext)]
        except ValueError:
            return []

    async def remember_receipt(self, digest: str, report_id: str) -> None:
        """Let a receipt code (known here only by its slow hash) find its report for 90 days."""
        await self.redis.set(self._receipt(digest), report_id.encode(), ex=RECEIPT_TTL)

    async def find_receipt(self, digest: str) -> str | None:
        raw = await self.redis.get(self._receipt(digest))
        return raw.decode() if isinstance(raw, bytes) else None

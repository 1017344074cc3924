"""Live conversations in Redis: encrypted, expiring, locked one message at a time, de-duplicated.

Everything stored here is either an opaque pseudonym or ciphertext under `SESSION_KEY` (the
session JSON is compressed (bot/compact.py), then encrypted, to keep a live conversation under 2 KB of Redis). A
session holds the reply address (encrypted) and goes away when the conversation ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import LockError, RedisError

from adapters.base import MediaRef, Reply
from bot.compact import COMPACT, pack, unpack
from bot.constants import (
    DEDUPE_TTL,
    DELETED_MARK_TTL,
    ERASABLE_TTL,
    LOCK_SECONDS,
    LOCK_WAIT,
    MAX_ERASABLE,
    OUTBOX_TTL,
    RECEIPT_GUESS_WINDOW,
    RECEIPT_GUESSES_PER_MINUTE,
    RECEIPT_GUESSES_PER_SENDER,
    RECEIPT_TTL,
    SWEEPER_CLAIM_SECONDS,
)
from bot.identity import media_id
from bot.jobs import MediaItem
from bot.keys import RedisKeys
from bot.recent_sessions import RecentSessions
from config.settings import Settings
from flows.machine import Conversation

log = logging.getLogger("tipline.sessions")

SESSION_FORMAT = 1
"""The layout of a stored session (`v`). Changes are additive: a release reads sessions of its own
and earlier formats (the first release wrote none: 0) and ignores fields it does not know, so
processes of two releases can share live conversations during a deploy (docs/operations.md)."""

LOCK_OPEN_SCRIPT = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local handled = redis.call('SISMEMBER', KEYS[2], ARGV[3])
local session = redis.call('GET', KEYS[3])
if not session then return {handled, false, redis.call('GET', KEYS[4]), redis.call('GET', KEYS[5])} end
if ARGV[4] ~= '' and string.sub(session, 1, string.len(ARGV[4])) == ARGV[4] then session = 1 end
return {handled, session}
"""
"""KEYS: lock, marks, session, recent filing, follow-up link; ARGV: lock token, lock milliseconds, message
mark, the nonce of the sealed session this process last saved ('' for none: bot/recent_sessions.py).
Take the conversation's lock and, when taken, read whether the message was handled and the session (1
instead when it is still the one with that nonce) or, with none, what a first message needs: the report
this sender just filed and their follow-up link. One round trip, not five. Returns nil while another
holder has the lock."""

END_SCRIPT = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5]) end
if ARGV[6] ~= '' and redis.call('GET', KEYS[5]) == ARGV[6] then redis.call('DEL', KEYS[5]) end
return 1
"""
"""KEYS: session, quiet index, marks, erasable, lock; ARGV: pseudonym, message mark or '', the marks' TTL,
sealed erasable ids or '', their TTL, lock token or ''. A conversation ends atomically: forgotten, its
message marked, the chat's ids kept for "erase this chat", and its lock released."""

SAVE_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5]) end
local claimed = 0
if ARGV[7] ~= '' and redis.call('SET', KEYS[4], ARGV[7], 'NX', 'EX', ARGV[8]) then claimed = 1 end
if ARGV[9] ~= '' and redis.call('GET', KEYS[5]) == ARGV[9] then redis.call('DEL', KEYS[5]) end
return claimed
"""
"""KEYS: session, marks, quiet index, sweeper claim, lock; ARGV: sealed session, its TTL, message mark or '',
the marks' TTL, pseudonym, next quiet check or '', sweeper token or '', the claim's seconds, lock token or ''.
Atomic, in one command: the client packs and parses one reply, not seven, and with a lock token the
conversation's lock is released in the same round trip (the message is done once its session is saved)."""

RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
"""KEYS: lock; ARGV: token (, milliseconds). Only the holder's own token releases or renews a lock."""


@dataclass
class Session:
    """A conversation plus what the bot needs to answer it; serialised compactly for Redis.

    `adapter` is the adapter that carries it (its `name`: "twilio", "telegram"), `medium` what the
    reporter uses ("whatsapp", "sms"; empty when the adapter has one). `provider_messages` are the
    provider's ids of the reporter's messages, kept (by adapters that list them) so a worker can
    delete the provider's copies after filing (Twilio); `erasable` are both sides' ids in a chat
    the reporter may erase at the end (Telegram).
    """

    conversation: Conversation
    address: str
    adapter: str
    medium: str = ""
    report_id: str = ""
    started_at: str | None = None
    messages: int = 0
    """How many messages were saved; the quiet policy reminds once per count."""
    last_message_at: float = 0.0
    reminded_at: int | None = None
    """The `messages` count when the reporter was last reminded."""
    provider_messages: list[str] = field(default_factory=list)
    erasable: list[str] = field(default_factory=list)
    acknowledgement: list[Reply] = field(default_factory=list)
    """The answer held for a burst of files (an album) until it goes quiet (bot/engine.py)."""
    acknowledged_by: int | None = None
    """The mark of the burst's last message, whose webhook sends `acknowledgement`."""
    late: bool = False
    """Replies of this conversation went to the outbox (the provider was down): later ones queue
    behind them while any wait there, so the reporter reads them in order."""
    files_attached: int = 0
    """How many files were ever attached to this draft: the next one's serial (`attach_file`)."""

    @property
    def reported_medium(self) -> str:
        """What a report calls the channel: the medium, or the adapter when it has only one."""
        return self.medium or self.adapter

    def attach_file(self, key: bytes, ref: MediaRef) -> MediaItem:
        """A new file of this draft: its id follows from `key`, the report id and the file's serial,
        so a compact session (`to_bytes(key)`) keeps the serial (1-2 bytes) instead of the id (16)."""
        serial, self.files_attached = self.files_attached, self.files_attached + 1
        item = MediaItem(media_id(key, self.report_id, serial), ref)
        self.conversation.media.append({**item.to_dict(), SERIAL: serial})
        return item

    def to_bytes(self, key: bytes | None = None) -> bytes:
        """The session as stored; with `key` (Redis format 2), without the file ids that follow from it."""
        extra: dict[str, Any] = {"t0": self.started_at, "n": self.messages, "q": self.last_message_at,
                                 "r": self.reminded_at, "ids": self.provider_messages, "e": self.erasable,
                                 "ack": [r.to_dict() for r in self.acknowledgement], "ab": self.acknowledged_by,
                                 "late": self.late or None, "fa": self.files_attached or None}
        conversation = self.conversation.to_dict()
        if key is not None:
            conversation["m"] = [{k: v for k, v in entry.items() if k != "id"}
                                 if entry.get("id") == _derived_id(key, self.report_id, entry) else entry
                                 for entry in conversation["m"]]
        data = {
            "v": SESSION_FORMAT,
            "c": conversation,
            "a": self.address,
            "ch": self.adapter,
            "k": self.medium,
            "r": self.report_id,
            "x": {k: v for k, v in extra.items() if v is not None and v != []},
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, key: bytes | None = None) -> Session:
        """A stored session of any format; `key` restores the file ids a format-2 session left out."""
        data = json.loads(raw)
        extra = data.get("x", {})
        conversation = Conversation.from_dict(data["c"])
        if key is not None:
            conversation.media = [entry if "id" in entry else
                                  {"id": _derived_id(key, str(data.get("r", "")), entry), **entry}
                                  for entry in conversation.media]
        return cls(
            conversation=conversation,
            address=data["a"],
            adapter=data["ch"],
            medium=data.get("k", ""),
            report_id=data.get("r", ""),
            started_at=extra.get("t0"),
            messages=int(extra.get("n", 0)),
            last_message_at=float(extra.get("q", 0)),
            reminded_at=extra.get("r"),
            provider_messages=[str(i) for i in extra.get("ids", [])],
            erasable=[str(i) for i in extra.get("e", [])],
            acknowledgement=[Reply.from_dict(r) for r in extra.get("ack", [])],
            acknowledged_by=extra.get("ab"),
            late=bool(extra.get("late", False)),
            files_attached=int(extra.get("fa") or 0),
        )


SERIAL = "n"
"""A file's serial in its draft's media list (`Session.attach_file`)."""


def _derived_id(key: bytes, report_id: str, entry: dict[str, Any]) -> str | None:
    serial = entry.get(SERIAL)
    return media_id(key, report_id, serial) if isinstance(serial, int) else None


@dataclass
class Hold:
    """A conversation's lock while this process holds it: its key and this holder's random token."""

    key: str
    token: str
    released: bool = False


@dataclass
class Opened:
    """A message's conversation, locked: was the message handled already, and the live session; with
    none, the report the sender filed within the addition window (`remember_filing`) and their
    follow-up link, still sealed (bot/followup.py opens it)."""

    hold: Hold
    handled: bool
    session: Session | None
    filed: dict[str, Any] | None = None
    link: object = None
    link_before: object = None
    """What `RedisKeys.followup_link_before` holds: a link an earlier release kept there, or a filing."""


class Scripts(Protocol):
    """Where the Lua scripts of every message's path run: redis-py's client, or the web process's `Wire`
    (bot/redis_wire.py: one pipelined connection, a fifth of the CPU per command)."""

    def register_script(self, script: str) -> Callable[..., Awaitable[Any]]: ...


class SessionStore:
    """Sessions, locks, de-duplication marks and the quiet index for one Redis.

    Key names are in bot/keys.py; every one starts with `keys.prefix`.
    """

    def __init__(self, redis: Redis, session_key: bytes, ttl: int, keys: RedisKeys | None = None,
                 lock_seconds: float = LOCK_SECONDS, compact: bool = False, lock_wait: float = LOCK_WAIT,
                 scripts: Scripts | None = None) -> None:
        self.redis = redis
        self.compact = compact
        """Write Redis format 2 (bot/compact.py); both formats are read either way."""
        self.lock_seconds = lock_seconds
        self.lock_wait = lock_wait
        self.box = SecretBox(session_key)
        self.session_key = session_key
        self.ttl = ttl
        self.keys = keys or RedisKeys()
        self._session = self.keys.session
        self._marks = self.keys.marks
        self._erasable = self.keys.erasable
        self._receipt = self.keys.receipt
        self._filed = self.keys.filed
        scripts = scripts or redis
        self._lock_open = scripts.register_script(LOCK_OPEN_SCRIPT)
        self._end = scripts.register_script(END_SCRIPT)
        self._save = scripts.register_script(SAVE_SCRIPT)
        self._release = scripts.register_script(RELEASE_SCRIPT)
        self._renew_script = scripts.register_script(RENEW_SCRIPT)
        self._recent = RecentSessions()

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings, scripts: Scripts | None = None) -> SessionStore:
        return cls(redis, settings.session_key, settings.session_ttl, lock_seconds=settings.lock_seconds,
                   compact=settings.redis_format >= COMPACT, lock_wait=settings.lock_wait_seconds, scripts=scripts)

    @contextlib.asynccontextmanager
    async def lock(self, who: str) -> AsyncIterator[Hold]:
        """A lock across processes: one message of a conversation at a time.

        Renewed while held; released on any way out, an error inside included. If releasing fails
        (Redis gone meanwhile) the lock lapses by itself within `lock_seconds`; a holder that
        died leaves it for at most that long. Raises `LockError` after `lock_wait` seconds."""
        hold = Hold(self.keys.lock(who), secrets.token_hex(16))
        await self._wait_for(lambda: self.redis.set(hold.key, hold.token, nx=True, px=self._lock_ms))
        async with self._holding(hold):
            yield hold

    @contextlib.asynccontextmanager
    async def opened(self, who: str, message: int) -> AsyncIterator[Opened]:
        """`lock(who)` and, in the same round trip, whether `message` was handled and the live session.
        Pass `opened.hold` to `save` to release the lock in the saving round trip."""
        hold = Hold(self.keys.lock(who), secrets.token_hex(16))
        keys = [hold.key, self._marks(who), self._session(who), self._filed(who), self.keys.followup_link(who)]
        recent = self._recent.take(who)
        args: list[str | int | bytes] = [hold.token, self._lock_ms, message, recent.nonce if recent else b""]
        found = await self._wait_for(lambda: self._lock_open(keys=keys, args=args))
        if found[1] == 1 and recent is not None:
            plaintext: bytes | None = recent.plaintext
        else:
            plaintext = self._unseal(found[1])
        first = len(found) > 2
        async with self._holding(hold):
            yield Opened(hold, bool(found[0]), self._session_of(plaintext),
                         filed=self._filing_of(found[2]) if first else None,
                         link=found[3] if first else None, link_before=found[2] if first else None)

    @property
    def _lock_ms(self) -> int:
        return int(self.lock_seconds * 1000)

    async def _wait_for(self, take: Callable[[], Awaitable[Any]]) -> Any:
        """Try `take` (a lock attempt answering None while another holds it) until it answers, every
        20 ms for up to `lock_wait` (at least two lock lifetimes, so a dead holder's lock lapses first)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(self.lock_wait, 2 * self.lock_seconds)
        while (found := await take()) is None:
            if loop.time() >= deadline:
                raise LockError("conversation busy")
            await asyncio.sleep(0.02)
        return found

    @contextlib.asynccontextmanager
    async def _holding(self, hold: Hold) -> AsyncIterator[None]:
        """Renew the lock every third of its life while held (a timer, not a task per message: most
        messages are done long before the first renewal), and release it on the way out unless a save
        already did."""
        renewal: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            self.lock_seconds / 3, lambda: renewal.append(asyncio.ensure_future(self._renew(hold))))
        try:
            yield
        finally:
            timer.cancel()
            for task in renewal:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if not hold.released:
                try:
                    await self._release(keys=[hold.key], args=[hold.token])
                except RedisError as exc:
                    log.warning("conversation lock not released (%s); it lapses by itself", type(exc).__name__)

    async def _renew(self, hold: Hold) -> None:
        while not hold.released:
            try:
                if not await self._renew_script(keys=[hold.key], args=[hold.token, self._lock_ms]):
                    log.warning("conversation lock not renewed (lost)")
                    return
            except RedisError as exc:
                log.warning("conversation lock not renewed (%s)", type(exc).__name__)
                return
            await asyncio.sleep(self.lock_seconds / 3)

    async def load(self, who: str) -> Session | None:
        return self._decrypt(await self.redis.get(self._session(who)))

    def _seal(self, plaintext: bytes) -> bytes:
        return self.box.encrypt(pack(plaintext, self.compact))

    def _unseal(self, raw: object) -> bytes | None:
        """Plaintext of what `_seal` stored; None for nothing, or for anything damaged or foreign."""
        if not isinstance(raw, bytes):
            return None
        try:
            return unpack(self.box.decrypt(raw))
        except (CryptoError, ValueError, zlib.error):
            return None

    def _decrypt(self, raw: object) -> Session | None:
        return self._session_of(self._unseal(raw))

    def _session_of(self, plaintext: bytes | None) -> Session | None:
        if plaintext is None:
            return None
        try:
            return Session.from_bytes(plaintext, self.session_key)
        except (ValueError, KeyError):
            return None

    def _mark(self, pipe: Pipeline, who: str, message: int) -> None:
        pipe.sadd(self._marks(who), message)
        pipe.expire(self._marks(who), DEDUPE_TTL)

    async def save(
        self, who: str, session: Session, message: int | None = None, quiet_check_at: float | None = None,
        sweeper_token: str | None = None, release: Hold | None = None,
    ) -> bool:
        """Store the session, mark the message handled and index the next quiet check, atomically.

        With `sweeper_token`, also claims the quiet sweeper if none is running; returns True when
        this call claimed it (the caller then starts one, see bot/quiet.py). With `release`, the
        conversation's lock is released in the same round trip."""
        plaintext = session.to_bytes(self.session_key if self.compact else None)
        sealed = self._seal(plaintext)
        claimed = await self._save(
            keys=[self._session(who), self._marks(who), self.keys.quiet_index, self.keys.sweeper,
                  release.key if release else self.keys.lock(who)],
            args=[sealed, self.ttl, "" if message is None else message, DEDUPE_TTL, who,
                  "" if quiet_check_at is None else repr(quiet_check_at), sweeper_token or "",
                  SWEEPER_CLAIM_SECONDS, release.token if release else ""])
        self._recent.keep(who, bytes(sealed[:SecretBox.NONCE_SIZE]), plaintext)
        if release is not None:
            release.released = True
        return sweeper_token is not None and bool(claimed)

    async def end(self, who: str, message: int | None = None, erasable: list[str] | None = None,
                  release: Hold | None = None) -> None:
        """Forget the conversation (and its reply address), mark the message handled (if any), and keep
        `erasable` (encrypted, for 47 hours: Telegram lets bots delete messages younger than 48), the
        ids of both sides, so the reporter can have the chat erased; atomically, releasing `release`."""
        self._recent.forget(who)
        sealed = self._seal(json.dumps(erasable[-MAX_ERASABLE:]).encode()) if erasable else b""
        await self._end(keys=[self._session(who), self.keys.quiet_index, self._marks(who), self._erasable(who),
                              release.key if release else self.keys.lock(who)],
                        args=[who, "" if message is None else message, DEDUPE_TTL, sealed, ERASABLE_TTL,
                              release.token if release else ""])
        if release is not None:
            release.released = True

    async def mark(self, who: str, message: int) -> None:
        """Mark a message handled without touching the conversation."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._mark(pipe, who, message)
            await pipe.execute()

    async def add_erasable(self, who: str, message_ids: list[str]) -> None:
        """Keep the ids of replies a worker sent late (the conversation may be live or over), so
        that "erase this chat" removes them too."""
        if message_ids:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.rpush(self.keys.erasable_later(who), self._seal(json.dumps(message_ids).encode()))
                pipe.expire(self.keys.erasable_later(who), ERASABLE_TTL)
                await pipe.execute()

    async def take_erasable(self, who: str) -> list[str]:
        """Every id kept for erasing the chat (at its end and by late sends), then forgotten."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.getdel(self._erasable(who))
            pipe.lrange(self.keys.erasable_later(who), 0, -1)
            pipe.delete(self.keys.erasable_later(who))
            kept, later, _ = await pipe.execute()
        ids: list[str] = []
        for sealed in [kept, *later]:
            plaintext = self._unseal(sealed)
            try:
                ids += [str(i) for i in json.loads(plaintext)] if plaintext is not None else []
            except ValueError:
                continue
        return ids[-MAX_ERASABLE:]

    async def queue_late(self, who: str, payload: str) -> None:
        """Put a sealed batch of replies (`bot.jobs.SendLater`) at the end of `who`'s outbox."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.keys.outbox(who), payload)
            pipe.expire(self.keys.outbox(who), OUTBOX_TTL)
            await pipe.execute()

    async def late_waiting(self, who: str) -> bool:
        return bool(await self.redis.exists(self.keys.outbox(who)))

    async def next_late(self, who: str) -> str | None:
        """The oldest batch waiting in `who`'s outbox (it stays there until `sent_late`)."""
        raw = await self.redis.lindex(self.keys.outbox(who), 0)
        return raw.decode() if isinstance(raw, bytes) else None

    async def sent_late(self, who: str, rest: str | None = None) -> None:
        """The oldest batch went out: drop it, or with `rest` replace it by what is still to send."""
        if rest is None:
            await self.redis.lpop(self.keys.outbox(who))
        else:
            await self.redis.lset(self.keys.outbox(who), 0, rest)

    async def mark_deleted(self, who: str, at: float) -> None:
        """The reporter deleted conversation `who` at `at`: replies queued before must not go out."""
        await self.redis.set(self.keys.deleted(who), repr(at), ex=DELETED_MARK_TTL)

    async def allow_receipt_guess(self, who: str, now: float) -> bool:
        """Count one receipt code tried by `who` at `now`; False once this sender, or everyone
        together, tried too many lately (the code is then not looked up at all)."""
        mine = self.keys.receipt_guesses(who, int(now // RECEIPT_GUESS_WINDOW))
        everyone = self.keys.all_receipt_guesses(int(now // 60))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(mine)
            pipe.expire(mine, RECEIPT_GUESS_WINDOW)
            pipe.incr(everyone)
            pipe.expire(everyone, 60)
            tried, _, all_tried, _ = await pipe.execute()
        return int(tried) <= RECEIPT_GUESSES_PER_SENDER and int(all_tried) <= RECEIPT_GUESSES_PER_MINUTE

    def _filing_of(self, raw: object) -> dict[str, Any] | None:
        """The report this sender filed within the window (`remember_filing`): `{"r": id, "l": language,
        "co": country}`, from the sealed value lock-and-open read."""
        plaintext = self._unseal(raw)
        if plaintext is None:
            return None
        try:
            link = json.loads(plaintext)
        except ValueError:
            return None
        return link if isinstance(link, dict) and isinstance(link.get("r"), str) else None

    async def forget_filing(self, who: str) -> None:
        await self.redis.delete(self._filed(who))

    async def remember_filing(self, digest: str, report_id: str, who: str | None = None, language: str = "",
                              country: str | None = None, window: int = 0) -> None:
        """Let a receipt code (known here only by its keyed hash) find its report for 90 days; with
        `who` and a `window`, also remember for that many seconds (encrypted, under the sender's
        pseudonym) which report this sender just filed, so a message soon after can be offered to be
        added to it. One round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self._receipt(digest), report_id.encode(), ex=RECEIPT_TTL)
            if who is not None and window:
                link = {"r": report_id, "l": language, "co": country}
                pipe.set(self._filed(who), self._seal(json.dumps(link).encode()), ex=window)
            await pipe.execute()

    async def find_receipt(self, digest: str) -> str | None:
        raw = await self.redis.get(self._receipt(digest))
        return raw.decode() if isinstance(raw, bytes) else None

    async def due(self, now: float, batch: int) -> list[str]:
        """Up to `batch` conversations whose quiet check is due at `now`, earliest first."""
        members = await self.redis.zrangebyscore(self.keys.quiet_index, "-inf", now, 0, batch)
        return [m.decode() if isinstance(m, bytes) else str(m) for m in members]

    async def check_quiet_at(self, who: str, when: float) -> None:
        """Look at conversation `who` again at `when` (unless a message comes first)."""
        await self.redis.zadd(self.keys.quiet_index, {who: when})

    async def unindex(self, who: str) -> None:
        await self.redis.zrem(self.keys.quiet_index, who)

    async def sweeper_holder(self) -> str | None:
        """The token of the sweeper chain that holds the claim, if any."""
        holder = await self.redis.get(self.keys.sweeper)
        return holder.decode() if isinstance(holder, bytes) else None

    async def pass_sweeper(self, token: str, seconds: int) -> None:
        """Hand the sweeper claim to the chain's next job `token` for `seconds`."""
        await self.redis.set(self.keys.sweeper, token, ex=seconds)

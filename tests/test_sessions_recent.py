"""A web process reuses the session it last saved while Redis still holds that very value
(bot/recent_sessions.py), against a real Redis: what another process saved, ended or let expire is always
what the next message sees; only the value this process wrote is skipped, only for `SECONDS`, and no
plaintext outlives that even in a process that gets no more messages."""

from __future__ import annotations

import asyncio
import gc
import secrets

import pytest
from redis.asyncio import Redis as AsyncRedis

from bot import recent_sessions
from bot.keys import RedisKeys
from bot.recent_sessions import RecentSessions
from bot.sessions import SessionStore
from tests.test_redis_format import draft

KEYS = RedisKeys()


async def answer(store: SessionStore, who: str, mark: int, text: str) -> list[str]:
    """One message as the engine handles it: open (locked), add to the description, save and release."""
    async with store.opened(who, mark) as opened:
        session = opened.session
        assert session is not None and not opened.handled
        session.conversation.answers["description"].append(text)
        await store.save(who, session, mark, release=opened.hold)
        return list(session.conversation.answers["description"])


async def test_two_processes_taking_turns_on_one_conversation_each_see_the_others_last_save(
    async_redis: AsyncRedis,
) -> None:
    key = secrets.token_bytes(32)
    first, second = SessionStore(async_redis, key, 600, compact=True), SessionStore(async_redis, key, 600, compact=True)
    await first.save("who", draft(1), message=1)
    seen = []
    for mark in range(2, 12):
        seen = await answer(first if mark % 3 else second, "who", mark, f"part {mark}")
    assert seen[-10:] == [f"part {mark}" for mark in range(2, 12)]
    loaded = await SessionStore(async_redis, key, 600, compact=True).load("who")
    assert loaded is not None and loaded.conversation.answers["description"] == seen


async def test_a_conversation_ended_or_expired_elsewhere_is_gone_for_the_process_that_saved_it(
    async_redis: AsyncRedis,
) -> None:
    key = secrets.token_bytes(32)
    store = SessionStore(async_redis, key, 600, compact=True)
    for who in ("ended", "expired"):
        await store.save(who, draft(0), message=1)
    await SessionStore(async_redis, key, 600, compact=True).end("ended", 2)
    await async_redis.pexpire(KEYS.session("expired"), 1)
    await asyncio.sleep(0.05)
    for who in ("ended", "expired"):
        async with store.opened(who, 3) as opened:
            assert opened.session is None


async def test_only_the_value_this_process_wrote_is_skipped_and_only_while_recent(
    async_redis: AsyncRedis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = secrets.token_bytes(32)
    store = SessionStore(async_redis, key, 600, compact=True)
    session = draft(2)
    await store.save("who", session, message=1)
    sealed = await async_redis.get(KEYS.session("who"))
    assert isinstance(sealed, bytes)
    damaged = sealed[:24] + bytes(len(sealed) - 24)  # the same nonce, a ciphertext nobody could open
    await async_redis.set(KEYS.session("who"), damaged)
    async with store.opened("who", 2) as opened:  # Redis answered "still yours": not read, not decrypted
        assert opened.session is not None and opened.session.to_bytes() == session.to_bytes()
        await store.save("who", opened.session, 2, release=opened.hold)
    async with SessionStore(async_redis, key, 600, compact=True).opened("who", 3) as opened:
        assert opened.session is not None  # what the save wrote, in full, for anyone

    await async_redis.set(KEYS.session("who"), damaged)  # now a value this process never wrote
    async with store.opened("who", 4) as opened:
        assert opened.session is None

    monkeypatch.setattr(recent_sessions, "SECONDS", 0.05)
    await store.save("who", session, message=5)
    await async_redis.set(KEYS.session("who"), (await async_redis.get(KEYS.session("who")) or b"")[:24] + bytes(64))
    await asyncio.sleep(0.1)
    async with store.opened("who", 6) as opened:  # too old to trust: read from Redis (and refused)
        assert opened.session is None


def held_by(store: SessionStore) -> list[bytes]:
    """Every bytes object the store references, however deep (what its process keeps of conversations)."""
    seen, found, todo = set(), [], [store]
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen.add(id(item))
        if isinstance(item, bytes):
            found.append(item)
            continue
        todo.extend(gc.get_referents(item))
    return found


async def test_an_idle_process_keeps_no_plaintext_of_a_conversation_ended_elsewhere_past_its_time(
    async_redis: AsyncRedis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two web processes: the reporter's message goes to A, DELETE to B, which ends the conversation.
    A gets no message afterwards (a quiet night); its copy in clear still goes within `SECONDS`."""
    monkeypatch.setattr(recent_sessions, "SECONDS", 0.05)
    key = secrets.token_bytes(32)
    a, b = SessionStore(async_redis, key, 600, compact=True), SessionStore(async_redis, key, 600, compact=True)
    marker = f"passports in the office safe {secrets.token_hex(8)}".encode()
    await a.save("who", draft(1), message=1)
    await answer(a, "who", 2, marker.decode())
    assert [raw for raw in held_by(a) if raw.startswith(b'{"v":') and marker in raw]
    await b.end("who", 3)
    await asyncio.sleep(0.2)
    assert [raw for raw in held_by(a) if raw.startswith(b'{"v":') and marker in raw] == []


async def test_what_is_kept_in_clear_is_bounded_in_bytes() -> None:
    recent = RecentSessions()
    for n in range(400):
        recent.keep(f"who-{n}", secrets.token_bytes(24), secrets.token_bytes(40_000))
    assert len(recent) * 40_000 <= recent_sessions.MAX_BYTES < (len(recent) + 1) * 40_000
    assert recent.take("who-399") is not None and recent.take("who-0") is None  # the oldest went first
    recent.keep("huge", secrets.token_bytes(24), bytes(recent_sessions.MAX_ENTRY_BYTES + 1))
    assert recent.take("huge") is None

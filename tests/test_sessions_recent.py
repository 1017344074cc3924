"""A web process reuses the session it last saved while Redis still holds that very value (bot/sessions.py,
`Recent`), against a real Redis: what another process saved, ended or let expire is always what the next
message sees; only the value this process wrote is skipped, and only for `RECENT_SECONDS`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis as AsyncRedis

from bot import sessions
from bot.keys import RedisKeys
from bot.sessions import SessionStore
from tests.test_redis_format import draft

KEYS = RedisKeys()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[AsyncRedis]:
    connection = AsyncRedis.from_url(redis_url)
    yield connection
    await connection.aclose()


async def answer(store: SessionStore, who: str, mark: int, text: str) -> list[str]:
    """One message as the engine handles it: open (locked), add to the description, save and release."""
    async with store.opened(who, mark) as opened:
        session = opened.session
        assert session is not None and not opened.handled
        session.conversation.answers["description"].append(text)
        await store.save(who, session, mark, release=opened.hold)
        return list(session.conversation.answers["description"])


async def test_two_processes_taking_turns_on_one_conversation_each_see_the_others_last_save(
    client: AsyncRedis,
) -> None:
    key = secrets.token_bytes(32)
    first, second = SessionStore(client, key, 600, compact=True), SessionStore(client, key, 600, compact=True)
    await first.save("who", draft(1), message=1)
    seen = []
    for mark in range(2, 12):
        seen = await answer(first if mark % 3 else second, "who", mark, f"part {mark}")
    assert seen[-10:] == [f"part {mark}" for mark in range(2, 12)]
    loaded = await SessionStore(client, key, 600, compact=True).load("who")
    assert loaded is not None and loaded.conversation.answers["description"] == seen


async def test_a_conversation_ended_or_expired_elsewhere_is_gone_for_the_process_that_saved_it(
    client: AsyncRedis,
) -> None:
    key = secrets.token_bytes(32)
    store = SessionStore(client, key, 600, compact=True)
    for who in ("ended", "expired"):
        await store.save(who, draft(0), message=1)
    await SessionStore(client, key, 600, compact=True).end("ended", 2)
    await client.pexpire(KEYS.session("expired"), 1)
    await asyncio.sleep(0.05)
    for who in ("ended", "expired"):
        async with store.opened(who, 3) as opened:
            assert opened.session is None


async def test_only_the_value_this_process_wrote_is_skipped_and_only_while_recent(
    client: AsyncRedis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = secrets.token_bytes(32)
    store = SessionStore(client, key, 600, compact=True)
    session = draft(2)
    await store.save("who", session, message=1)
    sealed = await client.get(KEYS.session("who"))
    assert isinstance(sealed, bytes)
    damaged = sealed[:24] + bytes(len(sealed) - 24)  # the same nonce, a ciphertext nobody could open
    await client.set(KEYS.session("who"), damaged)
    async with store.opened("who", 2) as opened:  # Redis answered "still yours": not read, not decrypted
        assert opened.session is not None and opened.session.to_bytes() == session.to_bytes()
        await store.save("who", opened.session, 2, release=opened.hold)
    async with SessionStore(client, key, 600, compact=True).opened("who", 3) as opened:
        assert opened.session is not None  # what the save wrote, in full, for anyone

    await client.set(KEYS.session("who"), damaged)  # now a value this process never wrote
    async with store.opened("who", 4) as opened:
        assert opened.session is None

    monkeypatch.setattr(sessions, "RECENT_SECONDS", 0.05)
    await store.save("who", session, message=5)
    await client.set(KEYS.session("who"), (await client.get(KEYS.session("who")) or b"")[:24] + bytes(64))
    await asyncio.sleep(0.1)
    async with store.opened("who", 6) as opened:  # too old to trust: read from Redis (and refused)
        assert opened.session is None

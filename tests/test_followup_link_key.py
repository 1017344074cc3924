"""An analyst's open question and the report a reporter just filed live under different keys (they shared
one before v0.3.0: filing a second report unlinked the question), and a link an earlier release kept under
the old key is still found, against a real Redis."""

from __future__ import annotations

import secrets

from nacl.secret import SecretBox
from redis.asyncio import Redis as AsyncRedis

from bot.followup import FollowUps, Link
from bot.keys import RedisKeys
from bot.sessions import SessionStore

KEYS = RedisKeys()
WEEKS_2 = 14 * 24 * 3600


async def test_filing_a_second_report_keeps_the_analysts_open_question(async_redis: AsyncRedis) -> None:
    """R1 filed with follow-up consent; the analyst asks about R1 while the reporter drafts R2; the
    reporter confirms R2 (its filing is remembered for the addition window): the question stays linked,
    and the reporter's next message, as the engine opens it, answers it."""
    key = secrets.token_bytes(32)
    store, followups = SessionStore(async_redis, key, 600, compact=True), FollowUps(async_redis, key, WEEKS_2)
    r1, r2, question = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(16)
    await followups.link("who", Link(r1, question, "en", 0.0))
    await store.remember_filing(secrets.token_hex(32), r2, "who", "en", None, window=3600)
    async with store.opened("who", 1) as opened:
        link = followups.opened(opened.link, opened.link_before)
        assert opened.filed is not None and opened.filed["r"] == r2
    assert link is not None and (link.report_id, link.question_id) == (r1, question)
    assert await async_redis.ttl(KEYS.followup_link("who")) > 3600
    found = await followups.find("who")
    assert found is not None and found.question_id == question


async def test_a_link_an_earlier_release_kept_under_the_old_key_is_found_and_ended(async_redis: AsyncRedis) -> None:
    key = secrets.token_bytes(32)
    followups = FollowUps(async_redis, key, WEEKS_2)
    question = secrets.token_hex(16)
    old = SecretBox(key).encrypt(Link(secrets.token_hex(16), question, "es", 0.0).to_bytes())
    await async_redis.set(KEYS.followup_link_before("who"), old, ex=WEEKS_2)
    found = await followups.find("who")
    assert found is not None and found.question_id == question and found.language == "es"
    async with SessionStore(async_redis, key, 600, compact=True).opened("who", 1) as opened:
        assert opened.filed is None  # a link is no filing
        link = followups.opened(opened.link, opened.link_before)
        assert link is not None and link.question_id == question
    await followups.end("who")
    assert await followups.find("who") is None
    assert not await async_redis.exists(KEYS.followup_link_before("who"))

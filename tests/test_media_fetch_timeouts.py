"""Media hosts that stall: `adapters.safe_fetch.fetch` against raw asyncio servers that accept and
never answer, send headers and stop mid-body, drip the body, hang up mid-body, or redirect slowly hop
after hop. The fetch ends within its policy's timeout with `FetchUnavailable` (a `Transient`: the
filing job retries later), hands back no partial file, and leaves no connection open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adapters.base import MediaLimits
from adapters.safe_fetch import FetchPolicy, FetchUnavailable, fetch
from config.errors import Transient
from tests.raw_http import Behaviour, RawHost

TIMEOUT = 0.5
"""The policy's timeout in these tests (production: a minute)."""

SLACK = 1.0
"""What a loaded 2-core machine may add before the fetch has ended (a hang never ends)."""

JPEG = b"\xff\xd8\xff" + bytes(range(256)) * 40

async def until_the_client_leaves(reader: asyncio.StreamReader) -> None:
    """Say nothing more; return when the client closes its side."""
    while await reader.read(1024):
        pass


def head(*lines: str) -> bytes:
    return ("\r\n".join(["HTTP/1.1 200 OK", "Content-Type: image/jpeg", *lines]) + "\r\n\r\n").encode()


SIZED = head(f"Content-Length: {len(JPEG)}")
CHUNKED = head("Transfer-Encoding: chunked") + b"%x\r\n" % len(JPEG)


async def silent(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await until_the_client_leaves(reader)


def stalls_after(sent: bytes) -> Behaviour:
    async def behaviour(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(sent)
        await writer.drain()
        await until_the_client_leaves(reader)
    return behaviour


def hangs_up_after(sent: bytes) -> Behaviour:
    async def behaviour(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(sent)
        await writer.drain()
    return behaviour


async def drips(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A byte every 50 ms: never silent for long, never done."""
    writer.write(SIZED)
    for byte in JPEG:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.05)


def slow_redirects(delay: float) -> Behaviour:
    """`/hop/N` redirects to `/hop/N-1` after `delay` seconds, each hop within the timeout; `/hop/0`
    serves the file at once."""
    async def behaviour(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hop = int(request.split(b" ")[1].rsplit(b"/", 1)[1])
        if hop == 0:
            writer.write(SIZED + JPEG)
        else:
            await asyncio.sleep(delay)
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: /hop/%d\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n" % (hop - 1))
        await writer.drain()
    return behaviour


Start = Callable[[Behaviour], Awaitable[tuple[RawHost, str]]]


@pytest.fixture
async def raw_host() -> AsyncIterator[Start]:
    started: list[RawHost] = []

    async def start(behaviour: Behaviour) -> tuple[RawHost, str]:
        host = RawHost(behaviour)
        started.append(host)
        return host, await host.start()

    yield start
    for host in started:
        host.close()


def policy(where: str) -> FetchPolicy:
    return FetchPolicy(hosts=frozenset({where}), limits=MediaLimits(len(JPEG) * 2, ("image/jpeg",)),
                       https_only=False, timeout_seconds=TIMEOUT)


async def fails_in_time(host: RawHost, where: str, path: str = "/media/1") -> FetchUnavailable:
    """Fetch from `host`: it must raise FetchUnavailable within the policy's timeout (plus slack),
    then leave no connection open at the host."""
    began = time.monotonic()
    with pytest.raises(FetchUnavailable) as raised:
        await asyncio.wait_for(fetch(f"http://{where}{path}", policy(where)), timeout=30)
    took = time.monotonic() - began
    assert took < TIMEOUT + SLACK, f"the fetch took {took:.2f} s under a {TIMEOUT} s policy"
    await asyncio.wait_for(host.all_closed(), timeout=5)
    assert host.requests, "the request reached the host"
    return raised.value


@pytest.mark.parametrize("behaviour", [silent, stalls_after(SIZED + JPEG[:1000]),
                                       stalls_after(CHUNKED + JPEG[:1000]), drips],
                         ids=["accepts and never answers", "stalls mid-body", "stalls mid-chunk", "drips the body"])
async def test_a_media_host_that_stalls_ends_the_fetch_within_the_policy_timeout(
        raw_host: Start, behaviour: Behaviour) -> None:
    host, where = await raw_host(behaviour)
    error = await fails_in_time(host, where)
    assert isinstance(error, Transient)
    assert str(error) == "media host unreachable (TimeoutError)"


@pytest.mark.parametrize("sent", [SIZED + JPEG[:1000], CHUNKED + JPEG[:1000], SIZED],
                         ids=["mid-body", "mid-chunk", "before the body"])
async def test_a_media_host_that_hangs_up_early_gives_no_partial_file(raw_host: Start, sent: bytes) -> None:
    host, where = await raw_host(hangs_up_after(sent))
    error = await fails_in_time(host, where)
    assert str(error).startswith("media host unreachable (")


async def test_slow_redirects_share_one_timeout_for_the_whole_fetch(raw_host: Start) -> None:
    host, where = await raw_host(slow_redirects(TIMEOUT * 0.8))
    error = await fails_in_time(host, where, "/hop/3")
    assert str(error) == "media host unreachable (TimeoutError)"
    assert len(host.requests) == 2, "no hop starts after the fetch's time is up"


async def test_hosts_that_answer_in_time_give_the_whole_file(raw_host: Start) -> None:
    """The control: the same shapes of answer, complete and prompt, are fetched whole under the same policy."""
    for sent in (SIZED + JPEG, CHUNKED + JPEG + b"\r\n0\r\n\r\n"):
        _, where = await raw_host(hangs_up_after(sent))
        assert await fetch(f"http://{where}/media/1", policy(where)) == (JPEG, "image/jpeg")
    _, where = await raw_host(slow_redirects(0))
    assert await fetch(f"http://{where}/hop/3", policy(where)) == (JPEG, "image/jpeg")

"""POSTs to one HTTP origin over kept-alive HTTP/1.1 connections: the Bot API's reply path.

aiohttp's client costs ~55 us of CPU per small POST (request and response objects, timers, a
stream reader, a cookie jar); sending a reply is most of what a Telegram update costs after the flow
itself. A request here is one write of ready bytes and a parse of the answer's status line, headers
and body (Content-Length, chunked, or up to the close), ~15 us. Only what the Bot API needs: POST,
one origin (http or https), no redirects, no compression, no cookies, bodies up to `MAX_BODY`.
Failures are `OriginError` (never naming the URL, which may hold a token) or TimeoutError.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

from config.errors import Transient

MAX_BODY = 1 << 20
"""Largest answer accepted (the Bot API's are a few KB); a larger one fails the request."""
MAX_HEAD = 16 << 10
"""Largest status line and headers (and, for a chunked answer, chunk-size line and trailers) accepted."""
HAPPY_EYEBALLS = 0.25
"""Seconds before the next of a host's addresses is tried alongside (an IPv6 route that drops packets)."""
IDLE_SECONDS = 30.0
"""A kept-alive connection unused this long is closed (servers drop them after 60-75 s)."""


class OriginError(Transient):
    """The origin could not be reached, closed the connection, or answered something that is not HTTP."""


class _NotHttp(ValueError):
    """What the origin sent cannot be a whole HTTP/1.1 answer (or one this client accepts)."""


@dataclass
class _Answer:
    status: int = 0
    length: int | None = None
    chunked: bool = False
    close: bool = False
    body: bytearray = field(default_factory=bytearray)


class _Connection(asyncio.Protocol):
    """One connection: at most one request in flight; the answer is parsed as its bytes arrive.

    `tls`: an answer may not be ended by the close (without TLS's own close, which asyncio does not
    report, a truncation could not be told from the end)."""

    def __init__(self, tls: bool = False) -> None:
        self.tls = tls
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._answer: _Answer | None = None
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is one without subclassing it

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        answer = self._answer
        if (exc is None and not self.tls and answer is not None and answer.status and answer.length is None
                and not answer.chunked):
            self._finish(bytes(self._buffer))  # an answer that ends with the connection
        else:
            self._fail("the origin closed the connection")

    def request(self, head: bytes, body: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self._answer = None
        self._buffer.clear()
        self.transport.write(head + body)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self._fail("the origin sent bytes nobody asked for")
            return
        self._buffer += data
        try:
            self._parse()
        except (ValueError, IndexError):  # _NotHttp, or a head too broken to split
            self._fail("the origin's answer is not HTTP/1.1 this client accepts")

    def _parse(self) -> None:
        while self._answer is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise _NotHttp("head too long")
                return
            answer = _head(bytes(self._buffer[:end]))
            del self._buffer[:end + 4]
            if answer.status >= 200:  # 100 Continue and the like: the real answer follows
                if answer.length is None and not answer.chunked and self.tls:
                    raise _NotHttp("an answer over TLS must say where it ends")
                self._answer = answer
        answer = self._answer
        if answer.chunked:
            self._chunks(answer)
        elif answer.length is not None and len(self._buffer) >= answer.length:
            answer.close = answer.close or len(self._buffer) > answer.length  # bytes nobody asked for follow
            self._finish(bytes(self._buffer[:answer.length]))
        elif len(self._buffer) > MAX_BODY:
            raise _NotHttp("body too large")

    def _chunks(self, answer: _Answer) -> None:
        while True:
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise _NotHttp("chunk size line too long")
                return
            size = _digits(bytes(self._buffer[:line_end]).split(b";", 1)[0], 16)
            if len(answer.body) + size > MAX_BODY:
                raise _NotHttp("body too large")
            if size == 0:  # the last chunk, then trailers (ignored) up to an empty line
                trailers = self._buffer[line_end + 2:]
                if trailers.startswith(b"\r\n") or b"\r\n\r\n" in trailers:
                    self._finish(bytes(answer.body))
                elif len(trailers) > MAX_HEAD:
                    raise _NotHttp("trailers too long")
                return
            if len(self._buffer) < line_end + 2 + size + 2:
                return
            answer.body += self._buffer[line_end + 2:line_end + 2 + size]
            del self._buffer[:line_end + 2 + size + 2]

    def _finish(self, body: bytes) -> None:
        answer, waiter = self._answer, self._waiter
        self._answer, self._waiter = None, None
        self._buffer.clear()
        if answer is None or waiter is None:
            return
        if answer.close:
            self.close()
        if not waiter.done():
            waiter.set_result((answer.status, body))

    def _fail(self, why: str) -> None:
        waiter, self._waiter, self._answer = self._waiter, None, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(OriginError(why))

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


def _digits(value: bytes, base: int = 10) -> int:
    """A non-negative number written with plain digits only (no sign, `_`, or space inside)."""
    value = value.strip(b" \t")
    allowed = b"0123456789abcdefABCDEF" if base == 16 else b"0123456789"
    if not value or len(value) > 15 or value.strip(allowed):
        raise _NotHttp("not a plain number")
    return int(value, base)


def _head(raw: bytes) -> _Answer:
    lines = raw.split(b"\r\n")
    version, status = lines[0].split(b" ", 2)[:2]
    if not version.startswith(b"HTTP/1.") or len(status) != 3:
        raise _NotHttp("not HTTP/1.x")
    answer = _Answer(status=_digits(status), close=version == b"HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = _digits(value)
            if answer.length is not None and answer.length != length:
                raise _NotHttp("two lengths")
            answer.length = length
        elif name == b"transfer-encoding":
            answer.chunked = b"chunked" in value.lower()
        elif name == b"connection":
            answer.close = b"close" in value.lower()
    if answer.status in (204, 304):
        answer.length, answer.chunked = 0, False
    elif answer.chunked:
        answer.length = None
    if answer.length is not None and answer.length > MAX_BODY:
        raise _NotHttp("body too large")
    return answer


class Origin:
    """POSTs to `base` (scheme://host[:port], any path kept as a prefix), at most `limit` at once.

    Connections are reused while the origin keeps them open, and closed by `close()` (those of
    requests still under way, as they end). Used from another event loop (a worker runs each job in
    its own), the previous loop's connections are dropped. A request either gets the origin's
    (status, body) or raises."""

    def __init__(self, base: str, limit: int = 50, timeout: float = 30.0, connect_timeout: float = 10.0) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an origin is http:// or https:// and a host")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = parts.scheme == "https"
        self.prefix = parts.path.rstrip("/")
        default_port = self.port == (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._host_header = (host if default_port else f"{host}:{self.port}").encode("idna")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._idle: collections.deque[_Connection] = collections.deque()
        self._ssl: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def post(self, path: str, body: bytes, content_type: bytes = b"application/json") -> tuple[int, bytes]:
        """POST `body` to `path` (after the base's own path); the answer's status and body."""
        head = b"".join((b"POST ", (self.prefix + path).encode(), b" HTTP/1.1\r\nHost: ", self._host_header,
                         b"\r\nContent-Type: ", content_type, b"\r\nContent-Length: ", str(len(body)).encode(),
                         b"\r\n\r\n"))
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._slots, self._closed = loop, asyncio.Semaphore(self.limit), False
            self._idle.clear()  # the previous loop's: unusable here, and gone with it
        async with asyncio.timeout(self.timeout), self._slots:
            connection = await self._connection()
            try:
                answer = await connection.request(head, body)
            except BaseException:
                connection.close()
                raise
            self._put_back(connection)
            return answer

    async def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        while self._idle:
            connection = self._idle.pop()
            if not connection.lost and loop.time() - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        if self.tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self.tls), self.host, self.port, ssl=self._ssl if self.tls else None,
                    server_hostname=self.host if self.tls else None, happy_eyeballs_delay=HAPPY_EYEBALLS)
        except (OSError, ssl.SSLError) as exc:
            raise OriginError(f"could not connect ({type(exc).__name__})") from None
        return connection

    def _put_back(self, connection: _Connection) -> None:
        if self._closed:
            connection.close()
        elif not connection.lost:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.append(connection)

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()

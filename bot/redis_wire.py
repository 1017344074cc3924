"""One connection to Redis for the web process's hot path, shared by every webhook, commands pipelined.

redis-py's asyncio client takes a pooled connection for each command and gives it back (~50 µs of CPU
per command with 32 webhooks at once); on the path every message takes (lock + open, save + release,
enqueue) that was the largest part of a webhook's cost. Here each command is written at once and the
replies are read in order (Redis answers a connection's commands in order): ~10 µs. Failures are
redis-py's own exceptions, retried with `bot.redis_connection`'s backoff within REDIS_RETRY_SECONDS, so
callers (and the spool behind them) see exactly what they saw from redis-py. hiredis parses replies.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ConnectionError,
    DataError,
    NoScriptError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)

from bot.redis_connection import (
    COMMAND_SECONDS,
    CONNECT_SECONDS,
    HEALTH_CHECK_SECONDS,
    backoff,
    redis_url_of,
    retries_within,
)
from config.settings import Settings, SettingsError

Arg = bytes | str | int | float
WATCH_SECONDS = 1.0
"""How often a connection looks for a command unanswered past its deadline, or for a long silence."""
PING = b"*1\r\n$4\r\nPING\r\n"
_ERRORS: dict[str, type[ResponseError]] = {"NOSCRIPT": NoScriptError, "READONLY": ReadOnlyError}


def encode(value: Arg) -> bytes:
    """A command argument as Redis gets it, as redis-py encodes it (floats by `repr`, no booleans)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        raise DataError("a boolean is not a Redis argument; send 0/1 or a string")
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, float):
        return repr(value).encode()
    raise DataError(f"cannot send {type(value).__name__} to Redis")


def pack(*args: Arg) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = encode(arg)
        parts.append(b"$%d\r\n" % len(data))
        parts.append(data)
        parts.append(b"\r\n")
    return b"".join(parts)


@dataclass(frozen=True)
class Address:
    """Where and how to connect: what `REDIS_URL` says (redis://, rediss://, unix://)."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str = ""
    username: str = ""
    password: str = ""
    db: int = 0
    tls: ssl.SSLContext | None = None

    @classmethod
    def from_url(cls, url: str) -> Address:
        """Raises `SettingsError` (one line, never the password) for what this client cannot honour."""
        parts = urlsplit(url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"db", "ssl_cert_reqs", "ssl_ca_certs", "ssl_check_hostname"}
        if parts.scheme not in ("redis", "rediss", "unix") or unknown:
            raise SettingsError(f"REDIS_URL must be redis://, rediss:// or unix:// with only db and ssl_* options "
                                f"(got {parts.scheme or 'no scheme'}, options {sorted(unknown)[:5]})")
        path_db = parts.path.strip("/") if parts.scheme != "unix" else ""
        db = int(query.get("db") or path_db or 0)
        tls = _tls(query) if parts.scheme == "rediss" else None
        return cls(host=parts.hostname or "127.0.0.1", port=parts.port or 6379,
                   path=unquote(parts.path) if parts.scheme == "unix" else "",
                   username=unquote(parts.username or ""), password=unquote(parts.password or ""), db=db, tls=tls)


def _tls(query: dict[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=query.get("ssl_ca_certs"))
    if query.get("ssl_check_hostname", "true").lower() in ("false", "0", "no"):
        context.check_hostname = False
    if query.get("ssl_cert_reqs", "required").lower() == "none":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class _Waiting:
    future: asyncio.Future[list[Any]]
    count: int
    deadline: float
    replies: list[Any] = field(default_factory=list)


class _Connection(asyncio.Protocol):
    """One socket: writes in call order, hands replies back in that order; fails every waiting call
    when the socket goes (ConnectionError) or a reply is overdue (TimeoutError). After `idle_seconds`
    without a command it sends a PING, as redis-py's health check does: a firewall or NAT that drops
    idle connections without a word is found out then, not by the next webhook (which would wait
    `command_seconds` for nothing)."""

    def __init__(self, command_seconds: float, idle_seconds: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.reader = hiredis.Reader(replyError=ResponseError)
        self.waiting: collections.deque[_Waiting] = collections.deque()
        self.command_seconds = command_seconds
        self.transport: asyncio.Transport | None = None
        self.failure: Exception | None = None
        self.outgoing: list[bytes] = []
        self.idle_seconds = idle_seconds
        self.last_sent = self.loop.time()
        self.watch = self.loop.call_later(WATCH_SECONDS, self._watch)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is one without subclassing it

    def send(self, payload: bytes, count: int) -> asyncio.Future[list[Any]]:
        """Write `payload` (`count` commands); the future gets their `count` replies."""
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        if self.failure is not None or self.transport is None:
            future.set_exception(ConnectionError("Redis connection closed"))
            return future
        self.last_sent = now = self.loop.time()
        self.waiting.append(_Waiting(future, count, now + self.command_seconds))
        if not self.outgoing:
            self.loop.call_soon(self._flush)
        self.outgoing.append(payload)
        return future

    def _flush(self) -> None:
        """Write what every caller of this turn of the event loop sent, in one system call."""
        outgoing, self.outgoing = self.outgoing, []
        if self.transport is not None and self.failure is None:
            self.transport.write(b"".join(outgoing))

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        try:
            while (reply := self.reader.gets()) is not False:
                if not waiting:
                    raise ConnectionError("Redis sent a reply nobody asked for")
                head = waiting[0]
                head.replies.append(reply)
                if len(head.replies) == head.count:
                    waiting.popleft()
                    if not head.future.done():
                        head.future.set_result(head.replies)
        except Exception as exc:  # a protocol error: this socket can no longer be trusted
            self._fail(exc if isinstance(exc, ConnectionError) else ConnectionError("Redis protocol error"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(self.failure or ConnectionError("Redis connection lost"))

    def _watch(self) -> None:
        if self.failure is not None:
            return
        now = self.loop.time()
        if self.waiting and self.waiting[0].deadline < now:
            self._fail(TimeoutError("Redis did not answer in time"))
            return
        if not self.waiting and now - self.last_sent >= self.idle_seconds:
            self.send(PING, 1).add_done_callback(_seen)
        self.watch = self.loop.call_later(WATCH_SECONDS, self._watch)

    def _fail(self, exc: Exception) -> None:
        if self.failure is None:
            self.failure = exc
        self.watch.cancel()
        while self.waiting:
            future = self.waiting.popleft().future
            if not future.done():
                future.set_exception(type(self.failure)(*self.failure.args))
        if self.transport is not None:
            self.transport.abort()

    @property
    def usable(self) -> bool:
        return self.failure is None and self.transport is not None and not self.transport.is_closing()


def _seen(ping: asyncio.Future[list[Any]]) -> None:
    """A PING nobody waits for: its failure is the connection's, already handled there."""
    if not ping.cancelled():
        ping.exception()


class WireScript:
    """A Lua script run by EVALSHA, loaded again when Redis lost it (a restart): redis-py's
    `Script`, called the same way (`await script(keys=[...], args=[...])`)."""

    def __init__(self, wire: Wire, source: str) -> None:
        self.wire = wire
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, keys: Sequence[Arg] = (), args: Sequence[Arg] = ()) -> Any:
        command = ("EVALSHA", self.sha, len(keys), *keys, *args)
        try:
            return await self.wire.call(*command)
        except NoScriptError:
            await self.wire.call("SCRIPT", "LOAD", self.source)
            return await self.wire.call(*command)


class Wire:
    """Commands from many tasks over one pipelined connection, opened when first needed and again
    after it failed. Not for blocking commands (BLPOP...): they would hold every other caller."""

    def __init__(self, url: str, retry_seconds: float, command_seconds: float = COMMAND_SECONDS,
                 connect_seconds: float = CONNECT_SECONDS, idle_seconds: float = HEALTH_CHECK_SECONDS) -> None:
        self.address = Address.from_url(url)
        self.retries = retries_within(retry_seconds)
        self.command_seconds = command_seconds
        self.idle_seconds = idle_seconds
        self.connect_seconds = connect_seconds
        self._backoff = backoff()
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Wire:
        return cls(redis_url_of(settings), settings.redis_retry_seconds)

    def register_script(self, source: str) -> WireScript:
        return WireScript(self, source)

    async def call(self, *args: Arg) -> Any:
        """One command's reply as Redis sent it (b"OK", not redis-py's True); an error reply is raised as
        redis-py's exception for it."""
        return _raised((await self._round_trip(pack(*args), 1))[0])

    async def transaction(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """MULTI, `commands`, EXEC in one write: their replies, or the first error raised (as a redis-py
        pipeline with `transaction=True` does)."""
        payload = b"".join([pack("MULTI"), *(pack(*command) for command in commands), pack("EXEC")])
        replies = await self._round_trip(payload, len(commands) + 2)
        for reply in replies[:-1]:
            _raised(reply)
        results = _raised(replies[-1])
        if results is None:
            raise ResponseError("transaction discarded")
        for result in results:
            _raised(result)
        return list(results)

    async def aclose(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._connection is not None and self._connection.transport is not None:
            self._connection.transport.close()
        self._connection = None

    async def _round_trip(self, payload: bytes, count: int) -> list[Any]:
        failures = 0
        while True:
            try:
                connection = self._connection
                if connection is None or not connection.usable:
                    connection = await self._connected()
                replies = await connection.send(payload, count)
                for reply in replies:
                    if isinstance(reply, ResponseError) and str(reply).startswith("LOADING"):
                        raise BusyLoadingError(str(reply))
                return replies
            except (ConnectionError, TimeoutError) as exc:
                failures += 1
                if failures > self.retries:
                    raise exc
                await asyncio.sleep(self._backoff.compute(failures))

    async def _connected(self) -> _Connection:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            connection = await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        return connection

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        address = self.address
        command_seconds, idle_seconds = self.command_seconds, self.idle_seconds
        try:
            async with asyncio.timeout(self.connect_seconds):
                if address.path:
                    _, connection = await loop.create_unix_connection(
                        lambda: _Connection(command_seconds, idle_seconds), address.path)
                else:
                    _, connection = await loop.create_connection(
                        lambda: _Connection(command_seconds, idle_seconds), address.host, address.port, ssl=address.tls)
                hello = []
                if address.password:
                    hello.append(pack("AUTH", *([address.username] if address.username else []), address.password))
                if address.db:
                    hello.append(pack("SELECT", address.db))
                if hello:
                    for reply in await connection.send(b"".join(hello), len(hello)):
                        if isinstance(reply, ResponseError):
                            connection._fail(ConnectionError("Redis refused the connection's set-up"))
                            raise AuthenticationError(str(reply)[:60])
        except OSError as exc:  # a refused or timed-out connect (the builtin TimeoutError is an OSError)
            raise ConnectionError(f"cannot reach Redis ({type(exc).__name__})") from None
        self._connection = connection
        return connection


def _raised(reply: Any) -> Any:
    """`reply`, or the redis-py exception its error means raised."""
    if isinstance(reply, ResponseError):
        message = str(reply)
        kind = _ERRORS.get(message.split(" ", 1)[0])
        raise kind(message) if kind else reply
    return reply

"""A raw HTTP host for tests: a TCP server that reads each request's head and then does whatever a test's
`Behaviour` says (stall, drip, hang up, send garbage), which a real web server would never do."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Behaviour = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""What a host does once it has read a request's head (given first)."""


@dataclass
class RawHost:
    """A TCP server that reads each connection's request head, then does what `behaviour` says; it
    keeps the heads and the connections still open, so a test sees the client let go of them."""

    behaviour: Behaviour
    server: asyncio.Server | None = None
    open_connections: set[asyncio.StreamWriter] = field(default_factory=set)
    requests: list[bytes] = field(default_factory=list)

    async def start(self, tls: ssl.SSLContext | None = None) -> str:
        """Listen on a free port of 127.0.0.1 (over TLS with `tls`); returns `127.0.0.1:port`."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections.add(writer)
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(request)
            await self.behaviour(request, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_connections.discard(writer)
            writer.close()

    async def all_closed(self) -> None:
        while self.open_connections:
            await asyncio.sleep(0.01)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def read_body(head: bytes, reader: asyncio.StreamReader) -> bytes:
    """The body of the request whose `head` was read, by its Content-Length."""
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    return await reader.readexactly(length)

"""The Bot API's reply path (adapters/http_origin.py) against real servers: aiohttp's, over plain TCP
and verified TLS, and raw asyncio servers for the answers aiohttp would not give (an answer ended by
the close, garbage, silence, truncation, endless chunks). Every caller gets its own answer; failures are
`OriginError` or TimeoutError, quickly, bounded in memory, and never name the path (it holds the bot
token). The tests from `streaming` on came from a review and failed on the first version."""

from __future__ import annotations

import asyncio
import datetime as dtm
import ipaddress
import socket
import ssl
import struct
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.http_origin import MAX_BODY, Origin, OriginError
from tests.raw_http import Behaviour, RawHost, read_body

TOKEN_PATH = "/bot123456:secret-token/sendMessage"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(handler: Handler, keepalive: float = 75.0, tls: ssl.SSLContext | None = None) -> tuple[
        web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=keepalive)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    return runner, server.sockets[0].getsockname()[1]


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, set[object]]]:
    """A server that answers each POST with its path and body, after a moment; and the connections it saw."""
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        body = await request.read()
        await asyncio.sleep(0.001 * (len(body) % 5))
        return web.json_response({"path": request.path, "body": body.decode()})

    runner, port = await serve(handler)
    yield f"http://127.0.0.1:{port}", peers
    await runner.cleanup()


async def post_once(behaviour: Behaviour, timeout: float = 3) -> tuple[int, bytes]:
    """One POST (to the token's path) to a raw host answering with `behaviour`."""
    host = RawHost(behaviour)
    origin = Origin(f"http://{await host.start()}", timeout=timeout)
    try:
        return await origin.post(TOKEN_PATH, b"{}")
    finally:
        await origin.close()
        host.close()


async def test_hundreds_of_posts_at_once_each_get_their_own_answer_over_at_most_limit_connections(
    echo: tuple[str, set[object]],
) -> None:
    base, peers = echo
    origin = Origin(base + "/api", limit=8)
    answers = await asyncio.gather(*(origin.post(f"/m{n}", f'{{"n":{n}}}'.encode()) for n in range(300)))
    await origin.close()
    assert [status for status, _ in answers] == [200] * 300
    assert [body for _, body in answers] == [
        f'{{"path": "/api/m{n}", "body": "{{\\"n\\":{n}}}"}}'.encode() for n in range(300)]
    assert 1 <= len(peers) <= 8


async def test_a_chunked_answer_is_read_whole_and_the_connection_reused() -> None:
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.StreamResponse:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        await request.read()
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"ok":', b" true, ", b'"result": "' + b"x" * 5000 + b'"}'):
            await response.write(part)
            await asyncio.sleep(0.01)
        await response.write_eof()
        return response

    runner, port = await serve(handler)
    origin = Origin(f"http://127.0.0.1:{port}", limit=1)
    try:
        first = await origin.post("/a", b"{}")
        second = await origin.post("/b", b"{}")
    finally:
        await origin.close()
        await runner.cleanup()
    assert first == second == (200, b'{"ok": true, "result": "' + b"x" * 5000 + b'"}')
    assert len(peers) == 1


async def test_an_answer_ended_by_the_close_is_read_whole_and_the_next_post_opens_a_new_connection() -> None:
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = await read_body(request, reader)
        writer.write(b"HTTP/1.0 201 Created\r\nContent-Type: text/plain\r\n\r\n" + body[::-1])
        await writer.drain()

    host = RawHost(answer)
    origin = Origin(f"http://{await host.start()}")
    try:
        assert await origin.post("/x", b"abc") == (201, b"cba")
        assert await origin.post("/x", b"xyz") == (201, b"zyx")
    finally:
        await origin.close()
        host.close()


async def test_a_connection_the_server_dropped_while_idle_is_not_used_again() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    runner, port = await serve(handler, keepalive=0.1)
    origin = Origin(f"http://127.0.0.1:{port}", limit=2)
    try:
        assert await origin.post("/a", b"one") == (200, b"one")
        await asyncio.sleep(0.5)  # the server closes the kept-alive connection meanwhile
        assert await origin.post("/a", b"two") == (200, b"two")
    finally:
        await origin.close()
        await runner.cleanup()


async def test_a_server_that_never_answers_times_out_and_frees_its_slot() -> None:
    async def silent(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_body(request, reader)
        await asyncio.sleep(30)

    host = RawHost(silent)
    origin = Origin(f"http://{await host.start()}", limit=1, timeout=0.3)
    started = time.monotonic()
    try:
        for _ in range(2):  # the second would wait forever for the only slot if the first kept it
            with pytest.raises(TimeoutError):
                await origin.post(TOKEN_PATH, b"{}")
    finally:
        await origin.close()
        host.close()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("reply", [
    b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: " + str(MAX_BODY + 1).encode() + b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 20_000,
])
async def test_what_is_not_a_whole_http_answer_fails_without_naming_the_path(reply: bytes) -> None:
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_body(request, reader)
        writer.write(reply)
        await writer.drain()

    with pytest.raises(OriginError) as failed:
        await post_once(answer)
    assert "secret-token" not in str(failed.value)


async def test_an_origin_nobody_listens_on_fails_at_once_without_naming_the_path() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    origin = Origin(f"http://127.0.0.1:{port}")
    with pytest.raises(OriginError) as failed:
        await origin.post(TOKEN_PATH, b"{}")
    assert "secret-token" not in str(failed.value) and str(port) not in str(failed.value)


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dtm.datetime.now(dtm.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dtm.timedelta(minutes=5))
        .not_valid_after(now + dtm.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_https_is_verified_against_the_trusted_certificates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert_file, key_file = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": (await request.read()).decode()})

    runner, port = await serve(handler, tls=tls)
    try:
        untrusted = Origin(f"https://localhost:{port}")
        with pytest.raises(OriginError) as failed:
            await untrusted.post(TOKEN_PATH, b"hi")
        assert "SSL" in str(failed.value) and "secret-token" not in str(failed.value)

        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # what the default context trusts, read when made
        trusted = Origin(f"https://localhost:{port}")
        assert await asyncio.gather(*(trusted.post("/m", f"{n}".encode()) for n in range(20))) == [
            (200, f'{{"ok": true, "result": "{n}"}}'.encode()) for n in range(20)]
        await trusted.close()
    finally:
        await runner.cleanup()


def test_only_http_and_https_origins_are_accepted() -> None:
    for base in ("ftp://example.org", "unix:///tmp/x", "http://", "api.telegram.org"):
        with pytest.raises(ValueError):
            Origin(base)


def streaming(head: bytes, sent: list[int], total: int = 256 << 20) -> Behaviour:
    """Answer with `head`, then push up to `total` bytes of 'a' as fast as the client takes them."""
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_body(request, reader)
        writer.write(head)
        block = b"a" * (1 << 20)
        while sent[0] < total:
            writer.write(block)
            await writer.drain()
            sent[0] += len(block)
    return answer


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",  # one chunk of 64 GiB declared
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",  # a chunk-size line that never ends
], ids=["huge chunk", "endless chunk-size line"])
async def test_a_chunked_answer_larger_than_max_body_is_refused_before_it_is_buffered(head: bytes) -> None:
    """A chunked answer is refused as soon as it says (or shows) it is larger than MAX_BODY, not buffered."""
    sent = [0]
    started = time.monotonic()
    with pytest.raises(OriginError):
        await post_once(streaming(head, sent), timeout=5)
    assert sent[0] <= 4 * MAX_BODY, f"the client took {sent[0] >> 20} MiB before giving up"
    assert time.monotonic() - started < 3


async def test_an_answer_cut_by_a_connection_reset_is_not_handed_over_as_whole() -> None:
    """An answer framed by the close is whole only when the close is orderly (FIN), not a reset."""
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_body(request, reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"ok":true,"result":{"mess')
        await writer.drain()
        await asyncio.sleep(0.2)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        writer.transport.abort()

    with pytest.raises(OriginError):
        await post_once(answer)


async def test_a_204_with_a_chunked_header_is_answered_at_once() -> None:
    """A 204 has no body whatever its headers say (RFC 9112 6.3): no wait for chunks."""
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_body(request, reader)
        writer.write(b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n")
        await writer.drain()
        await reader.read()

    assert await post_once(answer, timeout=2) == (204, b"")


async def test_an_oversized_answer_ended_by_the_close_fails_without_an_error_in_the_event_loop() -> None:
    """'Body too large' ends the request, and the close that follows raises nothing in the event loop."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))

    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_body(request, reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"a" * (MAX_BODY + 10))
        await writer.drain()

    try:
        with pytest.raises(OriginError):
            await post_once(answer)
        await asyncio.sleep(0.2)
    finally:
        loop.set_exception_handler(None)
    assert errors == [], [repr(e.get("exception")) for e in errors]


def test_an_origin_used_from_one_event_loop_after_another_answers_at_once() -> None:
    """Each `asyncio.run` is a new loop (the workers run one per job): the last loop's kept-alive
    connections must not be reused (their answers would never be read)."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = Origin(f"http://127.0.0.1:{httpd.server_address[1]}", timeout=3)
    try:
        assert asyncio.run(origin.post(TOKEN_PATH, b"{}")) == (200, b"{}")
        started = time.monotonic()
        assert asyncio.run(origin.post(TOKEN_PATH, b"{}")) == (200, b"{}")
        assert time.monotonic() - started < 1
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_over_tls_an_answer_cut_without_close_notify_is_not_handed_over_as_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TLS ends a message framed by the close only with close_notify; a bare TCP close (an attacker
    on the path can forge one) is a truncation."""
    cert_file, key_file = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)

    async def connected(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_body(request, reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"ok":true,"result":{"mess')
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.transport.abort()  # no close_notify

    host = RawHost(connected)
    port = (await host.start(tls)).rsplit(":", 1)[1]
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    origin = Origin(f"https://localhost:{port}", timeout=3)
    try:
        with pytest.raises(OriginError):
            await origin.post(TOKEN_PATH, b"{}")
    finally:
        await origin.close()
        host.close()

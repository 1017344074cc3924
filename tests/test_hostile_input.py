"""Hostile but authentic input: what a provider may really deliver (or an attacker may make it
deliver) is answered the way the provider needs, and bounded before it costs anything."""

from __future__ import annotations

import io
import json
import logging
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from adapters.base import MediaLimits, MediaRef, MediaRefused
from adapters.safe_fetch import FetchPolicy, fetch
from adapters.telegram import TelegramAdapter
from adapters.telegram_parse import Parsed, to_inbound
from adapters.twilio_inbound import to_inbound as twilio_to_inbound
from config.settings import Settings
from tests import test_adapter_telegram as telegram_tests
from tests.conftest import ROOT
from tests.doubles.telegram_api import TelegramApiDouble
from tests.test_adapter_telegram import SECRET, TelegramPhone, _update_ids
from workers.media import prepare

# The Telegram channel's fixtures: a Bot API double, the app with Telegram on, a reporter's phone.
telegram_api, service_env, reporter = telegram_tests.telegram_api, telegram_tests.service_env, telegram_tests.reporter
LIMITS = MediaLimits(20 * 1024 * 1024, Settings().media_types)


# Telegram: an authentic update always gets 200 -----------------------------------------------------

async def test_a_telegram_update_nested_thousands_of_levels_deep_gets_200_and_leaves_nothing(
    reporter: TelegramPhone, redis_client: redis.Redis, telegram_api: TelegramApiDouble,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    message = json.dumps(reporter.message(text="the boss lives at 12 Hill Road"))
    deep = "[" * 6000 + "1" + "]" * 6000
    body = f'{{"update_id": {next(_update_ids)}, "message": {message}, "extra": {deep}}}'
    response = await reporter.client.post("/webhooks/telegram", data=body.encode(), headers={
        "X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"})
    assert response.status == 200
    assert redis_client.keys("*") == []
    assert telegram_api.calls_of("sendMessage") == []
    assert "Hill Road" not in caplog.text and reporter.sender not in caplog.text
    assert "telegram update" in caplog.text  # logged, without content


async def test_telegram_messages_without_a_chat_or_sender_get_200_and_leave_nothing(
    reporter: TelegramPhone, redis_client: redis.Redis, telegram_api: TelegramApiDouble,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    no_chat = {k: v for k, v in reporter.message(text="the boss lives at 12 Hill Road").items() if k != "chat"}
    press_without_chat = {"id": "77", "from": reporter.user(), "chat_instance": "1", "data": "1",
                          "message": {"message_id": 3, "date": 0}}
    updates = [
        {"update_id": next(_update_ids), "message": no_chat},
        {"update_id": next(_update_ids), "edited_message": {**no_chat, "edit_date": int(time.time())}},
        {"update_id": next(_update_ids), "callback_query": press_without_chat},
        {"update_id": next(_update_ids), "message": {**no_chat, "chat": {"id": "x", "type": None}}},
        {"update_id": next(_update_ids), "message": {**no_chat, "chat": [], "from": "Ana"}},
    ]
    for update in updates:
        assert await reporter.post(update) == 200, update
    assert redis_client.keys("*") == []
    assert telegram_api.calls_of("sendMessage") == []
    assert "Hill Road" not in caplog.text and reporter.sender not in caplog.text


# Media: where from, and what a path may say ---------------------------------------------------------

async def test_a_telegram_file_path_climbing_out_with_encoded_dots_is_never_requested(
    settings: Settings, telegram_api: TelegramApiDouble,
) -> None:
    adapter = TelegramAdapter(settings)
    limits = MediaLimits(max_bytes=1000, allowed_types=("image/jpeg",))
    try:
        for folder in ("photos/%2e%2e/%2E%2E", "photos/%2e./x", "photos/.%2e", "photos/%252e%252e",
                       "photos/..%2f..", "photos\\..\\..", "photos/./x"):
            file_id, _ = telegram_api.add_file(b"x" * 10, folder=folder)
            with pytest.raises(MediaRefused):
                await adapter.fetch_media(MediaRef("telegram", file_id, "photo", "image/jpeg", 10), limits)
        assert telegram_api.downloads == []
        fine, _ = telegram_api.add_file(b"y" * 10, folder="photos")
        assert await adapter.fetch_media(MediaRef("telegram", fine, "photo", "image/jpeg", 10), limits) == (
            b"y" * 10, "image/jpeg")
    finally:
        await adapter.close()


@pytest.fixture
async def media_host() -> Any:
    """A real HTTP server serving one JPEG at /m and redirecting /hop to a port given in `?to=`."""
    hits: list[str] = []

    async def media(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"\xff\xd8\xffjpeg", content_type="image/jpeg")

    async def hop(request: web.Request) -> web.Response:
        hits.append(request.path)
        raise web.HTTPFound(f"http://127.0.0.1:{request.query['to']}/m")

    app = web.Application()
    app.router.add_get("/m", media)
    app.router.add_get("/hop", hop)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, hits
    await server.close()


async def test_the_media_allowlist_is_exact_about_ports(media_host: Any) -> None:
    server, hits = media_host
    limits = MediaLimits(1000, ("image/jpeg",))
    here = f"127.0.0.1:{server.port}"
    bare = FetchPolicy(hosts=frozenset({"127.0.0.1"}), limits=limits, https_only=False)
    with pytest.raises(MediaRefused):
        await fetch(f"http://{here}/m", bare)  # a host without a port means the scheme's own port
    other = FetchPolicy(hosts=frozenset({"127.0.0.1:1"}), limits=limits, https_only=False)
    with pytest.raises(MediaRefused):
        await fetch(f"http://{here}/m", other)
    assert hits == []
    exact = FetchPolicy(hosts=frozenset({here}), limits=limits, https_only=False)
    assert await fetch(f"http://{here}/m", exact) == (b"\xff\xd8\xffjpeg", "image/jpeg")
    with pytest.raises(MediaRefused):  # a redirect to another port of an allowed host is refused
        await fetch(f"http://{here}/hop?to=9", exact)
    assert hits == ["/m", "/hop"]


# Text: kept whole --------------------------------------------------------------------------------

def test_the_longest_telegram_message_reaches_the_bot_whole() -> None:
    text = ("Nine workers sleep in the van behind the car wash. " * 100)[:4096]
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": text,
                                          "chat": {"id": 5, "type": "private"},
                                          "from": {"id": 5, "is_bot": False, "first_name": "A"}}}
    parsed = to_inbound(update, Settings().max_text_chars)
    assert isinstance(parsed, Parsed)
    assert parsed.inbound.text == text


def test_a_long_whatsapp_message_reaches_the_bot_whole() -> None:
    text = "They took our passports and we work 16 hours for no pay. " * 90  # 5,130 characters
    form = {"MessageSid": "SM" + "a" * 32, "From": "whatsapp:+447700900123", "To": "whatsapp:+14155238886",
            "Body": text, "NumMedia": "0"}
    inbound = twilio_to_inbound(form, "twilio", Settings().max_text_chars)
    assert inbound.text == text


def test_the_body_limit_admits_the_longest_whatsapp_message_in_any_script() -> None:
    """65,536 characters of Arabic, form-encoded as Twilio sends them, fit under the body limit."""
    from urllib.parse import urlencode

    body = urlencode({"Body": "ب" * 65536, "From": "whatsapp:+201000000000", "MessageSid": "SM" + "a" * 32})
    assert len(body.encode()) <= Settings().max_body_bytes


# Images: bounded before decoding ------------------------------------------------------------------

def _gif_of_frames(width: int, height: int, frames: int) -> bytes:
    """A real GIF (Pillow's own encoding) of `frames` identical frames: one frame is encoded and its
    image block repeated, which is what an animation of unchanging frames is."""
    one = io.BytesIO()
    Image.new("P", (width, height), 0).save(one, "GIF")
    data = one.getvalue()
    start = data.index(b"\x2c", 13 + 3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 13)
    block = data[start:-1]
    return data[:start] + block * frames + b"\x3b"


@pytest.fixture(scope="session")
def gif_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "9000x9000x4.gif"
    path.write_bytes(_gif_of_frames(9000, 9000, 4))
    return path


def test_a_gif_of_four_9000_square_frames_is_refused_from_its_header_in_little_memory(gif_bomb: Path) -> None:
    data = gif_bomb.read_bytes()
    assert len(data) < 300_000
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (9000, 9000) and image.n_frames == 4
    # In a process allowed 700 MB of address space: decoding it would need gigabytes.
    script = textwrap.dedent(f"""
        import resource, sys
        from adapters.base import MediaLimits, MediaRefused
        from config.settings import Settings
        from workers.media import prepare
        data = open({str(gif_bomb)!r}, "rb").read()
        resource.setrlimit(resource.RLIMIT_AS, (700 * 2**20, 700 * 2**20))
        try:
            prepare(data, MediaLimits(20 * 2**20, Settings().media_types))
        except MediaRefused as exc:
            print("refused:", exc)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-1000:]
    assert result.stdout.startswith("refused:") and "pixels" in result.stdout


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP", "JPEG"])
def test_images_whose_header_claims_too_many_pixels_are_refused_without_decoding(fmt: str) -> None:
    small = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(small, fmt)
    data = bytearray(small.getvalue())
    _claim_size(data, fmt, 60000, 60000)
    with pytest.raises(MediaRefused, match="pixels"):
        prepare(bytes(data), LIMITS)


def _claim_size(data: bytearray, fmt: str, width: int, height: int) -> None:
    """Rewrite the header's dimensions in place (the pixel data stays that of a 4x4 picture)."""
    if fmt == "PNG":
        data[16:24] = struct.pack(">II", width, height)
        import zlib
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    elif fmt == "GIF":
        data[6:10] = struct.pack("<HH", width, height)
        at = data.index(b"\x2c", 13 + 3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 13)
        data[at + 5:at + 9] = struct.pack("<HH", width, height)
    elif fmt == "WEBP":
        at = data.index(b"VP8")
        kind = bytes(data[at:at + 4])
        if kind == b"VP8 ":
            data[at + 14:at + 18] = struct.pack("<HH", min(width, 16383), min(height, 16383))
        else:
            bits = (min(width, 16384) - 1) | ((min(height, 16384) - 1) << 14)
            data[at + 9:at + 13] = struct.pack("<I", bits | (data[at + 12] & 0xF0) << 24)
    else:
        at = data.index(b"\xff\xc0")
        data[at + 5:at + 9] = struct.pack(">HH", min(height, 65535), min(width, 65535))


def test_ordinary_photos_and_small_animations_pass_the_bounds() -> None:
    for size in ((4000, 3000), (120, 90)):
        buffer = io.BytesIO()
        Image.new("RGB", size, "blue").save(buffer, "JPEG")
        assert prepare(buffer.getvalue(), LIMITS).content_type == "image/jpeg"
    animation = _gif_of_frames(320, 240, 30)
    assert prepare(animation, LIMITS).content_type == "image/gif"

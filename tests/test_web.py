"""Operators' endpoints and the app's guard rails."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import guard, make_app
from config.settings import Settings
from tests.chat import Phone, Reporter
from tests.scenario import complete_report


async def test_health_and_readiness(settings: Settings, aiohttp_client: Any) -> None:
    client = await aiohttp_client(make_app(settings))
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"


async def test_readiness_fails_when_the_store_is_not_writable(
    settings: Settings, aiohttp_client: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    broken = dataclasses.replace(settings, store_url=f"file://{blocker}/store")
    client = await aiohttp_client(make_app(broken))
    response = await client.get("/readyz")
    assert response.status == 503
    assert "store" in (await response.json())["problems"]


async def test_readiness_fails_when_redis_is_unreachable(
    settings: Settings, aiohttp_client: Any, tmp_path: Path
) -> None:
    gone = dataclasses.replace(settings, redis_url=f"unix://{tmp_path}/no-such.sock")
    client = await aiohttp_client(make_app(gone))
    response = await client.get("/readyz")
    assert response.status == 503
    assert "redis" in (await response.json())["problems"]


async def test_metrics_count_messages_without_content(settings: Settings, aiohttp_client: Any) -> None:
    client = await aiohttp_client(make_app(settings))
    reporter = Reporter(client)
    await reporter.say("my secret words")
    text = await (await client.get("/metrics")).text()
    assert 'tipline_messages_total{channel="simulator",outcome="handled"}' in text
    assert "my secret words" not in text and reporter.sender not in text


async def test_metrics_count_reports_handed_to_filing(settings: Settings, aiohttp_client: Any) -> None:
    client = await aiohttp_client(make_app(settings))

    async def submitted() -> float:
        text = await (await client.get("/metrics")).text()
        line = [ln for ln in text.splitlines() if ln.startswith('tipline_reports_submitted_total{status="complete"}')]
        return float(line[0].split()[-1]) if line else 0.0

    before = await submitted()
    await complete_report(Phone(client), [])
    assert await submitted() == before + 1


async def test_oversized_bodies_are_refused_with_413(settings: Settings, aiohttp_client: Any) -> None:
    client = await aiohttp_client(make_app(settings))
    body = b'{"sender": "sim-12345678", "message_id": "m", "text": "' + b"x" * (settings.max_body_bytes + 1) + b'"}'
    response = await client.post("/simulator/api/message", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 413


@pytest.mark.slow
async def test_a_megabyte_of_text_emoji_rtl_and_zero_width_characters_get_a_reply(
    settings: Settings, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(make_app(dataclasses.replace(settings, max_body_bytes=4 * 1024 * 1024)))
    reporter = Reporter(client)
    await reporter.say("hello")
    for text in ["x" * 1_000_000, "🙏🏽" * 500, "رأيت رجالاً محتجزين", "\u200b\u200f\u2060", "\x00\x01"]:
        replies = await reporter.say(text)
        assert replies and all(r["text"] for r in replies)


async def test_an_unexpected_error_is_a_bare_500_with_the_request_id_and_a_log_line_naming_only_the_route(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise KeyError("+447700900123 said: they took my passport")

    app = web.Application(middlewares=[guard])
    app.router.add_post("/webhooks/broken", broken)
    client = await aiohttp_client(app)
    response = await client.post("/webhooks/broken", headers={"X-Request-Id": "lb-trace-0002"})
    assert response.status == 500 and await response.text() == "internal error"
    assert response.headers["X-Request-Id"] == "lb-trace-0002"
    assert "unhandled KeyError on /webhooks/broken" in caplog.text
    assert "447700900123" not in caplog.text and "passport" not in caplog.text

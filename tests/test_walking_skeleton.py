"""The spine, end to end: a reporter chats over HTTP, a real RQ worker files the report, and an
analyst decrypts it with a key the service never had."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import time
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from PIL import Image
from rq import Queue
from rq.serializers import JSONSerializer

from bot.app import make_app
from config.settings import Settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from tests.chat import Phone as Reporter
from tests.chat import texts
from tests.conftest import (
    AnalystKey,
    filing_jobs_running,
    kill_worker,
    recover_abandoned_jobs,
    run_burst_worker,
    start_worker,
)
from tests.scenario import Script, begin_report, complete_report, expect, walk_to


def jpeg(size: tuple[int, int] = (32, 24), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


@pytest.mark.slow
async def test_report_is_filed_sealed_and_readable_only_by_the_analyst(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    settings: Settings,
) -> None:
    photo = jpeg()
    script = Script(description="Men sleeping in the bakery basement, doors locked")
    receipt = await complete_report(Reporter(client), [photo], script)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", receipt)

    result = run_burst_worker(service_env)
    assert result.returncode == 0, result.stderr

    reports = list_reports(store, analyst_key.load())
    assert len(reports) == 1 and reports[0].report is not None
    report = reports[0].report
    assert report["status"] == "complete"
    assert report["answers"] == {
        "consent": True,
        "category": "labour",
        "description": ["Men sleeping in the bakery basement, doors locked"],
        "location": "Rue de la Paix 12, Lyon",
        "when": script.when,
        "people": script.people,
        "danger": False,
        "follow_up": False,
    }
    assert report["urgent"] is False and report["follow_up"] is None
    assert report["channel"] == "simulator:whatsapp"
    assert receipt not in json.dumps(report)
    [item] = report["media"]
    assert item["status"] == "stored" and item["kind"] == "photo"
    assert open_media(store, analyst_key.load(), item["id"]) == photo

    # the service side holds public keys only: no private key anywhere in its settings or var dir
    assert settings.analyst_public_keys == (analyst_key.public,)
    var_files = [p.read_bytes() for p in store.root.parent.rglob("*") if p.is_file()]
    secret = json.loads(analyst_key.path.read_text())["secret"].encode()
    assert not any(secret in blob for blob in var_files)
    assert not any(b"Men sleeping" in blob or photo[100:160] in blob for blob in var_files)


async def test_wrong_step_input_reprompts_and_keeps_the_step(client: TestClient[Any, Any]) -> None:
    reporter = Reporter(client)
    await begin_report(reporter)
    reply = texts(await reporter.say("purple elephants"))
    assert expect("en", "reprompt.choice") in reply and "1. Forced labour" in reply
    assert expect("en", "description.prompt") in texts(await reporter.say("forced labor"))  # close misspelling


async def test_a_duplicate_provider_message_id_is_processed_once(client: TestClient[Any, Any]) -> None:
    reporter = Reporter(client)
    await begin_report(reporter)
    assert expect("en", "description.prompt") in texts(await reporter.say("2", message_id="provider-42"))
    assert await reporter.say("2", message_id="provider-42") == []
    # the conversation did not move twice: the next answer is still the description
    assert expect("en", "messages.more") in texts(await reporter.say("something happened"))


@pytest.mark.slow
async def test_simultaneous_messages_of_one_conversation_are_processed_one_at_a_time(
    settings: Settings, aiohttp_client: Any
) -> None:
    # two web processes' worth of apps sharing one Redis, an album of 10 photos hitting both at once
    first = await aiohttp_client(make_app(settings))
    second = await aiohttp_client(make_app(settings))
    reporter = Reporter(first)
    await walk_to(reporter, "media")
    uploads = [await reporter.upload(jpeg(color=c)) for c in ["red", "blue"] * 5]
    album = [Reporter(first if i % 2 else second, sender=reporter.sender).send(media=[m])
             for i, m in enumerate(uploads)]
    answers = await asyncio.gather(*album)
    assert answers == [[]] * 10, "each photo's request is answered at once, with nothing"
    said = await reporter.later()
    await asyncio.sleep(0.3)  # twice ALBUM_QUIET_MS: a second answer would have come by now
    said += await reporter.later(within=0)
    assert len(said) == 1, "one answer for the album, a moment after its last photo"
    assert re.search(r"Received 10\b", said[0]["text"]), said
    await reporter.say("done")
    await reporter.say("no")
    assert "Files: 10" in texts(await reporter.say("no"))


@pytest.mark.slow
async def test_a_worker_killed_mid_job_leaves_the_report_to_be_filed_once_on_retry(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis,
) -> None:
    reporter = Reporter(client)
    await walk_to(reporter, "media")
    big = [b"%PDF-1.7\n" + os.urandom(6 * 1024 * 1024) for _ in range(3)]  # the real type is checked
    for blob in big:
        await reporter.say(media=[await reporter.upload(blob, "application/pdf")])
    for answer in ("done", "no", "no", "yes"):
        await reporter.say(answer)

    queue = Queue(service_env["QUEUE_NAME"], connection=redis_client, serializer=JSONSerializer)
    worker = start_worker(service_env)
    deadline = time.monotonic() + 30
    while not filing_jobs_running(queue) and time.monotonic() < deadline:
        time.sleep(0.005)
    kill_worker(worker)
    assert not list(store.names("reports/")), "the worker was killed before filing finished"

    # what RQ does for an abandoned job once its timeout passes: back to the queue, retries left
    recover_abandoned_jobs(queue)  # RQ's own recovery of an abandoned job, without its waiting
    assert run_burst_worker(service_env).returncode == 0
    assert run_burst_worker(service_env).returncode == 0

    reports = list_reports(store, analyst_key.load())
    assert len(reports) == 1 and reports[0].report is not None
    stored = [open_media(store, analyst_key.load(), m["id"]) for m in reports[0].report["media"]]
    assert stored == big
    assert len(list(store.names("media/"))) == 3

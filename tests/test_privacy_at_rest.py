"""Everything the service wrote after full conversations — every Redis key and value, every store
object, the web log and the worker's output — holds no report text, no sender address, no media bytes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.app import make_app
from config.settings import Settings
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from tests.conftest import AnalystKey, run_burst_worker
from tests.media_samples import image
from tests.scenario import Script, begin_report, complete_report, expect, joined
from tests.test_adapter_simulator import SimulatorPhone


def redis_dump(client: redis.Redis) -> list[bytes]:
    """Every key name and every value, read by type (RDB files may compress values)."""
    dump: list[bytes] = []
    for key in client.scan_iter("*"):
        dump.append(key)
        kind = client.type(key)
        if kind == b"string":
            dump.append(client.get(key) or b"")
        elif kind == b"hash":
            dump.extend(k + b"=" + v for k, v in client.hgetall(key).items())
        elif kind == b"list":
            dump.extend(client.lrange(key, 0, -1))
        elif kind == b"set":
            dump.extend(client.smembers(key))
        elif kind == b"zset":
            dump.extend(m for m, _ in client.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            dump.extend(repr(entry).encode() for entry in client.xrange(key))
    return dump


def findings(blobs: list[bytes], secrets: dict[str, bytes]) -> list[str]:
    return [name for name, secret in secrets.items() if any(secret in blob for blob in blobs)]


@pytest.mark.slow
async def test_nothing_written_at_rest_contains_report_text_sender_or_media(
    settings: Settings, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis, aiohttp_client: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await aiohttp_client(make_app(settings))
    scripts = [Script(description="Twelve women kept in the flat above the Golden Lotus massage"),
               Script(category_answer="2", description="Boy of ten selling flowers at 2am, man collects cash",
                      place="Avenida Paulista 1578")]
    phones = [SimulatorPhone(client) for _ in scripts]
    photos = [image("JPEG", color="purple"), image("PNG", color="teal")]
    for phone, script, photo in zip(phones, scripts, photos, strict=True):
        await complete_report(phone, [photo], script)
    unfinished = SimulatorPhone(client)
    await begin_report(unfinished)
    await unfinished.say("1")
    answer = await unfinished.say("Men locked in a lorry at the ring road lay-by")
    assert expect("en", "messages.more") in joined(answer)

    secrets: dict[str, bytes] = {}
    for n, (phone, script) in enumerate(zip(phones, scripts, strict=True)):
        secrets[f"description {n}"] = script.description.encode()
        secrets[f"sender {n}"] = phone.sender.encode()
        secrets[f"sender uuid {n}"] = phone.sender.removeprefix("sim-").encode()
    secrets["place"] = b"Avenida Paulista"
    secrets["unfinished text"] = b"locked in a lorry"
    secrets["unfinished sender"] = unfinished.sender.encode()
    for n, photo in enumerate(photos):
        secrets[f"photo {n} bytes"] = photo[len(photo) // 2:len(photo) // 2 + 48]

    before_filing = redis_dump(redis_client)
    worker = run_burst_worker(service_env)
    assert worker.returncode == 0, worker.stderr
    assert len(list_reports(store, analyst_key.load())) == 2  # the test looks at a service that worked

    store_objects = [p.read_bytes() for p in Path(store.root).rglob("*") if p.is_file()]
    assert len(store_objects) == 4
    logs = [caplog.text.encode(), worker.stdout.encode(), worker.stderr.encode()]
    assert "report filed" in worker.stdout + worker.stderr and "engine" in caplog.text  # logs were captured
    assert findings(before_filing, secrets) == []
    assert findings(redis_dump(redis_client), secrets) == []
    assert findings(store_objects, secrets) == []
    assert findings(logs, secrets) == []
    # filed drafts leave no session, job payload or media status behind in Redis
    # (the quiet sweeper's own job, `rq:job:quiet-sweep-…`, holds only a random token)
    left = [key for key in redis_client.scan_iter("*") if key.startswith((b"rq:job:", b"tl:m:"))
            and not key.startswith(b"rq:job:quiet-sweep-")]
    assert left == []

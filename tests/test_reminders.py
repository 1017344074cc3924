"""Quiet reporters: one reminder, then the draft is filed as incomplete or discarded. The sweep is
called with a time (a clock the test moves: no test waits for hours, or seconds); filing runs in a
real RQ worker; the sweeper chain's scheduling is checked on its own."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from bot.app import make_app
from config.settings import load_settings
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from tests.conftest import AnalystKey, run_burst_worker
from tests.scenario import expect
from workers.context import WorkerContext, make_context
from workers.reminders import look_at_quiet


@pytest.fixture
def quiet_env(service_env: dict[str, str]) -> dict[str, str]:
    """The production defaults for quiet times (30 minutes, 6 hours): the tests move a clock."""
    return {**service_env, "CHANNELS": "tests.outbox_channel:OutboxAdapter", "QUIET_SWEEP_SECONDS": "1"}


class Phone:
    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client, self.sender = client, f"+4477009{uuid.uuid4().int % 10**5:05d}"

    async def say(self, text: str) -> str:
        response = await self.client.post("/outbox/message", json={"sender": self.sender, "id": str(uuid.uuid4()),
                                                                   "text": text})
        assert response.status == 200
        return "\n".join((await response.json())["replies"])


def sent(var: Path) -> list[dict[str, str]]:
    path = var / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Clock:
    """Wall-clock seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def sweep_at(context: WorkerContext, now: float) -> list[str]:
    """The sweep job's work at wall-clock `now`, in a thread as in a worker (it runs its own loop)."""
    return await asyncio.to_thread(look_at_quiet, context, now)


@pytest.fixture
def context(quiet_env: dict[str, str]) -> WorkerContext:
    """What a worker's sweep job works with, in this process (the sweep is called with a time)."""
    return make_context(load_settings(quiet_env))


async def test_a_quiet_reporter_gets_one_reminder_then_the_draft_is_filed_incomplete(
    quiet_env: dict[str, str], clock: Clock, context: WorkerContext, aiohttp_client: Any, store: FileStore,
    analyst_key: AnalystKey, redis_client: redis.Redis,
) -> None:
    settings = context.settings
    client = await aiohttp_client(make_app(settings, clock=clock))
    phone = Phone(client)
    for answer in ("hello", "English", "yes", "1", "Children selling flowers at night, an adult takes the money"):
        await phone.say(answer)
    var = Path(quiet_env["TIPLINE_VAR_DIR"])
    last = clock.now
    assert await sweep_at(context, last + settings.reminder_after - 1) == []
    assert sent(var) == []
    assert await sweep_at(context, last + settings.reminder_after) == ["reminded"]
    assert sent(var) == [{"address": phone.sender, "text": expect("en", "reminder")}]
    assert await sweep_at(context, last + settings.draft_expiry - 1) == []
    assert await sweep_at(context, last + settings.draft_expiry) == ["expired"]
    assert len(sent(var)) == 1  # one reminder per quiet spell
    assert run_burst_worker(quiet_env).returncode == 0
    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None
    report = opened.report
    assert report["status"] == "incomplete" and "went quiet at step 'description'" in report["notes"][0]
    assert report["answers"]["description"] == ["Children selling flowers at night, an adult takes the money"]
    assert not redis_client.keys("tl:s:*")  # the live session (and its address) is gone
    assert expect("en", "welcome") in await phone.say("hello again")


async def test_a_reporter_who_keeps_writing_is_not_reminded_and_discard_policy_files_nothing(
    quiet_env: dict[str, str], clock: Clock, aiohttp_client: Any, store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis,
) -> None:
    env = {**quiet_env, "EXPIRY_POLICY": "discard"}
    context = make_context(load_settings(env))
    settings = context.settings
    client = await aiohttp_client(make_app(settings, clock=clock))
    phone = Phone(client)
    steady = settings.reminder_after * 2 // 3
    for answer in ("hello", "English", "yes", "1", "first part", "second part", "third part"):
        await phone.say(answer)
        clock.now += steady  # writing steadily: never quiet for REMINDER_AFTER
        assert await sweep_at(context, clock.now) == []
    assert sent(Path(env["TIPLINE_VAR_DIR"])) == []
    last = clock.now - steady
    assert await sweep_at(context, last + settings.reminder_after) == ["reminded"]
    assert await sweep_at(context, last + settings.draft_expiry) == ["expired"]
    assert not redis_client.keys("tl:s:*")
    assert len(sent(Path(env["TIPLINE_VAR_DIR"]))) == 1
    assert run_burst_worker(env).returncode == 0
    assert list_reports(store, analyst_key.load()) == []
    assert not redis_client.zrange("tl:q", 0, -1)  # nothing left to look at


async def test_one_sweeper_runs_and_a_dead_one_is_replaced_by_the_next_message(
    quiet_env: dict[str, str], aiohttp_client: Any, redis_client: redis.Redis,
) -> None:
    client = await aiohttp_client(make_app(load_settings(quiet_env)))
    queued = f"rq:queue:{quiet_env['QUEUE_NAME']}"

    def sweepers() -> list[bytes]:
        return [j for j in redis_client.lrange(queued, 0, -1) if j.startswith(b"quiet-sweep-")]

    phone = Phone(client)
    await phone.say("hello")
    assert len(sweepers()) == 1
    await Phone(client).say("hello")
    await phone.say("English")
    assert len(sweepers()) == 1, "a running sweeper is not started twice"
    assert len(redis_client.zrange("tl:q", 0, -1)) == 2, "both conversations are indexed"

    redis_client.delete("tl:q:sweeper")  # the chain died and its claim expired
    await phone.say("yes")
    assert len(sweepers()) == 2
    claim = redis_client.get("tl:q:sweeper")
    assert claim is not None and sweepers()[-1] == b"quiet-sweep-" + claim


@pytest.mark.slow
def test_a_sweep_job_of_a_replaced_chain_stops_without_scheduling_another(
    quiet_env: dict[str, str], redis_client: redis.Redis,
) -> None:
    from rq import Queue
    from rq.serializers import JSONSerializer

    queue = Queue(quiet_env["QUEUE_NAME"], connection=redis_client, serializer=JSONSerializer)
    redis_client.set("tl:q:sweeper", "the-live-chain")
    queue.enqueue("workers.reminders.sweep", "an-old-chain", result_ttl=0)
    assert run_burst_worker(quiet_env).returncode == 0
    assert redis_client.get("tl:q:sweeper") == b"the-live-chain"
    assert redis_client.zrange(f"rq:scheduled:{quiet_env['QUEUE_NAME']}", 0, -1) == []

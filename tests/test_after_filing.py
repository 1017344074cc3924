"""After filing: for ADDITION_WINDOW seconds a new message from the same reporter is offered to be
added to the report just sent (or to start a new one); DELETE then says truthfully what it erases.
Over the simulator, a real RQ worker and the sealed store."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from bot.app import make_app
from config.settings import Settings, load_settings
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from tests.chat import Phone, texts
from tests.conftest import AnalystKey, run_burst_worker
from tests.scenario import LOCALES, complete_report, expect, shows


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


def filed(store: FileStore, analyst_key: AnalystKey) -> list[dict[str, Any]]:
    return [r.report for r in list_reports(store, analyst_key.load()) if r.report is not None]


async def test_a_message_soon_after_filing_can_be_added_to_the_report(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis,
) -> None:
    reporter = Phone(client)
    assert await complete_report(reporter, [])
    correction = "wait the street is wrong, it's hovingham av"
    offer = await reporter.say(correction)
    assert shows(offer, "en", "after_filing.prompt") and "1. Add to my report" in texts(offer)
    assert not [k for k in redis_client.keys("*") if b"hovingham" in k]
    assert shows(await reporter.say("add it"), "en", "after_filing.added")
    assert shows(await reporter.say("done"), "en", "addendum_filed.prompt")
    assert run_burst_worker(service_env).returncode == 0
    reports = {r["status"]: r for r in filed(store, analyst_key)}
    assert reports["addendum"]["addendum_to"] == reports["complete"]["report_id"]
    assert reports["addendum"]["answers"]["addition"] == [correction]


async def test_a_new_report_can_be_started_instead(client: TestClient[Any, Any]) -> None:
    reporter = Phone(client)
    assert await complete_report(reporter, [])
    await reporter.say("hello again")
    assert shows(await reporter.say("2"), "en", "consent.prompt")


async def test_delete_after_filing_says_the_report_stays_filed(client: TestClient[Any, Any]) -> None:
    reporter = Phone(client)
    assert await complete_report(reporter, [])
    replies = await reporter.say("DELETE")
    assert shows(replies, "en", "deleted.filed")
    assert expect("en", "deleted") not in texts(replies)
    assert shows(await reporter.say("hello"), "en", "welcome")


async def test_no_offer_when_the_window_is_off(
    service_env: dict[str, str], aiohttp_client: Any,
) -> None:
    client = await aiohttp_client(make_app(load_settings({**service_env, "ADDITION_WINDOW": "0"})))
    reporter = Phone(client)
    assert await complete_report(reporter, [])
    replies = await reporter.say("one more thing")
    assert shows(replies, "en", "welcome") and not any(shows(replies, c, "after_filing.prompt") for c in LOCALES)

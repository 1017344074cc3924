"""A file the provider cannot hand over holds back nothing: the report is filed at once with that file
marked missing (in words), and the file is filed as an addition to the report once it arrives, once.
A file is fetched and decoded once, however many jobs want it at the same moment.
Over real HTTP (the Twilio double answering 500 for one file, or holding it back), real RQ workers,
a real store."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from bot.app import make_app
from bot.queue import make_queue
from config.settings import Settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from secure_store.console.report_page import media_item
from tests.conftest import AnalystKey, kill_worker, recover_abandoned_jobs, run_burst_worker, start_worker
from tests.contract import photo
from tests.doubles.twilio_api import TwilioApiDouble
from tests.scenario import complete_report
from tests.test_adapter_twilio import TwilioPhone, service_env, twilio_api
from workers.media_claim import CLAIM_SECONDS

__all__ = ["service_env", "twilio_api"]


def work(service_env: dict[str, str], redis_client: redis.Redis) -> None:
    """A worker runs what is due now, retries waiting for their backoff included."""
    recover_abandoned_jobs(make_queue(redis_client, service_env["QUEUE_NAME"]))
    result = run_burst_worker(service_env)
    assert result.returncode == 0, result.stderr[-2000:]


def reports(store: FileStore, analyst_key: AnalystKey) -> dict[str, dict[str, Any]]:
    opened = list_reports(store, analyst_key.load())
    assert all(o.report is not None for o in opened), [o.error for o in opened]
    return {o.report["report_id"]: o.report for o in opened if o.report is not None}


@pytest.mark.slow
async def test_a_file_the_provider_cannot_serve_is_filed_missing_then_added_once_when_it_arrives(
    settings: Settings, aiohttp_client: Any, twilio_api: TwilioApiDouble, service_env: dict[str, str],
    store: FileStore, analyst_key: AnalystKey, redis_client: redis.Redis,
) -> None:
    sms = TwilioPhone(await aiohttp_client(make_app(settings)), twilio_api, whatsapp=False)
    good, late = photo("red"), photo("blue")
    link, _ = twilio_api.add_media(late, cdn_status=500)
    gone, _ = twilio_api.add_media(photo("gray"), cdn_status=404)
    sms.also_link = [link, gone]
    await complete_report(sms, [good])
    await asyncio.to_thread(work, service_env, redis_client)

    [report] = reports(store, analyst_key).values()  # filed on time, whatever those files do
    stored, missing, refused = report["media"]
    assert stored["status"] == "stored" and open_media(store, analyst_key.load(), stored["id"]) == good
    assert refused["status"] == "refused" and "no longer available (HTTP 404)" in refused["note"]
    assert missing["status"] == "missing"
    assert "500" in missing["note"] and "addition" in missing["note"], missing["note"]
    shown = media_item(report["report_id"], missing)  # what the analyst's report page says of it
    assert "photo: missing" in shown and "media host answered 500" in shown, shown

    await asyncio.to_thread(work, service_env, redis_client)  # still failing: retried, nothing more filed
    assert len(reports(store, analyst_key)) == 1

    twilio_api.media[link.rsplit("/", 1)[1]].cdn_status = 200  # the provider serves it again
    await asyncio.to_thread(work, service_env, redis_client)
    filed = reports(store, analyst_key)
    assert len(filed) == 2
    [addition] = [r for r in filed.values() if r["report_id"] != report["report_id"]]
    assert addition["status"] == "addendum" and addition["addendum_to"] == report["report_id"]
    [added] = addition["media"]
    assert added["id"] == missing["id"] and added["status"] == "stored"
    assert open_media(store, analyst_key.load(), added["id"]) == late

    await asyncio.to_thread(work, service_env, redis_client)  # nothing left to do, nothing filed twice
    assert len(reports(store, analyst_key)) == 2
    assert list(redis_client.scan_iter("tl:m:*")) == []


def wait_for(condition: Callable[[], object], what: str) -> None:
    """Poll until `condition` holds (a safety deadline only: every wait here ends on an event)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


@pytest.mark.slow
async def test_a_file_wanted_by_its_prompt_fetch_and_its_filing_at_once_is_fetched_and_decoded_once(
    settings: Settings, aiohttp_client: Any, twilio_api: TwilioApiDouble, service_env: dict[str, str],
    store: FileStore, analyst_key: AnalystKey, redis_client: redis.Redis,
) -> None:
    sms = TwilioPhone(await aiohttp_client(make_app(settings)), twilio_api, whatsapp=False)
    data = photo("green")
    await complete_report(sms, [data])  # queued: the file's prompt fetch, then the report's filing
    [(media_sid, media)] = twilio_api.media.items()
    media.held = threading.Event()  # the provider is slow with this file: both jobs get to it at once
    first = start_worker(service_env)
    second = None
    try:
        await asyncio.to_thread(wait_for, lambda: twilio_api.cdn_requests, "the prompt fetch to ask for the file")
        second = start_worker(service_env)  # takes the filing job while the first still downloads
        await asyncio.to_thread(wait_for, lambda: len(twilio_api.cdn_requests) > 1
                                or redis_client.pubsub_channels("tl:mc:*"), "the filing job to want the file")
        assert twilio_api.cdn_requests == [media_sid], "a second worker fetched the file again"
        [claim] = redis_client.keys("tl:mc:*")
        assert 0 < redis_client.pttl(claim) <= CLAIM_SECONDS * 1000, "a claim that a crash cannot hold for long"
        media.held.set()
        await asyncio.to_thread(wait_for, lambda: list(store.names("reports/")), "the report to be filed")
    finally:
        media.held.set()
        for worker in (first, second):
            if worker is not None:
                kill_worker(worker)
    assert twilio_api.cdn_requests == [media_sid]
    [report] = reports(store, analyst_key).values()
    [entry] = report["media"]
    assert entry["status"] == "stored" and open_media(store, analyst_key.load(), entry["id"]) == data
    assert redis_client.keys("tl:mc:*") == []

"""The whole service on the web's /metrics: what real RQ worker processes did (filed, retried,
failed, how long jobs ran) and what RQ's registries hold (queue depth, the oldest waiting job,
failed jobs, a scheduler that is alive or not), plus the web's own refusals and submissions."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from bot.app import make_app
from bot.jobs import Job, seal_payload
from bot.queue import enqueue, make_queue
from config.settings import Settings, load_settings
from tests.chat import Phone as Reporter
from tests.conftest import kill_worker, run_burst_worker, start_worker
from tests.scenario import Script, complete_report


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


async def scrape(client: TestClient[Any, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on /metrics by (name, sorted labels)."""
    response = await client.get("/metrics")
    assert response.status == 200
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def queue_of(settings: Settings, redis_client: redis.Redis) -> Queue:
    return make_queue(redis_client, settings.queue_name)


async def test_a_filed_report_a_retrying_job_and_a_failed_job_are_counted_with_their_durations(
    client: TestClient[Any, Any], settings: Settings, service_env: dict[str, str], redis_client: redis.Redis,
) -> None:
    before = await scrape(client)
    await complete_report(Reporter(client), [], Script(description="Workers locked in at night"))
    queue = queue_of(settings, redis_client)
    enqueue(queue, Job.NOTIFY_ANALYSTS, "not a sealed payload", "notify-broken")  # fails, will retry
    queue.enqueue(Job.SEND_LATER.function, "not a sealed payload", job_id="no-retries")  # fails for good

    done = run_burst_worker(service_env)
    assert done.returncode == 0, done.stderr
    after = await scrape(client)

    submitted = value(after, "tipline_reports_submitted_total", status="complete") - value(
        before, "tipline_reports_submitted_total", status="complete")
    assert submitted == 1
    assert value(after, "tipline_jobs_total", job_name="file_report", outcome="succeeded") == 1
    assert value(after, "tipline_reports_filed_total") == 1
    assert value(after, "tipline_jobs_total", job_name="notify_analysts", outcome="retried") == 1
    assert value(after, "tipline_jobs_total", job_name="send_later", outcome="failed") == 1
    failed = {job_id: str(getattr(job.latest_result(), "exc_string", ""))[-300:]
              if (job := queue.fetch_job(job_id)) else "" for job_id in queue.failed_job_registry.get_job_ids()}
    assert list(failed) == ["no-retries"], failed  # (seen once as 2 on a loaded machine: says which)
    assert value(after, "tipline_jobs_failed") == 1
    assert value(after, "tipline_jobs_scheduled") >= 1  # the retry waits for its backoff
    assert value(after, "tipline_job_duration_seconds_count", job_name="file_report") == 1
    assert value(after, "tipline_job_duration_seconds_bucket", job_name="file_report", le="+Inf") == 1
    assert 0 < value(after, "tipline_job_duration_seconds_sum", job_name="file_report") < 60
    assert value(after, "tipline_queue_depth") == 0


async def test_queue_depth_and_the_age_of_the_oldest_waiting_job(
    client: TestClient[Any, Any], settings: Settings, redis_client: redis.Redis,
) -> None:
    queue = queue_of(settings, redis_client)
    for n in range(3):
        enqueue(queue, Job.SEND_LATER, seal_payload(settings.session_key, {}), f"waiting-{n}")
    oldest = queue.fetch_job("waiting-0")
    assert oldest is not None
    oldest.enqueued_at = datetime.now(UTC) - timedelta(minutes=7)  # as if no worker had run for 7 minutes
    oldest.save()

    samples = await scrape(client)
    assert value(samples, "tipline_queue_depth") == 3
    assert 7 * 60 <= value(samples, "tipline_oldest_job_age_seconds") < 8 * 60
    assert value(samples, "tipline_workers") == 0


async def test_a_scheduler_that_is_not_running_shows_and_so_do_its_overdue_jobs(
    client: TestClient[Any, Any], settings: Settings, service_env: dict[str, str], redis_client: redis.Redis,
) -> None:
    queue = queue_of(settings, redis_client)
    queue.enqueue_at(datetime.now(UTC) - timedelta(minutes=5), Job.SEND_LATER.function, "x", job_id="overdue")
    samples = await scrape(client)
    assert value(samples, "tipline_scheduler_alive") == 0
    assert value(samples, "tipline_scheduled_jobs_overdue") == 1

    worker = start_worker(service_env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            samples = await scrape(client)
            if value(samples, "tipline_scheduler_alive") == 1 and value(samples, "tipline_scheduled_jobs_overdue") == 0:
                break
            await asyncio.sleep(0.1)
        assert value(samples, "tipline_scheduler_alive") == 1
        assert value(samples, "tipline_scheduled_jobs_overdue") == 0  # the scheduler moved it on
        assert value(samples, "tipline_workers") == 1
    finally:
        kill_worker(worker)


async def test_refused_webhooks_are_counted_by_channel_and_status(
    service_env: dict[str, str], aiohttp_client: Any,
) -> None:
    env = {**service_env, "CHANNELS": "simulator,telegram", "TELEGRAM_BOT_TOKEN": "1:t",
           "TELEGRAM_WEBHOOK_SECRET": "the-right-secret-123", "TELEGRAM_API_BASE": "http://127.0.0.1:9"}
    client = await aiohttp_client(make_app(load_settings(env)))
    before = await scrape(client)
    for _ in range(2):
        forged = await client.post("/webhooks/telegram", json={"update_id": 1},
                                   headers={"X-Telegram-Bot-Api-Secret-Token": "guessed-wrong"})
        assert forged.status == 403
    assert (await client.post("/webhooks/made-up")).status in (404, 405)
    after = await scrape(client)

    def refused(**labels: str) -> float:
        return value(after, "tipline_webhook_rejected_total", **labels) - value(
            before, "tipline_webhook_rejected_total", **labels)

    assert refused(channel="telegram", reason="403") == 2
    assert not [key for key in after if key[0] == "tipline_webhook_rejected_total" and "made-up" in str(key)]


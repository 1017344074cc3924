"""A worker killed with SIGKILL at several points of filing leaves, after RQ's own retry, exactly one
complete report: never none, never two, never one whose media are missing."""

from __future__ import annotations

import os
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
from tests.conftest import (
    AnalystKey,
    filing_jobs_running,
    kill_worker,
    recover_abandoned_jobs,
    run_burst_worker,
    start_worker,
)
from tests.scenario import complete_report
from tests.test_adapter_simulator import SimulatorPhone

MB = 1024 * 1024


def media_count(store: FileStore) -> int:
    return len(list(store.names("media/")))


POINTS: dict[str, Callable[[FileStore], bool]] = {
    "while fetching the first media": lambda store: False,
    "after one media object": lambda store: media_count(store) >= 1,
    "after two media objects": lambda store: media_count(store) >= 2,
    "after every media object": lambda store: media_count(store) >= 3,
}


class PdfPhone(SimulatorPhone):
    """Sends its 'photos' as large PDFs, so that filing takes long enough to be interrupted."""

    file_type, file_kind = "application/pdf", "document"


@pytest.mark.slow
@pytest.mark.parametrize("point", list(POINTS))
async def test_a_worker_killed_during_filing_files_exactly_once_on_retry(
    point: str, settings: Settings, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis, aiohttp_client: Any,
) -> None:
    documents = [b"%PDF-1.7\n" + os.urandom(5 * MB) for _ in range(3)]
    await complete_report(PdfPhone(await aiohttp_client(make_app(settings))), documents)

    queue = make_queue(redis_client, service_env["QUEUE_NAME"])
    worker = start_worker(service_env)
    reached = POINTS[point]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            filing_jobs_running(queue) and (reached(store) or point.startswith("while"))):
        time.sleep(0.002)
    kill_worker(worker)
    reports_at_kill = list(store.names("reports/"))
    assert not reports_at_kill or media_count(store) == 3, "a report was visible before all its media"
    if point != "after every media object":  # the report follows the last media at once; it may be written
        assert not reports_at_kill, "killed before filing was done"
    if point.startswith("while"):
        assert media_count(store) < 3, "killed before the media were all stored"
    # (media are fetched by their own jobs as they arrive, then the report by `file_report`: the
    # later points may land inside a job or between two; either must end in one complete report)

    recover_abandoned_jobs(queue)  # RQ's own recovery of an abandoned job, without its waiting
    assert run_burst_worker(service_env).returncode == 0
    assert run_burst_worker(service_env).returncode == 0

    reports = list_reports(store, analyst_key.load())
    assert len(reports) == 1 and reports[0].report is not None
    media = reports[0].report["media"]
    assert [open_media(store, analyst_key.load(), m["id"]) for m in media] == documents
    assert media_count(store) == 3
    assert list(redis_client.scan_iter("tl:m:*")) == []  # status records cleaned up after filing

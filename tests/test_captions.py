"""A caption sent with a file is kept with that file: shown in the review and filed for analysts.
Over the simulator, a real RQ worker and the sealed store."""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from bot.app import make_app
from config.settings import Settings
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from tests.chat import Phone, texts
from tests.conftest import AnalystKey, run_burst_worker
from tests.scenario import shows, walk_to


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), "red").save(buffer, "JPEG")
    return buffer.getvalue()


async def test_a_caption_is_shown_in_the_review_and_filed_with_its_file(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    reporter = Phone(client)
    await walk_to(reporter, "media")
    assert shows(await reporter.photo(jpeg(), caption="the grey van they use"), "en", "media.captioned")
    await reporter.say("done")
    await reporter.say("no")
    review = texts(await reporter.say("no"))
    assert "Files: 1 (the grey van they use)" in review
    await reporter.say("yes")
    assert run_burst_worker(service_env).returncode == 0
    [report] = [r.report for r in list_reports(store, analyst_key.load()) if r.report is not None]
    assert [(m["status"], m.get("caption")) for m in report["media"]] == [("stored", "the grey van they use")]

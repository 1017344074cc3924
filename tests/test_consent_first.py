"""Consent first: a file sent before the reporter agrees is only a reference; it is fetched after
consent, or dropped with the draft if they decline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import make_app
from config.settings import Settings
from secure_store.backends import FileStore
from tests.chat import Reporter
from tests.conftest import run_burst_worker
from tests.media_samples import pdf_with_author


def stored_objects(store: FileStore) -> list[Path]:
    return [p for p in Path(store.root).rglob("*") if p.is_file()]


async def test_a_file_sent_before_consent_is_not_fetched_and_goes_with_a_no(
    settings: Settings, service_env: dict[str, str], store: FileStore, aiohttp_client: Any,
) -> None:
    reporter = Reporter(await aiohttp_client(make_app(settings)), language="en")
    media = await reporter.upload(pdf_with_author(), "application/pdf")
    await reporter.say("look at this", media=[media])
    uploads = settings.var_dir / "simulator" / "uploads"
    assert run_burst_worker(service_env).returncode == 0
    assert stored_objects(store) == [], "nothing is fetched before the reporter agrees"
    assert (uploads / media["id"]).exists(), "held as a reference at the provider"
    await reporter.say("no")
    assert run_burst_worker(service_env).returncode == 0
    assert stored_objects(store) == []
    assert not (uploads / media["id"]).exists(), "dropped with the draft"


async def test_a_file_sent_before_consent_is_fetched_once_they_agree(
    settings: Settings, service_env: dict[str, str], store: FileStore, aiohttp_client: Any,
) -> None:
    reporter = Reporter(await aiohttp_client(make_app(settings)), language="en")
    media = await reporter.upload(pdf_with_author(), "application/pdf")
    await reporter.say("hello", media=[media])
    await reporter.say("yes")
    assert run_burst_worker(service_env).returncode == 0
    assert len(stored_objects(store)) == 1, "fetched and sealed right after consent"

"""A file the provider cannot serve yet, and a file two jobs want at once (tests/test_media_late.py),
with the service writing Redis format 1 (REDIS_FORMAT=1, what a deploy coming from v0.1.0 runs for a
while): a media status key per file. The same tests run in format 2, the default, as written."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from config.settings import Settings
from secure_store.backends import FileStore
from tests import test_media_late as late
from tests.conftest import AnalystKey
from tests.doubles.twilio_api import TwilioApiDouble
from tests.test_adapter_twilio import service_env, twilio_api

__all__ = ["service_env", "twilio_api"]


@pytest.mark.slow
@pytest.mark.redis_format(1)
async def test_in_format_1_a_file_the_provider_cannot_serve_is_filed_missing_then_added_once(
    settings: Settings, aiohttp_client: Any, twilio_api: TwilioApiDouble, service_env: dict[str, str],
    store: FileStore, analyst_key: AnalystKey, redis_client: redis.Redis,
) -> None:
    assert settings.redis_format == 1
    await late.test_a_file_the_provider_cannot_serve_is_filed_missing_then_added_once_when_it_arrives(
        settings, aiohttp_client, twilio_api, service_env, store, analyst_key, redis_client)


@pytest.mark.slow
@pytest.mark.redis_format(1)
async def test_in_format_1_a_file_wanted_by_two_jobs_at_once_is_fetched_once(
    settings: Settings, aiohttp_client: Any, twilio_api: TwilioApiDouble, service_env: dict[str, str],
    store: FileStore, analyst_key: AnalystKey, redis_client: redis.Redis,
) -> None:
    assert settings.redis_format == 1
    await late.test_a_file_wanted_by_its_prompt_fetch_and_its_filing_at_once_is_fetched_and_decoded_once(
        settings, aiohttp_client, twilio_api, service_env, store, analyst_key, redis_client)

"""Operators enable channels by name: built-ins, the `tipline.adapters` entry-point group, or a dotted path."""

from __future__ import annotations

import dataclasses
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.registry import load_adapters
from bot.app import make_app
from config.settings import Settings, SettingsError, load_settings
from tests.example_channel import SIGNATURE_HEADER, WebchatAdapter, sign

SECRET = "a-long-webchat-secret"


@pytest.fixture
def webchat_settings(service_env: dict[str, str]) -> Settings:
    """The service's settings with the example channel's own setting, as an operator sets it."""
    return load_settings({**service_env, "WEBCHAT_SECRET": SECRET})


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[None]:
    """A real installed distribution (dist-info on sys.path) that declares the entry point."""
    dist = tmp_path / "site" / "tipline_webchat-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tipline-webchat\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[tipline.adapters]\nwebchat = tests.example_channel:WebchatAdapter\n"
    )
    sys.path.insert(0, str(tmp_path / "site"))
    yield
    sys.path.remove(str(tmp_path / "site"))


def test_an_adapter_reads_its_own_settings_under_its_name() -> None:
    settings = load_settings({"TIPLINE_ENV": "test", "WEBCHAT_SECRET": SECRET, "WEBCHAT_ROOM": "b",
                              "WEBCHATTER_SECRET": "another adapter's"})
    assert settings.for_adapter("webchat") == {"SECRET": SECRET, "ROOM": "b"}
    assert SECRET not in repr(settings)


def test_channels_load_by_dotted_path(webchat_settings: Settings) -> None:
    configured = dataclasses.replace(webchat_settings, channels=("simulator", "tests.example_channel:WebchatAdapter"))
    adapters = load_adapters(configured)
    assert sorted(adapters) == ["simulator", "webchat"]
    assert isinstance(adapters["webchat"], WebchatAdapter)


def test_channels_load_by_entry_point(webchat_settings: Settings, installed_plugin: None) -> None:
    adapters = load_adapters(dataclasses.replace(webchat_settings, channels=("webchat",)))
    assert isinstance(adapters["webchat"], WebchatAdapter)


def test_an_unknown_channel_is_a_one_line_error(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="unknown channel 'fax'"):
        load_adapters(dataclasses.replace(settings, channels=("fax",)))


def test_a_channel_missing_its_secret_is_a_one_line_error(settings: Settings) -> None:
    assert "WEBCHAT_SECRET" not in settings.adapter_env
    with pytest.raises(SettingsError, match="WEBCHAT_SECRET"):
        load_adapters(dataclasses.replace(settings, channels=("tests.example_channel:WebchatAdapter",)))


async def test_the_example_channel_talks_to_the_bot(
    webchat_settings: Settings, aiohttp_client: Any
) -> None:
    app = make_app(dataclasses.replace(webchat_settings, channels=("tests.example_channel:WebchatAdapter",)))
    client: TestClient[Any, Any] = await aiohttp_client(app)
    visitor = str(uuid.uuid4())

    async def post(text: str, secret: str = SECRET) -> Any:
        body = json.dumps({"visitor": visitor, "id": str(uuid.uuid4()), "text": text}).encode()
        return await client.post("/webhooks/webchat", data=body,
                                 headers={SIGNATURE_HEADER: sign(secret.encode(), body)})

    first = await post("hello")
    assert first.status == 200
    replies = (await first.json())["replies"]
    assert any("1. " in r for r in replies)
    assert (await post("hello", secret="not-the-secret-at-all")).status == 403
    assert (await client.get("/simulator")).status == 404  # only the configured channels are mounted

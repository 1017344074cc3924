"""The simulator passes the adapter contract (it is the reference adapter for dev)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from adapters.base import Choice, Reply
from adapters.simulator import SimulatorAdapter
from bot.app import make_app
from config.settings import Settings, SettingsError, load_settings
from tests.chat import later, rendered
from tests.contract import AdapterContract


class SimulatorPhone:
    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.sender = f"sim-{uuid.uuid4()}"
        self.last: dict[str, Any] | None = None

    async def _post(self, body: dict[str, Any]) -> list[str]:
        self.last = body
        response = await self.client.post("/simulator/api/message", json=body)
        assert response.status == 200, await response.text()
        return rendered((await response.json())["replies"])

    def _body(self, **fields: Any) -> dict[str, Any]:
        return {"sender": self.sender, "message_id": str(uuid.uuid4()), "kind": "whatsapp", **fields}

    async def say(self, text: str) -> list[str]:
        return await self._post(self._body(text=text))

    file_type, file_kind = "image/jpeg", "photo"
    """What `photo` sends its bytes as (a subclass may send documents instead)."""

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]:
        form = FormData()
        form.add_field("file", data, filename="attachment", content_type=self.file_type)
        upload = await (await self.client.post("/simulator/api/upload", data=form)).json()
        media = [{"id": upload["id"], "content_type": self.file_type, "kind": self.file_kind}]
        return await self._post(self._body(text=caption, media=media)) or rendered(
            await later(self.client, self.sender))

    async def location(self, latitude: float, longitude: float) -> list[str]:
        return await self._post(self._body(location={"latitude": latitude, "longitude": longitude}))

    async def redeliver(self) -> list[str]:
        assert self.last is not None
        return await self._post(self.last)

    async def forged(self) -> int:
        raise NotImplementedError("the simulator has no authentication; production refuses it")

    async def malformed(self) -> list[int]:
        statuses = []
        for body in (b"{not json", b"[]", b'{"sender": 5, "message_id": "x"}',
                     b'{"sender": "sim-12345678", "message_id": "m", "location": {"latitude": "north"}}',
                     b'{"sender": "sim-12345678", "message_id": "m", "media": [{"id": "../../etc/passwd"}]}'):
            response = await self.client.post("/simulator/api/message", data=body,
                                              headers={"Content-Type": "application/json"})
            statuses.append(response.status)
        response = await self.client.post("/simulator/api/upload", data=b"x", headers={"Content-Type": "text/plain"})
        statuses.append(response.status)
        return statuses


class TestSimulatorContract(AdapterContract):
    @pytest.fixture
    async def reporter(self, settings: Settings, aiohttp_client: Any) -> SimulatorPhone:
        return SimulatorPhone(await aiohttp_client(make_app(settings)))

    async def test_unauthenticated_requests_are_refused_and_leave_nothing(  # type: ignore[override]
        self, service_env: dict[str, str]
    ) -> None:
        """The simulator has no authentication, so production refuses to run it at all."""
        env = {**service_env, "TIPLINE_ENV": "production", "PUBLIC_BASE_URL": "https://tips.example.org"}
        with pytest.raises(SettingsError, match="simulator"):
            load_settings(env)


async def test_later_messages_reach_the_page_through_its_outbox(settings: Settings, aiohttp_client: Any) -> None:
    client = await aiohttp_client(make_app(settings))
    phone = SimulatorPhone(client)
    await SimulatorAdapter(settings).send(phone.sender, [Reply("Are you still there?", (Choice("yes", "Yes"),))])
    first = await (await client.post("/simulator/api/outbox", json={"sender": phone.sender})).json()
    assert first["replies"] == [{"text": "Are you still there?", "rtl": False, "shape": "buttons",
                                 "choices": [{"key": "yes", "label": "Yes"}]}]
    again = await (await client.post("/simulator/api/outbox", json={"sender": phone.sender})).json()
    assert again["replies"] == [], "each message is shown once"


async def test_a_phone_country_must_be_a_country_code(settings: Settings, aiohttp_client: Any) -> None:
    client = await aiohttp_client(make_app(settings))
    body = {"sender": "sim-12345678", "message_id": "m1", "kind": "sms", "text": "hello", "country": "gb'--"}
    response = await client.post("/simulator/api/message", json=body)
    assert response.status == 400
    assert "country" in await response.text()

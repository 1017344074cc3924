"""A scripted reporter for the simulator channel, over real HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiohttp import ClientSession, FormData
from aiohttp.test_utils import TestClient


class Reporter:
    """A reporter on the simulator; `say` returns the simulator's reply objects (text, choices, rtl)."""

    def __init__(self, client: TestClient[Any, Any] | WebProcess, sender: str | None = None, kind: str = "whatsapp",
                 language: str | None = None) -> None:
        self.client = client
        self.sender = sender or f"sim-{uuid.uuid4()}"
        self.kind = kind
        self.language = language

    async def send(self, text: str | None = None, message_id: str | None = None,
                   **extra: Any) -> list[dict[str, Any]]:
        body = {"sender": self.sender, "message_id": message_id or str(uuid.uuid4()), "kind": self.kind,
                "text": text, **extra}
        if self.language:
            body.setdefault("language", self.language)
        response = await self.client.post("/simulator/api/message", json=body)
        assert response.status == 200, await response.text()
        replies: list[dict[str, Any]] = (await response.json())["replies"]
        return replies

    async def say(self, text: str | None = None, message_id: str | None = None,
                  **extra: Any) -> list[dict[str, Any]]:
        return await self.send(text, message_id, **extra)

    async def later(self, within: float = 5.0, count: int = 1) -> list[dict[str, Any]]:
        return await later(self.client, self.sender, self.kind, within, count)

    async def upload(self, data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
        form = FormData()
        form.add_field("file", data, filename="photo", content_type=content_type)
        response = await self.client.post("/simulator/api/upload", data=form)
        assert response.status == 200, await response.text()
        info: dict[str, Any] = await response.json()
        kind = "photo" if content_type.startswith("image/") else "document"
        return {"id": info["id"], "content_type": content_type, "kind": kind}


class WebProcess:
    """A web process running on its own, as the scripted reporter's client (`post(path, ...)` like
    aiohttp's TestClient), for tests and benchmarks that drive the real `tipline serve`."""

    def __init__(self, session: ClientSession, base: str) -> None:
        self.session, self.base = session, base

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.session.post(self.base + path, **kwargs)


class Phone(Reporter):
    """The same reporter as a scenario `Channel`: replies as the reporter reads them, choices as
    "N. label" lines."""

    async def say(self, text: str | None = None, message_id: str | None = None,  # type: ignore[override]
                  **extra: Any) -> list[str]:
        return rendered(await self.send(text, message_id, **extra))

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]:
        """Send a file; a file alone is answered a moment later, as one answer per album."""
        media = await self.upload(data)
        replies = await self.say(caption, media=[media])
        return replies or rendered(await self.later())

    async def location(self, latitude: float, longitude: float) -> list[str]:
        return await self.say(location={"latitude": latitude, "longitude": longitude})


async def later(client: TestClient[Any, Any] | WebProcess, sender: str, kind: str = "whatsapp",
                within: float = 5.0, count: int = 1) -> list[dict[str, Any]]:
    """What reaches a page's reporter after their request was answered (an album's one answer, sent
    ALBUM_QUIET_MS after its last file; a kept message's replies): the outbox the page polls, waited
    for up to `within` s until `count` replies have arrived."""
    arrived: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    while True:
        response = await client.post("/simulator/api/outbox", json={"sender": sender, "kind": kind})
        assert response.status == 200, await response.text()
        arrived += (await response.json())["replies"]
        if len(arrived) >= count or time.monotonic() > deadline:
            return arrived
        await asyncio.sleep(0.05)


def rendered(replies: list[dict[str, Any]]) -> list[str]:
    """Bubbles as read: tappable choices as "N. label" lines (text-only bubbles are numbered already)."""
    return [r["text"] + ("" if r.get("shape") in ("text", "sms") else
                         "".join(f"\n{i}. {c['label']}" for i, c in enumerate(r["choices"], 1)))
            for r in replies]


def texts(replies: list[str] | list[dict[str, Any]]) -> str:
    return "\n".join(r if isinstance(r, str) else rendered([r])[0] for r in replies)

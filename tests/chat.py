"""A scripted reporter for the simulator channel, over real HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient


class Reporter:
    def __init__(self, client: TestClient[Any, Any], sender: str | None = None, kind: str = "whatsapp") -> None:
        self.client = client
        self.sender = sender or f"sim-{uuid.uuid4()}"
        self.kind = kind

    async def say(self, text: str | None = None, message_id: str | None = None, **extra: Any) -> list[dict[str, Any]]:
        body = {"sender": self.sender, "message_id": message_id or str(uuid.uuid4()), "kind": self.kind,
                "text": text, **extra}
        response = await self.client.post("/simulator/api/message", json=body)
        assert response.status == 200, await response.text()
        replies: list[dict[str, Any]] = (await response.json())["replies"]
        return replies

    async def upload(self, data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
        form = FormData()
        form.add_field("file", data, filename="photo", content_type=content_type)
        response = await self.client.post("/simulator/api/upload", data=form)
        assert response.status == 200, await response.text()
        info: dict[str, Any] = await response.json()
        kind = "photo" if content_type.startswith("image/") else "document"
        return {"id": info["id"], "content_type": content_type, "kind": kind}


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)

"""A test channel that can be reached later: what the service sends outside a webhook response
(reminders) is appended to `<var>/outbox.jsonl`. Enabled with
`CHANNELS=tests.outbox_channel:OutboxAdapter`; it speaks the simulator's JSON otherwise."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from adapters.base import Handler, Inbound, MediaLimits, MediaRef, MediaRefused, Reply
from config.settings import Settings


class OutboxAdapter:
    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.outbox = settings.var_dir / "outbox.jsonl"

    def routes(self, handle: Handler) -> list[web.RouteDef]:
        async def message(request: web.Request) -> web.Response:
            data: Any = await request.json()
            replies = await handle(Inbound(adapter=self.name, sender=str(data["sender"]),
                                           message_id=str(data["id"]), text=data.get("text"), medium="sms"))
            return web.json_response({"replies": [r.text for r in replies]})

        return [web.post("/outbox/message", message)]

    async def send(self, address: str, replies: list[Reply]) -> None:
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a") as handle:
            for reply in replies:
                handle.write(json.dumps({"address": address, "text": reply.text}) + "\n")

    async def fetch_media(self, ref: MediaRef, limits: MediaLimits) -> tuple[bytes, str]:
        raise MediaRefused("the outbox channel carries no files")

    async def discard_media(self, ref: MediaRef) -> None:
        return None

    async def discard_messages(self, message_ids: list[str], address: str | None) -> None:
        """Nothing to do: the outbox keeps no messages."""

    async def close(self) -> None:
        return None

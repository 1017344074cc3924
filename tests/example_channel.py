"""A small third-party channel, written only against the public adapter interface.

It is the worked example of docs/adapters.md: a partner's web chat widget POSTs JSON signed with
HMAC-SHA256 (`X-Webchat-Signature`), and gets the replies back in the response. It lives outside
`adapters/` on purpose: operators enable it with `CHANNELS=tests.example_channel:WebchatAdapter`
or through the `tipline.adapters` entry-point group, without touching tipline's code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aiohttp import web

from adapters.base import Handler, Inbound, MediaLimits, MediaRef, MediaRefused, Reply
from config.settings import Settings, SettingsError

SIGNATURE_HEADER = "X-Webchat-Signature"


def sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebchatAdapter:
    name = "webchat"

    def __init__(self, settings: Settings) -> None:
        secret = settings.for_adapter(self.name).get("SECRET", "")
        if len(secret) < 16:
            raise SettingsError("WEBCHAT_SECRET (16+ characters) is required by the webchat channel")
        self.secret = secret.encode()
        self.max_text = settings.max_text_chars

    def routes(self, handle: Handler) -> list[web.RouteDef]:
        async def webhook(request: web.Request) -> web.Response:
            body = await request.read()
            given = request.headers.get(SIGNATURE_HEADER, "")
            if not hmac.compare_digest(given, sign(self.secret, body)):
                raise web.HTTPForbidden(text="bad signature")
            try:
                data: Any = json.loads(body)
                inbound = Inbound(
                    adapter=self.name,
                    sender=str(data["visitor"]),
                    message_id=str(data["id"]),
                    text=str(data.get("text") or "")[: self.max_text] or None,
                    choice=data.get("choice") if isinstance(data.get("choice"), str) else None,
                    medium="webchat",
                )
            except (ValueError, KeyError, TypeError):
                raise web.HTTPBadRequest(text="expected JSON with visitor, id and text") from None
            replies = await handle(inbound)
            return web.json_response({"replies": [self.render(r) for r in replies]})

        return [web.post("/webhooks/webchat", webhook)]

    def render(self, reply: Reply) -> str:
        """Text fallback for choices: a numbered list the visitor can answer with a number."""
        lines = [reply.text] + [f"{i}. {c.label}" for i, c in enumerate(reply.choices, 1)]
        return "\n".join(lines)

    async def send(self, address: str, replies: list[Reply]) -> None:
        """This widget cannot be reached later; a real channel would call its provider here."""

    async def fetch_media(self, ref: MediaRef, limits: MediaLimits) -> tuple[bytes, str]:
        raise MediaRefused("the webchat channel does not accept files")

    async def discard_media(self, ref: MediaRef) -> None:
        return None

    async def discard_messages(self, message_ids: list[str], address: str | None) -> None:
        """This widget keeps no messages; a real channel would delete them at its provider here."""

    async def close(self) -> None:
        return None

"""The simulator: a local web page where a person chats with the bot as a reporter would.

Dev only (production refuses it). It speaks plain JSON: the page posts a message and gets the
replies back, shaped as the chosen channel shows them (`adapters.simulator_look`); uploads are kept
under var/simulator until a worker has filed them. The Telegram look behaves as a Telegram chat does:
it can erase both sides of the conversation at the end, and it passes no phone country.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from adapters.base import Handler, Inbound, Location, MediaLimits, MediaRef, MediaRefused, Question, Reply
from adapters.simulator_look import look
from config.settings import Settings

PAGE = Path(__file__).with_name("simulator.html")
_ID = re.compile(r"^[0-9a-f]{32}$")
KINDS = ("whatsapp", "sms", "telegram")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def checked_sender(sender: object) -> str:
    """The page's random reporter id, or a 400."""
    if not isinstance(sender, str) or not 8 <= len(sender) <= 64:
        raise web.HTTPBadRequest(text="sender must be a string of 8-64 characters")
    return sender


class PageChat:
    """The page as a Telegram chat: replies get ids, and erasing names the bubbles to remove. Replies
    sent after the page's request was answered (an album's one answer) wait in the outbox, as on a
    phone they would arrive later."""

    can_erase = True

    def __init__(self, later: Callable[[list[Reply]], Awaitable[None]]) -> None:
        self.bubbles: list[dict[str, Any]] = []
        self.erased: list[str] = []
        self.later = later
        self.answered = False

    async def send(self, replies: list[Reply]) -> list[str]:
        if self.answered:
            await self.later(replies)
            return []
        ids = []
        for bubble in look(replies, "telegram"):
            bubble["id"] = f"bot-{secrets.token_hex(6)}"
            ids.append(bubble["id"])
            self.bubbles.append(bubble)
        return ids

    async def erase(self, message_ids: list[str]) -> None:
        self.erased.extend(message_ids)


class SimulatorAdapter:
    """Built-in adapter `simulator`."""

    name = "simulator"

    def __init__(self, settings: Settings) -> None:
        self.uploads = settings.var_dir / "simulator" / "uploads"
        self.outbox = settings.var_dir / "simulator" / "outbox"
        self.max_media_bytes = settings.max_media_bytes
        self.max_text = settings.max_text_chars

    def routes(self, handle: Handler) -> list[web.RouteDef]:
        async def page(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})

        async def message(request: web.Request) -> web.Response:
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                raise web.HTTPBadRequest(text="body must be JSON") from None
            inbound = self.parse(body)
            if inbound.medium != "simulator:telegram":
                return web.json_response({"replies": look(await handle(inbound), inbound.medium.split(":")[1])})
            chat = PageChat(functools.partial(self.send, inbound.sender))
            await handle(inbound, chat)
            chat.answered = True
            return web.json_response({"replies": chat.bubbles, "erase": chat.erased})

        async def upload(request: web.Request) -> web.Response:
            return web.json_response(await self.save_upload(request))

        async def outbox(request: web.Request) -> web.Response:
            """The page's later messages; the sender goes in the body, never in a URL an access log keeps."""
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                raise web.HTTPBadRequest(text="body must be JSON") from None
            if not isinstance(body, dict):
                raise web.HTTPBadRequest(text="body must be a JSON object")
            kind = body.get("kind", "whatsapp")
            return web.json_response({"replies": self.take_outbox(checked_sender(body.get("sender")),
                                                                  kind if isinstance(kind, str) else "whatsapp")})

        return [
            web.get("/simulator", page),
            web.post("/simulator/api/message", message),
            web.post("/simulator/api/upload", upload),
            web.post("/simulator/api/outbox", outbox),
        ]

    def parse(self, body: Any) -> Inbound:
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        sender, message_id = checked_sender(body.get("sender")), body.get("message_id")
        if not isinstance(message_id, str) or not 1 <= len(message_id) <= 64:
            raise web.HTTPBadRequest(text="message_id must be a string of 1-64 characters")
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise web.HTTPBadRequest(text="text must be a string")
        location = None
        if isinstance(body.get("location"), dict):
            try:
                lat, lon = float(body["location"]["latitude"]), float(body["location"]["longitude"])
            except (KeyError, TypeError, ValueError):
                raise web.HTTPBadRequest(text="location needs numeric latitude and longitude") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise web.HTTPBadRequest(text="location out of range")
            location = Location(lat, lon)
        media = []
        items = body.get("media") or []
        if not isinstance(items, list):
            raise web.HTTPBadRequest(text="media must be a list")
        for item in items:
            if not isinstance(item, dict) or not _ID.match(str(item.get("id", ""))):
                raise web.HTTPBadRequest(text="media items need an upload id")
            if not isinstance(item.get("content_type"), str | None):
                raise web.HTTPBadRequest(text="a media item's content_type must be a string")
            media.append(
                MediaRef(self.name, item["id"], kind=str(item.get("kind") or "photo"),
                         content_type=item.get("content_type"))
            )
        phone = str(body["kind"]) if body.get("kind") in KINDS else "whatsapp"
        kind = f"simulator:{phone}"  # analysts must never mistake a simulated report for a real one
        choice = body.get("choice") if isinstance(body.get("choice"), str) else None
        country = body.get("country")
        if country is not None and (not isinstance(country, str) or not _COUNTRY.match(country)):
            raise web.HTTPBadRequest(text="country must be two capital letters (ISO 3166-1), or left out")
        if phone == "telegram":
            country = None  # Telegram tells a bot no phone number, so no country
        return Inbound(
            adapter=self.name,
            sender=sender,
            message_id=message_id,
            text=text[: self.max_text] if text else None,
            media=tuple(media),
            location=location,
            choice=choice,
            medium=kind,
            language_hint=body.get("language") if isinstance(body.get("language"), str) else None,
            country_hint=country,
            provider_message_ids=(message_id,) if phone == "telegram" else (),
        )

    async def save_upload(self, request: web.Request) -> dict[str, Any]:
        if not request.content_type.startswith("multipart/"):
            raise web.HTTPBadRequest(text="upload must be multipart/form-data with a `file` field")
        reader = await request.multipart()
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != "file":
            raise web.HTTPBadRequest(text="upload must have a `file` field")
        content_type = part.headers.get("Content-Type", "application/octet-stream")
        upload_id = secrets.token_hex(16)
        self.uploads.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.uploads / upload_id
        size = 0
        with path.open("wb") as handle:
            while chunk := await part.read_chunk(65536):
                size += len(chunk)
                if size > self.max_media_bytes:
                    handle.close()
                    path.unlink()
                    raise web.HTTPRequestEntityTooLarge(max_size=self.max_media_bytes, actual_size=size)
                handle.write(chunk)
        (self.uploads / f"{upload_id}.meta").write_text(json.dumps({"content_type": content_type}))
        return {"id": upload_id, "content_type": content_type, "size": size}

    def _outbox(self, address: str) -> Path:
        return self.outbox / f"{hashlib.sha256(address.encode()).hexdigest()[:32]}.jsonl"

    async def send(self, address: str, replies: list[Reply]) -> None:
        """Later messages (reminders, replies sent after an outage) wait in an outbox the page polls;
        the page shapes them for the channel it shows."""
        self.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._outbox(address).open("a", encoding="utf-8") as handle:
            for reply in replies:
                handle.write(json.dumps(reply.to_dict()) + "\n")

    async def ask(self, address: str, question: Question) -> str:
        """An analyst's question waits in the outbox like any later message (the page shows it)."""
        await self.send(address, [Reply(question.text, rtl=question.rtl)])
        return "message"

    def take_outbox(self, address: str, kind: str = "whatsapp") -> list[dict[str, Any]]:
        path = self._outbox(address)
        taken = path.with_suffix(".taking")
        try:
            path.rename(taken)
        except FileNotFoundError:
            return []
        items = [Reply.from_dict(json.loads(line)) for line in taken.read_text(encoding="utf-8").splitlines() if line]
        taken.unlink()
        return look(items, kind if kind in KINDS else "whatsapp")

    async def fetch_media(self, ref: MediaRef, limits: MediaLimits) -> tuple[bytes, str]:
        if not _ID.match(ref.locator):
            raise MediaRefused("unknown upload")
        path = self.uploads / ref.locator
        try:
            meta = json.loads((self.uploads / f"{ref.locator}.meta").read_text())
            size = path.stat().st_size
        except (OSError, ValueError):
            raise MediaRefused("upload is no longer available") from None
        if size > limits.max_bytes:
            raise MediaRefused(f"file is larger than {limits.max_bytes} bytes")
        content_type = str(meta.get("content_type", "application/octet-stream")).split(";")[0].strip()
        if content_type not in limits.allowed_types:
            raise MediaRefused(f"files of type {content_type} are not accepted")
        return path.read_bytes(), content_type

    async def discard_media(self, ref: MediaRef) -> None:
        if _ID.match(ref.locator):
            (self.uploads / ref.locator).unlink(missing_ok=True)
            (self.uploads / f"{ref.locator}.meta").unlink(missing_ok=True)

    async def discard_messages(self, message_ids: list[str], address: str | None) -> None:
        """Nothing to do: the simulator keeps no messages."""

    async def close(self) -> None:
        return None

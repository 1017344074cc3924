"""Built-in adapter `telegram`: the Bot API webhook, replies as POSTs over kept-alive connections
(`adapters.telegram_api`, `adapters.http_origin`), updates read straight from their JSON
(`adapters.telegram_parse`), media fetched with `getFile` from `TELEGRAM_API_BASE` (the cloud Bot API
or a local Bot API server).
The webhook's own response carries one Bot API call, which costs no request of ours: a button
press's acknowledgement (`answerCallbackQuery`), or, with `TELEGRAM_WEBHOOK_REPLIES=on`, the last
message of the replies (see `webhook_replies` for what that trades).

`POST /webhooks/telegram` answers 403 unless `X-Telegram-Bot-Api-Secret-Token` matches, 400/413 for
bodies Telegram would never send, and 200 for everything authentic, used or not: Telegram re-delivers
anything else until it gets a 2xx, and a backlog would hold up every reporter behind it.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Forbidden
from telegram.request import HTTPXRequest

from adapters.base import Handler, MediaLimits, MediaRef, MediaRefused, NotDelivered, Question, Reply, Undeliverable
from adapters.telegram_api import BotApi
from adapters.telegram_parse import CHANNEL, Parsed, to_inbound
from adapters.telegram_send import DeliveryFailed, messages_of, send_messages, send_replies
from config.errors import Transient
from config.settings import Settings, SettingsError

log = logging.getLogger("tipline.telegram")

os.environ.setdefault("PTB_TIMEDELTA", "1")  # PTB reads it per call: retry_after as timedelta, not deprecated int

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
WEBHOOK_PATH = "/webhooks/telegram"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_FILE_ID = re.compile(r"^[A-Za-z0-9_-]{1,512}$")
_FILE_PATH = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")
_CHUNK = 64 * 1024
_SWITCH = {"": False, "off": False, "0": False, "false": False, "no": False,
           "on": True, "1": True, "true": True, "yes": True}
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
MAX_ERASE_SPAN = 2000

# PTB logs request parameters (chat ids, texts) at DEBUG and httpx logs URLs, which hold the bot
# token, at INFO: neither may reach the service's logs.
for _noisy in ("telegram", "httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


def make_bot(settings: Settings) -> tuple[Bot, list[HTTPXRequest]]:
    """A PTB `Bot` for `settings.telegram_api_base` (set-up commands), with the request objects
    the caller must shut down."""
    api = settings.telegram_api_base
    requests = [HTTPXRequest(connection_pool_size=32), HTTPXRequest()]
    bot = Bot(settings.telegram_bot_token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot",
              request=requests[0], get_updates_request=requests[1])
    return bot, requests


def webhook_replies(settings: Settings) -> bool:
    """`TELEGRAM_WEBHOOK_REPLIES`: off (the default) or on. On, the last message of each answer to a
    message travels in the webhook's response, and "erase this chat" then deletes every id between the
    conversation's first and last known messages, since Telegram never tells the id of a message sent
    that way. That relies on numbering Telegram does not promise (its Bot API maintainer: "never do any
    arithmetic operations on message identifiers", tdlib/telegram-bot-api#403); and a bot account
    numbers the messages of all its private chats from one counter, so on a busy bot the span passes
    `MAX_ERASE_SPAN` and those replies are not erased. Off keeps the erase exact."""
    value = settings.for_adapter(CHANNEL).get("WEBHOOK_REPLIES", "").strip().lower()
    if value not in _SWITCH:
        raise SettingsError("TELEGRAM_WEBHOOK_REPLIES must be on or off")
    return _SWITCH[value]


def check_settings(settings: Settings) -> None:
    webhook_replies(settings)
    if not settings.telegram_bot_token:
        raise SettingsError("TELEGRAM_BOT_TOKEN is required when telegram is enabled (from @BotFather)")
    if not _SECRET.match(settings.telegram_webhook_secret):
        raise SettingsError(
            "TELEGRAM_WEBHOOK_SECRET is required when telegram is enabled: 1-256 characters of A-Z, a-z, 0-9, _ or -"
        )


class FileUnavailable(Transient):
    """The file server failed for now; the filing job retries. Its message never holds the URL (it holds the token)."""


async def delete_messages(api: BotApi, chat_id: int, message_ids: list[int]) -> int:
    """Delete messages of a private chat (both sides: the reporter's phone may be searched), in
    batches of 100. Bots may delete any message of a private chat younger than 48 hours; older ones
    stay, and Telegram says nothing about which. Returns how many ids were asked for (0 if the
    reporter blocked the bot); raises on an outage."""
    ids = sorted(set(message_ids))
    for start in range(0, len(ids), DELETE_BATCH):
        try:
            await api.call("deleteMessages", {"chat_id": chat_id, "message_ids": ids[start:start + DELETE_BATCH]})
        except Forbidden:
            log.info("reporter has blocked the bot; chat not erased")
            return 0
        except BadRequest as exc:
            log.info("Telegram kept some messages (%s)", type(exc).__name__)
    return len(ids)


def erasable_ids(known: list[int]) -> list[int]:
    """What to delete to erase a conversation whose `known` ids run from its first message to its last.

    A private chat numbers its messages in order, both sides alike, and `deleteMessages` skips ids it
    cannot find in the chat: deleting every id between the first and last known ones erases the whole
    conversation, including the replies given in webhook responses, whose ids Telegram never tells
    us. A span wider than `MAX_ERASE_SPAN` (not a conversation's numbering) falls back to the known ids."""
    ids = sorted(set(known))
    if ids and ids[-1] - ids[0] < MAX_ERASE_SPAN:
        return list(range(ids[0], ids[-1] + 1))
    return ids


@dataclass
class TelegramChat:
    """One private chat, as the engine sees it while a webhook is open (`adapters.base.Chat`).

    With `answer_slot` (`TELEGRAM_WEBHOOK_REPLIES=on`), the last message of the replies goes in
    the webhook's response instead of a request of ours (`answer`): Telegram delivers a chat's next
    message only after that response and makes the call first, so the order holds. Its id stays
    unknown (the erase covers it by range, `erasable_ids`), and a refusal of it goes unseen, so the
    slot is left unused while Telegram's flood limit is in force (`BotApi.calm`)."""

    api: BotApi
    chat_id: int
    can_erase: bool = True
    answer_slot: bool = False
    erase_by_range: bool = False
    answer: dict[str, Any] | None = None

    async def send(self, replies: list[Reply]) -> list[str]:
        messages = messages_of(self.chat_id, replies)
        if self.answer is not None:  # a second send in one webhook: what was held goes first
            messages.insert(0, (0, self.answer))
            self.answer = None
        if self.answer_slot and messages and self.api.calm():
            *messages, (_, self.answer) = messages
        try:
            sent = await send_messages(self.api, messages)
            if len(sent) < len(messages):  # the reporter blocked the bot: nothing more can reach them
                self.answer = None
            elif self.answer is not None and not self.api.calm():  # a flood limit met on the way
                sent += await send_messages(self.api, [(len(replies) - 1, self.answer)])
                self.answer = None
            return [str(i) for i in sent]
        except DeliveryFailed as exc:
            log.warning("telegram replies not delivered now, sending later: %s", exc)
            self.answer = None
            raise NotDelivered(replies[exc.done:], [str(i) for i in exc.sent]) from None

    async def erase(self, message_ids: list[str]) -> None:
        known = [int(i) for i in message_ids if i.isdigit()]
        await delete_messages(self.api, self.chat_id, erasable_ids(known) if self.erase_by_range else known)


class TelegramAdapter:
    """Built-in adapter `telegram`.

    The webhook's `BotApi` (and its connections) lives on the web process's event loop; `send` and
    `fetch_media`, which workers call from short-lived loops, each use one of their own.
    """

    name = CHANNEL

    def __init__(self, settings: Settings) -> None:
        check_settings(settings)
        self.settings = settings
        self.secret = settings.telegram_webhook_secret.encode()
        self.webhook_replies = webhook_replies(settings)
        self.api = BotApi(settings.telegram_api_base, settings.telegram_bot_token)

    def authentic(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), self.secret)

    def routes(self, handle: Handler) -> list[web.RouteDef]:
        async def webhook(request: web.Request) -> web.Response:
            if not self.authentic(request.headers.get(SECRET_HEADER)):
                log.warning("telegram webhook refused: missing or wrong secret token")
                raise web.HTTPForbidden(text="forbidden")
            payload = await self.read_payload(request)
            if payload is None:
                return web.Response(text="ok")
            answer = await self.process(payload, handle)
            if answer is not None:
                return web.json_response(answer, dumps=_compact)
            return web.Response(text="ok")

        return [web.post(WEBHOOK_PATH, webhook)]

    async def read_payload(self, request: web.Request) -> dict[str, Any] | None:
        """The request's JSON update, or a 4xx for a body Telegram would never send; None (logged
        without content) for authentic JSON nested too deeply to read, which gets 200."""
        if request.content_type != "application/json":
            raise web.HTTPBadRequest(text="body must be application/json")
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        raw = await request.read()
        if len(raw) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="body must be JSON") from None
        except RecursionError:
            log.warning("telegram update nested too deeply to read (%d bytes); dropped", len(raw))
            return None
        if not isinstance(payload, dict) or type(payload.get("update_id")) is not int:
            raise web.HTTPBadRequest(text="body must be a Telegram Update with an integer update_id")
        return payload

    async def process(self, update: dict[str, Any], handle: Handler) -> dict[str, Any] | None:
        """Hand a usable update to the bot and deliver its replies before the webhook answers.

        Returns the Bot API call for the webhook's response, if any (Telegram makes it, we never
        wait for it): the acknowledgement of a button press (it stops the button's spinner), or
        else the last message of the replies (`TelegramChat`)."""
        parsed = to_inbound(update, self.settings.max_text_chars)
        answer = None
        if parsed.callback_query_id is not None:
            answer = {"method": "answerCallbackQuery", "callback_query_id": parsed.callback_query_id}
        if not isinstance(parsed, Parsed):
            log.info("telegram update ignored: %s", parsed.reason)
            return answer
        chat = TelegramChat(self.api, parsed.chat_id, answer_slot=answer is None and self.webhook_replies,
                            erase_by_range=self.webhook_replies)
        await handle(parsed.inbound, chat)
        held, chat.answer, chat.answer_slot = chat.answer, None, False  # later sends (an album's answer) POST
        return {"method": "sendMessage", **held} if held is not None else answer

    @asynccontextmanager
    async def _own_api(self) -> AsyncIterator[BotApi]:
        api = BotApi(self.settings.telegram_api_base, self.settings.telegram_bot_token)
        try:
            yield api
        finally:
            await api.close()

    async def send(self, address: str, replies: list[Reply]) -> list[str]:
        """Send later messages, returning their ids (for "erase this chat"); a blocked bot ends
        quietly, an outage raises `NotDelivered` so the job retries."""
        async with self._own_api() as api:
            return await TelegramChat(api, int(address)).send(replies)

    async def ask(self, address: str, question: Question) -> str:
        """An analyst's question: bots may write to anyone who started them, unless blocked since."""
        async with self._own_api() as api:
            sent = await send_replies(api, int(address), [Reply(question.text, rtl=question.rtl)])
        if not sent:
            raise Undeliverable("the reporter has blocked the bot or left the chat")
        return "message"

    async def fetch_media(self, ref: MediaRef, limits: MediaLimits) -> tuple[bytes, str]:
        """`getFile`, then the bytes from the Bot API's file URL, refused beyond `limits`."""
        content_type = (ref.content_type or "application/octet-stream").split(";")[0].strip().lower()
        if content_type not in limits.allowed_types:
            raise MediaRefused(f"files of type {content_type} are not accepted")
        if ref.size is not None and ref.size > limits.max_bytes:
            raise MediaRefused(f"file is larger than {limits.max_bytes} bytes")
        if not _FILE_ID.match(ref.locator):
            raise MediaRefused("not a Telegram file id")
        async with self._own_api() as api:
            try:
                file = await api.call("getFile", {"file_id": ref.locator})
            except (BadRequest, Forbidden) as exc:
                raise MediaRefused(f"Telegram would not hand out the file ({type(exc).__name__})") from None
        if not isinstance(file, dict):
            raise MediaRefused("Telegram described no file")
        size = file.get("file_size")
        if isinstance(size, int) and size > limits.max_bytes:
            raise MediaRefused(f"file is larger than {limits.max_bytes} bytes")
        # The Bot API gives a path relative to {api}/file/bot{token}/; nothing else is fetched.
        prefix = f"{self.settings.telegram_api_base}/file/bot{self.settings.telegram_bot_token}/"
        path = str(file.get("file_path") or "").removeprefix(prefix)
        if not plain_file_path(path):
            raise MediaRefused("Telegram gave no file address on the Bot API host")
        return await _download(prefix + path, limits.max_bytes), content_type

    async def discard_media(self, ref: MediaRef) -> None:
        """Telegram offers bots no way to delete a file; the chat itself is erased separately."""

    async def discard_messages(self, message_ids: list[str], address: str | None) -> None:
        """Nothing to do: a reporter erases a Telegram chat by pressing the button offered at the end."""

    async def close(self) -> None:
        await self.api.close()


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def plain_file_path(path: str) -> bool:
    """True for a Bot API file path such as `photos/file_12.jpg`: letters, digits, `_`, `-` and
    `.` in non-empty segments, none of them `.` or `..`. Anything else (percent-encodings that a
    URL library would decode into `..`, backslashes, empty segments) is refused, not decoded."""
    segments = path.split("/")
    return bool(_FILE_PATH.match(path)) and all(s not in ("", ".", "..") for s in segments)


async def _download(url: str, max_bytes: int) -> bytes:
    """GET the file, never following redirects, stopping as soon as it exceeds `max_bytes`."""
    timeout = aiohttp.ClientTimeout(total=120, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, allow_redirects=False) as response:
        if response.status in (400, 403, 404):
            raise MediaRefused(f"Telegram answered {response.status} for the file")
        if response.status != 200:
            raise FileUnavailable(f"Telegram answered {response.status} for the file")
        if response.content_length is not None and response.content_length > max_bytes:
            raise MediaRefused(f"file is larger than {max_bytes} bytes")
        data = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise MediaRefused(f"file is larger than {max_bytes} bytes")
        return bytes(data)

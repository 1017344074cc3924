"""Replies -> Telegram messages: choices as inline buttons, long texts split, flood limits obeyed.

Plain text only (no parse mode), so nothing a reporter typed can turn into markup when it is shown
back in a summary. Log lines name error types, never chat ids or text.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from adapters.base import Reply
from adapters.telegram_api import BotApi
from config.errors import Transient

log = logging.getLogger("tipline.telegram")

MAX_MESSAGE_UNITS = 4096
"""Telegram's limit for one message, counted in UTF-16 code units."""
MAX_CALLBACK_BYTES = 64
ATTEMPTS = 4
MAX_FLOOD_WAIT = 30.0
"""Longest single wait Telegram may ask for before a reply is given up (the webhook must answer)."""
NETWORK_BACKOFF = (0.5, 1.0, 2.0)


class DeliveryFailed(Transient):
    """Telegram could not be reached or kept refusing; the message is safe to log.

    `done` replies were sent whole before the failure, as messages `sent`."""

    done: int = 0
    sent: tuple[int, ...] = ()


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """Cut `text` into messages Telegram accepts, at line breaks where possible."""
    if _units(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while _units(line) > limit:
            head, line = _cut(line, limit - _units(current))
            chunks.append(current + head)
            current = ""
        if _units(current) + _units(line) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()] or [text[:limit]]


def _cut(text: str, room: int) -> tuple[str, str]:
    used = 0
    for index, char in enumerate(text):
        used += _units(char)
        if used > room:
            return text[:index], text[index:]
    return text, ""


Markup = dict[str, Any]


def keyboard(reply: Reply) -> Markup | None:
    """Inline buttons, one per row (labels can be long); a button sends back the choice key."""
    if not reply.choices:
        return None
    if any(len(choice.key.encode()) > MAX_CALLBACK_BYTES for choice in reply.choices):
        return None
    return {"inline_keyboard": [[{"text": choice.label, "callback_data": choice.key}] for choice in reply.choices]}


def render(reply: Reply) -> list[tuple[str, Markup | None]]:
    """The messages one reply becomes; buttons go on the last part, numbered text where they cannot."""
    markup = keyboard(reply)
    text = reply.text
    if reply.choices and markup is None:
        text += "".join(f"\n{i}. {choice.label}" for i, choice in enumerate(reply.choices, 1))
    parts = split_text(text)
    return [(part, markup if i == len(parts) - 1 else None) for i, part in enumerate(parts)]


def _seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def send_message(chat_id: int, text: str, markup: Markup | None) -> dict[str, Any]:
    """`sendMessage`'s parameters (plain text: no parse mode)."""
    params: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if markup is not None:
        params["reply_markup"] = markup
    return params


async def _send_one(api: BotApi, params: dict[str, Any]) -> int:
    for attempt in range(ATTEMPTS):
        try:
            message = await api.call("sendMessage", params)
            return int(message["message_id"])
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            api.flooded(wait)
            if wait > MAX_FLOOD_WAIT or attempt == ATTEMPTS - 1:
                raise DeliveryFailed(f"Telegram flood limit: asked to wait {wait:.0f}s") from None
            log.info("Telegram flood limit; retrying in %.0fs", wait)
            await asyncio.sleep(wait)
        except BadRequest as exc:
            raise DeliveryFailed(f"Telegram refused the message ({type(exc).__name__})") from None
        except NetworkError as exc:
            if attempt == ATTEMPTS - 1:
                raise DeliveryFailed(f"Telegram unreachable ({type(exc).__name__})") from None
            await asyncio.sleep(NETWORK_BACKOFF[min(attempt, len(NETWORK_BACKOFF) - 1)])
    raise DeliveryFailed("Telegram kept refusing the message")


Message = tuple[int, dict[str, Any]]
"""One message to send: the index of the reply it is (part of), and its `sendMessage` parameters."""


def messages_of(chat_id: int, replies: list[Reply]) -> list[Message]:
    return [(done, send_message(chat_id, text, markup))
            for done, reply in enumerate(replies) for text, markup in render(reply)]


async def send_messages(api: BotApi, messages: list[Message]) -> list[int]:
    """Send `messages` in order and return the sent message ids.

    A reporter who blocked the bot ends the sending quietly (nothing can reach them; retrying
    would not help). Flood limits are waited out, bounded; other failures raise `DeliveryFailed`.
    """
    sent: list[int] = []
    for done, params in messages:
        try:
            sent.append(await _send_one(api, params))
        except Forbidden:
            log.info("reporter has blocked the bot or left the chat; replies dropped")
            return sent
        except DeliveryFailed as exc:
            exc.done, exc.sent = done, tuple(sent)
            raise
    return sent


async def send_replies(api: BotApi, chat_id: int, replies: list[Reply]) -> list[int]:
    """Send `replies` in order (see `send_messages`) and return the sent message ids."""
    return await send_messages(api, messages_of(chat_id, replies))

"""Telegram updates -> `Inbound`: what the bot can use from one Bot API update, and nothing else.

Pure functions over python-telegram-bot's types: no network, no logging of content. An update the
service cannot use comes back as `Skipped` with a content-free reason the caller may log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Chat, Message, PhotoSize, Update, User

from adapters.base import Inbound, Location, MediaRef

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
"""The update kinds the webhook asks Telegram for (see `tipline telegram set-webhook`)."""

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)
_DEEP_LINK_LANGUAGE = re.compile(r"^(?:lang[_-])?([a-z]{2})$")


@dataclass(frozen=True)
class Skipped:
    """An update the service does not act on; `reason` is safe to log (a kind, never content).
    A button press is still acknowledged, so the reporter's app stops waiting."""

    reason: str
    callback_query_id: str | None = None


@dataclass(frozen=True)
class Parsed:
    """A usable update: the normalised message, the chat to answer, and a button press to acknowledge."""

    inbound: Inbound
    chat_id: int
    callback_query_id: str | None = None


def language_of(code: str | None) -> str | None:
    """`pt-br` -> `pt`: the primary language subtag of Telegram's IETF `language_code`."""
    if not code:
        return None
    primary = code.split("-")[0].strip().lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def command_words(text: str) -> tuple[str | None, str | None] | None:
    """For a bot command, the words the flow should see and a language named by a deep link.

    `/start` only opens (or re-shows) the conversation, so it gives no text; `/start es` (from a
    `t.me/bot?start=es` link on a Spanish poster) pre-selects Spanish. Other commands become plain
    words: `/help@TiplineBot` -> `help`. Returns None when `text` is not a command.
    """
    found = _COMMAND.match(text.strip())
    if found is None:
        return None
    name, rest = found.group(1).lower(), (found.group(2) or "").strip()
    if name == "start":
        payload = _DEEP_LINK_LANGUAGE.match(rest)
        return None, payload.group(1) if payload else None
    return f"{name} {rest}".strip(), None


def largest_photo(sizes: tuple[PhotoSize, ...]) -> PhotoSize:
    """The full-resolution size; Telegram also lists thumbnails, which are never what a reporter sent."""
    return max(sizes, key=lambda p: (p.width * p.height, p.file_size or 0))


def media_of(message: Message) -> tuple[MediaRef, ...]:
    """The media a message carries, each as a reference to fetch later by `file_id`."""
    refs: list[MediaRef] = []
    if message.photo:
        best = largest_photo(message.photo)
        refs.append(MediaRef(CHANNEL, best.file_id, "photo", "image/jpeg", best.file_size))
    if message.video:
        refs.append(MediaRef(CHANNEL, message.video.file_id, "video",
                             message.video.mime_type or "video/mp4", message.video.file_size))
    if message.video_note:
        refs.append(MediaRef(CHANNEL, message.video_note.file_id, "video", "video/mp4",
                             message.video_note.file_size))
    if message.animation:
        refs.append(MediaRef(CHANNEL, message.animation.file_id, "video",
                             message.animation.mime_type or "video/mp4", message.animation.file_size))
    if message.voice:
        refs.append(MediaRef(CHANNEL, message.voice.file_id, "voice",
                             message.voice.mime_type or "audio/ogg", message.voice.file_size))
    if message.audio:
        refs.append(MediaRef(CHANNEL, message.audio.file_id, "audio",
                             message.audio.mime_type or "audio/mpeg", message.audio.file_size))
    if message.document and not message.animation:
        refs.append(MediaRef(CHANNEL, message.document.file_id, "document",
                             message.document.mime_type or "application/octet-stream",
                             message.document.file_size))
    return tuple(refs)


def location_of(message: Message) -> Location | None:
    """A venue keeps its address and name; a plain pin only its coordinates."""
    if message.venue:
        venue = message.venue
        return Location(venue.location.latitude, venue.location.longitude,
                        address=venue.address or None, label=venue.title or None)
    if message.location:
        return Location(message.location.latitude, message.location.longitude)
    return None


def _private_sender(chat: Chat | None, user: User | None) -> Skipped | None:
    if chat is None:
        return Skipped("message without a chat")
    if chat.type != Chat.PRIVATE:
        return Skipped(f"{chat.type} chat")
    if user is None or user.is_bot:
        return Skipped("message not from a person")
    return None


def _from_message(update: Update, message: Message, edited: bool, max_text: int) -> Parsed | Skipped:
    refused = _private_sender(message.chat, message.from_user)
    if refused:
        return refused
    if edited and message.location and message.location.live_period and not message.venue:
        return Skipped("live location update")  # a moving pin re-sends itself every few seconds
    text = message.text or message.caption
    language = language_of(message.from_user.language_code if message.from_user else None)
    if message.text:
        words = command_words(message.text)
        if words is not None:
            text, deep_link_language = words
            language = deep_link_language or language
    inbound = Inbound(
        adapter=CHANNEL,
        sender=str(message.chat.id),
        message_id=str(update.update_id),
        text=text[:max_text] if text else None,
        media=media_of(message),
        location=location_of(message),
        medium=CHANNEL,
        language_hint=language,
        provider_message_ids=(str(message.message_id),),
    )
    return Parsed(inbound, message.chat.id)


def to_inbound(update: Update, max_text: int) -> Parsed | Skipped:
    """Normalise one update. Private chats with people only; everything else is `Skipped`,
    including an update whose parts are not what the Bot API documents (never an exception:
    Telegram re-delivers an update until it gets 2xx)."""
    try:
        return _to_inbound(update, max_text)
    except (AttributeError, TypeError, ValueError, KeyError, RecursionError) as exc:
        return Skipped(f"update not understood ({type(exc).__name__})")


def _to_inbound(update: Update, max_text: int) -> Parsed | Skipped:
    if update.message is not None:
        return _from_message(update, update.message, edited=False, max_text=max_text)
    if update.edited_message is not None:
        return _from_message(update, update.edited_message, edited=True, max_text=max_text)
    query = update.callback_query
    if query is not None:
        if query.message is None or not query.data:
            return Skipped("callback query without a chat message or data", query.id)
        refused = _private_sender(query.message.chat, query.from_user)
        if refused:
            return Skipped(refused.reason, query.id)
        inbound = Inbound(
            adapter=CHANNEL,
            sender=str(query.message.chat.id),
            message_id=str(update.update_id),
            choice=query.data,
            medium=CHANNEL,
            language_hint=language_of(query.from_user.language_code),
        )
        return Parsed(inbound, query.message.chat.id, callback_query_id=query.id)
    kinds = [key for key in update.to_dict() if key != "update_id"]
    return Skipped(f"update kind {kinds[0] if kinds else 'empty'}")

"""Telegram updates -> `Inbound`: what the bot can use from one Bot API update, and nothing else.

Pure functions over the update's JSON as the Bot API sends it (python-telegram-bot's `Update.de_json`
cost ~0.2 ms per update, a tenth of the whole webhook, to build objects of which we read a dozen
fields). No network, no logging of content. Every field is checked for the type the Bot API
documents; an update the service cannot use comes back as `Skipped` with a content-free reason the
caller may log, never as an exception (Telegram re-delivers an update until it gets 2xx).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adapters.base import Inbound, Location, MediaRef

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
"""The update kinds the webhook asks Telegram for (see `tipline telegram set-webhook`)."""

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)
_DEEP_LINK_LANGUAGE = re.compile(r"^(?:lang[_-])?([a-z]{2})$")
_KIND = re.compile(r"^[a-z_]{1,40}$")
_CHAT_KINDS = ("group", "supergroup", "channel")
# (field, kind, content type when the message names none): what a message may carry besides photos.
# Photos are always JPEG and video notes MP4: Telegram gives them no mime_type.
_FILES = (("video", "video", "video/mp4"), ("video_note", "video", "video/mp4"), ("animation", "video", "video/mp4"),
          ("voice", "voice", "audio/ogg"), ("audio", "audio", "audio/mpeg"),
          ("document", "document", "application/octet-stream"))
_UNTYPED = ("photo", "video_note")

Json = dict[str, Any]


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


def _object(value: object) -> Json | None:
    return value if isinstance(value, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: object) -> int | None:
    return value if type(value) is int else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def language_of(code: object) -> str | None:
    """`pt-br` -> `pt`: the primary language subtag of Telegram's IETF `language_code`."""
    if not isinstance(code, str) or not code:
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


def largest_photo(sizes: list[Json]) -> Json:
    """The full-resolution size; Telegram also lists thumbnails, which are never what a reporter sent."""
    return max(sizes, key=lambda p: ((_integer(p.get("width")) or 0) * (_integer(p.get("height")) or 0),
                                     _integer(p.get("file_size")) or 0))


def _ref(file: Json, field: str, kind: str, content_type: str) -> MediaRef | None:
    file_id = _text(file.get("file_id"))
    if file_id is None:
        return None
    named = None if field in _UNTYPED else _text(file.get("mime_type"))
    return MediaRef(CHANNEL, file_id, kind, named or content_type, _integer(file.get("file_size")))


def media_of(message: Json) -> tuple[MediaRef, ...]:
    """The media a message carries, each as a reference to fetch later by `file_id`. A GIF comes
    as both `animation` and `document`: it is one video."""
    refs: list[MediaRef | None] = []
    sizes = message.get("photo")
    if isinstance(sizes, list) and (photos := [size for size in sizes if isinstance(size, dict)]):
        refs.append(_ref(largest_photo(photos), "photo", "photo", "image/jpeg"))
    for field, kind, content_type in _FILES:
        file = _object(message.get(field))
        if file is not None and not (field == "document" and message.get("animation")):
            refs.append(_ref(file, field, kind, content_type))
    return tuple(ref for ref in refs if ref is not None)


def _point(value: object) -> tuple[float, float] | None:
    place = _object(value)
    if place is None:
        return None
    latitude, longitude = _number(place.get("latitude")), _number(place.get("longitude"))
    return None if latitude is None or longitude is None else (latitude, longitude)


def location_of(message: Json) -> Location | None:
    """A venue keeps its address and name; a plain pin only its coordinates."""
    venue = _object(message.get("venue"))
    if venue is not None and (point := _point(venue.get("location"))):
        return Location(*point, address=_text(venue.get("address")), label=_text(venue.get("title")))
    point = _point(message.get("location"))
    return Location(*point) if point else None


def _private_sender(chat: Json | None, user: Json | None) -> Skipped | None:
    if chat is None or _integer(chat.get("id")) is None:
        return Skipped("message without a chat")
    if chat.get("type") != "private":
        kind = chat.get("type")
        return Skipped(f"{kind} chat" if kind in _CHAT_KINDS else "chat of another kind")
    if user is None or user.get("is_bot") is not False:
        return Skipped("message not from a person")
    return None


def _from_message(update_id: int, message: Json, edited: bool, max_text: int) -> Parsed | Skipped:
    chat, user = _object(message.get("chat")), _object(message.get("from"))
    refused = _private_sender(chat, user)
    if refused:
        return refused
    assert chat is not None and user is not None
    live = _object(message.get("location"))
    if edited and live is not None and live.get("live_period") and not message.get("venue"):
        return Skipped("live location update")  # a moving pin re-sends itself every few seconds
    typed = _text(message.get("text"))
    text = typed or _text(message.get("caption"))
    language = language_of(user.get("language_code"))
    if typed:
        words = command_words(typed)
        if words is not None:
            text, deep_link_language = words
            language = deep_link_language or language
    chat_id = chat["id"]
    message_id = _integer(message.get("message_id"))
    inbound = Inbound(
        adapter=CHANNEL,
        sender=str(chat_id),
        message_id=str(update_id),
        text=text[:max_text] if text else None,
        media=media_of(message),
        location=location_of(message),
        medium=CHANNEL,
        language_hint=language,
        provider_message_ids=(str(message_id),) if message_id is not None else (),
        album=_text(message.get("media_group_id")) is not None,
    )
    return Parsed(inbound, chat_id)


def _from_button(update_id: int, query: Json) -> Parsed | Skipped:
    query_id = _text(query.get("id"))
    if query_id is None:
        return Skipped("callback query without an id")
    message, data = _object(query.get("message")), _text(query.get("data"))
    if message is None or data is None:
        return Skipped("callback query without a chat message or data", query_id)
    chat, user = _object(message.get("chat")), _object(query.get("from"))
    refused = _private_sender(chat, user)
    if refused:
        return Skipped(refused.reason, query_id)
    assert chat is not None and user is not None
    # The message whose button was pressed is ours, in this chat: kept so an erase reaches it.
    message_id = _integer(message.get("message_id"))
    inbound = Inbound(
        adapter=CHANNEL,
        sender=str(chat["id"]),
        message_id=str(update_id),
        choice=data,
        medium=CHANNEL,
        language_hint=language_of(user.get("language_code")),
        provider_message_ids=(str(message_id),) if message_id else (),
    )
    return Parsed(inbound, chat["id"], callback_query_id=query_id)


def to_inbound(update: Json, max_text: int) -> Parsed | Skipped:
    """Normalise one update (its JSON, with an integer `update_id`). Private chats with people
    only; everything else is `Skipped`, including an update whose parts are not what the Bot API
    documents."""
    try:
        return _to_inbound(update, max_text)
    except (AttributeError, TypeError, ValueError, KeyError, RecursionError) as exc:
        return Skipped(f"update not understood ({type(exc).__name__})")


def _to_inbound(update: Json, max_text: int) -> Parsed | Skipped:
    update_id = update["update_id"]
    for kind in ("message", "edited_message"):
        if kind in update:
            message = _object(update[kind])
            if message is None:
                return Skipped(f"{kind} not an object")
            return _from_message(update_id, message, edited=kind == "edited_message", max_text=max_text)
    if "callback_query" in update:
        query = _object(update["callback_query"])
        return _from_button(update_id, query) if query is not None else Skipped("callback query not an object")
    kinds = [key for key in update if key != "update_id"]
    kind = kinds[0] if kinds and _KIND.match(kinds[0]) else "unknown" if kinds else "empty"
    return Skipped(f"update kind {kind}")

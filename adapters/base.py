"""The channel interface: what every adapter turns provider traffic into, and back.

Inbound messages are normalised into `Inbound`; the bot answers with `Reply` objects that each
adapter renders in its own way (buttons on Telegram, numbered options on SMS/WhatsApp, JSON on the
simulator). Nothing outside `adapters/` knows any provider's wire format.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

# Re-exported: adapters speak the flow's conversation types (flows/said.py), never the other way round.
from config.errors import Refused, Transient
from flows.said import Choice as Choice
from flows.said import Location as Location
from flows.said import Reply as Reply

MEDIA_KINDS = ("photo", "video", "voice", "audio", "document")


@dataclass(frozen=True)
class MediaRef:
    """Where a piece of media can be fetched from; the bytes stay at the provider until a worker fetches them.

    `adapter` is the adapter's `name`; `locator` is adapter-specific (a Twilio media URL, a Telegram
    file_id, a simulator upload id).
    """

    adapter: str
    locator: str
    kind: str = "document"
    content_type: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Compact form for drafts and job payloads (unknown fields left out)."""
        data: dict[str, Any] = {"channel": self.adapter, "locator": self.locator, "kind": self.kind}
        if self.content_type is not None:
            data["content_type"] = self.content_type
        if self.size is not None:
            data["size"] = self.size
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaRef:
        return cls(
            adapter=str(data["channel"]),
            locator=str(data["locator"]),
            kind=str(data.get("kind") or "document"),
            content_type=data.get("content_type"),
            size=data.get("size"),
        )


@dataclass(frozen=True)
class Inbound:
    """One message from a reporter, normalised.

    `sender` is the provider address needed to reply (phone number, chat id). The bot turns it into
    a keyed pseudonym at once and keeps the clear address only, encrypted, in the live session.
    `message_id` is the provider's id used to de-duplicate retries. `adapter` is the adapter's
    `name`; `medium` is what the reporter uses as analysts see it ("sms", "whatsapp", "telegram").
    `album` says whether files come as part of an album, where the channel tells (Telegram's
    `media_group_id`); None where it cannot (a WhatsApp multi-photo send is one webhook per file).
    """

    adapter: str
    sender: str
    message_id: str
    text: str | None = None
    media: tuple[MediaRef, ...] = ()
    location: Location | None = None
    choice: str | None = None
    medium: str = ""
    language_hint: str | None = None
    country_hint: str | None = None
    provider_message_ids: tuple[str, ...] = ()
    album: bool | None = None


@dataclass(frozen=True)
class Outbound:
    """A reply to be sent outside a webhook response (reminders, late answers)."""

    channel: str
    address: str
    replies: tuple[Reply, ...] = field(default_factory=tuple)


class NotDelivered(Transient):
    """The provider could not take these replies now (outage); the bot sends them later, with retries."""

    def __init__(self, remaining: list[Reply], sent: list[str]) -> None:
        super().__init__(f"{len(remaining)} repl(ies) not delivered")
        self.remaining = remaining
        self.sent = sent


class Chat(Protocol):
    """The reporter's chat, for channels that send while the webhook is open (Telegram): the bot
    sends its replies through it inside the conversation's lock, so they arrive in order. `send`
    must still work after the webhook has answered (an album's one answer is sent a moment later)."""

    can_erase: bool
    """True where the bot may delete both sides of the chat (Telegram private chats, < 48 h)."""

    async def send(self, replies: list[Reply]) -> list[str]:
        """Send now, in order; return the provider's ids of the messages sent. Raise `NotDelivered`
        with the replies still to send when the provider is unreachable."""
        ...

    async def erase(self, message_ids: list[str]) -> None:
        """Delete these messages of both sides from the chat, as far as the provider allows."""
        ...


class Handler(Protocol):
    """What an adapter calls with each message; returns the replies (already sent if `chat`)."""

    def __call__(self, message: Inbound, chat: Chat | None = None) -> Awaitable[list[Reply]]: ...


@dataclass(frozen=True)
class MediaLimits:
    """What a fetcher may accept; anything larger or of another type is refused, not truncated."""

    max_bytes: int
    allowed_types: tuple[str, ...]


class MediaRefused(Refused):
    """Media that cannot be accepted (too big, wrong type, disallowed host). The message is safe to log."""


@runtime_checkable
class Adapter(Protocol):
    """A channel: everything the web process and the workers call. Built-ins live in `adapters/`;
    third parties register under the `tipline.adapters` entry-point group (see docs/adapters.md).
    A factory takes `Settings`; an adapter's own settings come from `settings.for_adapter(name)`."""

    name: str

    def routes(self, handle: Handler) -> list[web.RouteDef]:
        """Routes to mount in the web app; each parses provider traffic and calls `handle`."""
        ...

    async def send(self, address: str, replies: list[Reply]) -> list[str] | None:
        """Send replies outside a webhook response (reminders, late replies). Raise on failure so the
        job retries (`NotDelivered` when some went out). Channels whose chats can be erased return the
        ids of the messages sent, others None."""
        ...

    async def fetch_media(self, ref: MediaRef, limits: MediaLimits) -> tuple[bytes, str]:
        """Return (bytes, content type) of one media item, within `limits`, or raise MediaRefused."""
        ...

    async def discard_media(self, ref: MediaRef) -> None:
        """Delete the provider's copy once the report is filed, where the provider allows it."""
        ...

    async def discard_messages(self, message_ids: list[str], address: str | None) -> None:
        """Delete a finished conversation at the provider, where it allows it: the reporter's messages
        (the ids this adapter put in `Inbound.provider_message_ids`) and, given the reply `address`,
        ours to them. Called by a worker some time after filing; raise to retry. Do nothing if the
        provider cannot delete messages."""
        ...

    async def close(self) -> None:
        """Release network resources."""
        ...


@dataclass(frozen=True)
class Question:
    """An analyst's question as a channel carries it to one reporter who agreed to follow-up.

    `text` is the whole message in the reporter's language (safe opening, question, how to answer);
    `date` and `question` are its parts, for channels that must send an approved template instead;
    `last_heard` is when the reporter last wrote (unix time), for windows such as WhatsApp's 24 hours."""

    text: str
    date: str
    question: str
    language: str
    last_heard: float
    rtl: bool = False


class Undeliverable(Refused):
    """This question cannot reach this reporter (blocked bot, opted-out number, no approved template);
    retrying will not help. The message is shown to analysts: no address, no content."""


@runtime_checkable
class AsksReporters(Protocol):
    """A channel that can carry analysts' questions (docs/follow-up.md); workers check for it."""

    name: str

    async def ask(self, address: str, question: Question) -> str:
        """Send `question` to `address`; return how it went ("message" or "template"). Raise
        `Undeliverable` when it cannot reach this reporter; any other error is retried."""
        ...

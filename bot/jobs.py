"""The queue as the bot sees it: the jobs there are, their typed payloads, and `Enqueue`.

The engine and the quiet policy know only this module; `bot/queue.py` puts jobs on RQ and
`workers/` runs them. Job functions are named by dotted path, so nothing here imports `workers`.
Each payload type is serialised here and only here (`seal` / `opened`), encrypted with
`SESSION_KEY`: drafts in the queue are no more readable than in sessions. The JSON field names are
those of earlier releases, so jobs queued before an upgrade still run.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from nacl.secret import SecretBox

from adapters.base import MediaRef, Reply
from config.errors import Transient


class Job(StrEnum):
    """Every job a worker runs; the value is the name operators see (`tipline jobs list`)."""

    FETCH_MEDIA = "fetch_media"
    FILE_REPORT = "file_report"
    DISCARD_DRAFT = "discard_draft"
    SEND_LATER = "send_later"
    NOTIFY_ANALYSTS = "notify_analysts"
    DISCARD_PROVIDER_MESSAGES = "discard_provider_messages"
    QUIET_SWEEP = "sweep"
    FOLLOWUP_POLL = "followup_poll"
    DELIVER_QUESTION = "deliver_question"

    @property
    def function(self) -> str:
        """The dotted path a worker imports and calls with the payload (kept stable: queued jobs name it)."""
        if self is Job.QUIET_SWEEP:
            return "workers.reminders.sweep"
        if self is Job.FOLLOWUP_POLL:
            return "workers.followup.poll"
        if self is Job.DELIVER_QUESTION:
            return "workers.followup.deliver_question"
        return f"workers.jobs.{self.value}"


class Enqueue(Protocol):
    """Put `job(payload)` on the queue under a stable `job_id` (a repeat enqueue is harmless),
    now or in `delay` seconds. Synchronous (workers, the quiet sweeper's scheduling)."""

    def __call__(self, job: Job, payload: str, job_id: str, delay: int = 0) -> None: ...


class EnqueueNow(Protocol):
    """`Enqueue` without a delay, for the event loop: awaitable, no thread (the engine's jobs)."""

    def __call__(self, job: Job, payload: str, job_id: str) -> Awaitable[None]: ...


PAYLOAD_FORMAT = 1
"""The layout of job payloads (`v` inside the sealed payload; the first release wrote none: 0).
A worker refuses a newer format with a transient error, so RQ retries the job until a worker of
the newer release takes it: during a rolling deploy nothing fails for being early."""


class NewerPayload(Transient):
    """The job was queued by a newer release than this worker; it is retried, for a newer worker."""


def seal_payload(key: bytes, data: Mapping[str, Any]) -> str:
    raw = json.dumps({**data, "v": PAYLOAD_FORMAT}, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(SecretBox(key).encrypt(raw)).decode()


def open_payload(key: bytes, payload: str) -> dict[str, Any]:
    opened: dict[str, Any] = json.loads(SecretBox(key).decrypt(base64.b64decode(payload)))
    version = opened.pop("v", 0)
    if not isinstance(version, int) or version > PAYLOAD_FORMAT:
        raise NewerPayload(f"job payload format {version!r} is newer than this worker reads ({PAYLOAD_FORMAT}); "
                           "retried until a worker of that release takes it")
    return opened


P = TypeVar("P", bound="Payload")


class Payload:
    """A job's argument: `seal` it for the queue, `opened` it in the worker."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls: type[P], data: Mapping[str, Any]) -> P:
        raise NotImplementedError

    def seal(self, key: bytes) -> str:
        return seal_payload(key, self.to_dict())

    @classmethod
    def opened(cls: type[P], key: bytes, payload: str) -> P:
        return cls.from_dict(open_payload(key, payload))


@dataclass(frozen=True)
class MediaItem:
    """One file of a draft: a random id (which names its sealed object) and where the provider keeps it."""

    id: str
    ref: MediaRef
    caption: str | None = None
    """What the reporter wrote with the file (kept with it, filed for analysts)."""

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "ref": self.ref.to_dict()}
        return {**data, "caption": self.caption} if self.caption else data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaItem:
        caption = data.get("caption")
        return cls(str(data["id"]), MediaRef.from_dict(data["ref"]), str(caption) if caption else None)


def media_items(entries: list[dict[str, Any]]) -> tuple[MediaItem, ...]:
    """The typed form of a conversation's media list (the flow keeps them as plain dicts)."""
    return tuple(MediaItem.from_dict(entry) for entry in entries)


@dataclass(frozen=True)
class ProviderCopies:
    """What deleting a conversation at the provider needs: the adapter, the provider's ids of the
    reporter's messages and, with those, the reply address (to find our own replies)."""

    adapter: str = ""
    messages: tuple[str, ...] = ()
    address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"adapter": self.adapter, "provider_messages": list(self.messages), "provider_address": self.address}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProviderCopies:
        return cls(str(data.get("adapter") or ""), tuple(str(i) for i in data.get("provider_messages") or ()),
                   data.get("provider_address"))


@dataclass(frozen=True)
class FetchMedia(Payload):
    """`Job.FETCH_MEDIA`: fetch one file soon after it arrives; `who` (a pseudonym) lets the worker
    tell the reporter if it is refused; `report_id` lets it stop once the report is filed."""

    item: MediaItem
    report_id: str | None = None
    who: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.item.to_dict(), "report_id": self.report_id, "who": self.who}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FetchMedia:
        return cls(MediaItem.from_dict(data), data.get("report_id"), data.get("who"))


@dataclass(frozen=True)
class Draft(Payload):
    """`Job.FILE_REPORT`: the report as the worker files it (see bot/drafts.py for how it is built).
    `medium` is what the stored report calls `channel` (sms, whatsapp, telegram, ...)."""

    report_id: str
    submitted_at: str
    status: str = "complete"
    urgent: bool = False
    medium: str = ""
    language: str = "en"
    started_at: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    media: tuple[MediaItem, ...] = ()
    receipt_hash: str | None = None
    follow_up: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    addendum_to: str | None = None
    question_id: str | None = None
    """For a reporter's answer to an analyst's question: the question (docs/follow-up.md)."""
    copies: ProviderCopies = ProviderCopies()
    late_file: str | None = None
    """For an addition carrying one file a report was filed without (workers/jobs.py): that report,
    whose media status record lists the file missing. A fetch that fails now retries this job with
    backoff instead of filing the file as missing again."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id, "status": self.status, "urgent": self.urgent, "channel": self.medium,
            "language": self.language, "started_at": self.started_at, "submitted_at": self.submitted_at,
            "answers": self.answers, "media": [m.to_dict() for m in self.media], "receipt_hash": self.receipt_hash,
            "follow_up": self.follow_up, "notes": list(self.notes), "addendum_to": self.addendum_to,
            **({"question_id": self.question_id} if self.question_id else {}), **self.copies.to_dict(),
            **({"late_file": self.late_file} if self.late_file else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Draft:
        return cls(
            report_id=str(data["report_id"]), submitted_at=str(data["submitted_at"]),
            status=str(data.get("status") or "complete"), urgent=bool(data.get("urgent", False)),
            medium=str(data.get("channel") or ""), language=str(data.get("language") or "en"),
            started_at=data.get("started_at"), answers=dict(data.get("answers") or {}),
            media=media_items(list(data.get("media") or [])), receipt_hash=data.get("receipt_hash"),
            follow_up=data.get("follow_up"), notes=tuple(str(n) for n in data.get("notes") or ()),
            addendum_to=data.get("addendum_to"), question_id=data.get("question_id"),
            copies=ProviderCopies.from_dict(data), late_file=str(data["late_file"]) if data.get("late_file") else None,
        )


@dataclass(frozen=True)
class Discard(Payload):
    """`Job.DISCARD_DRAFT`: delete these files (sealed copies, provider copies) and, when named,
    the conversation at the provider (`Job.DISCARD_PROVIDER_MESSAGES` later)."""

    media: tuple[MediaItem, ...]
    copies: ProviderCopies = ProviderCopies()
    report_id: str | None = None
    """The draft's report id, which names its media status record (none in the first release's jobs)."""

    def to_dict(self) -> dict[str, Any]:
        data = {"media": [m.to_dict() for m in self.media], **self.copies.to_dict()}
        return {**data, "report_id": self.report_id} if self.report_id else data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Discard:
        return cls(media_items(list(data.get("media") or [])), ProviderCopies.from_dict(data),
                   data.get("report_id") or None)


@dataclass(frozen=True)
class ForgetAtProvider(Payload):
    """`Job.DISCARD_PROVIDER_MESSAGES`: delete a finished conversation's messages at the provider."""

    copies: ProviderCopies

    def to_dict(self) -> dict[str, Any]:
        return self.copies.to_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForgetAtProvider:
        return cls(ProviderCopies.from_dict(data))


@dataclass(frozen=True)
class SendLater(Payload):
    """`Job.SEND_LATER`: replies the provider could not take while the webhook was open."""

    adapter: str
    address: str
    replies: tuple[Reply, ...]
    who: str = ""
    """The conversation (pseudonym) and when these were queued: a DELETE after that cancels them."""
    queued_at: float = 0.0
    outbox: bool = False
    """The job's replies wait in the conversation's outbox (bot/sessions.py), with any queued
    before them: the job sends the whole outbox, oldest first. Jobs of earlier releases carry theirs."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"channel": self.adapter, "address": self.address,
                                "replies": [r.to_dict() for r in self.replies]}
        if self.outbox:
            data["outbox"] = True
        return {**data, "who": self.who, "queued_at": self.queued_at} if self.who else data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SendLater:
        return cls(str(data["channel"]), str(data["address"]), tuple(Reply.from_dict(r) for r in data["replies"]),
                   str(data.get("who", "")), float(data.get("queued_at", 0.0)), bool(data.get("outbox", False)))

"""Follow-up questions in the store: requests analysts write for the workers, records workers write back.

A *request* (`requests/<id>`) is a NaCl Box from the asking analyst's private key to the follow-up
public key: only the workers (who hold the follow-up private key) and the asking analyst can open it,
and opening it proves which analyst key wrote it. A *record* (`followup/<id>`) says what became of the
question — delivered or not, and why — sealed like reports to every analyst key. See docs/follow-up.md.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey

from config.errors import Refused
from secure_store.backends import Store
from secure_store.keys import Recipient, encode_public, parse_public_key
from secure_store.seal import NotForThisKey, SealError, open_sealed, seal

REQUEST_PREFIX = "requests/"
RECORD_PREFIX = "followup/"
REQUEST_FORMAT = "tipline.followup-request/1"
RECORD_SCHEMA = "tipline.followup/1"
RECORD_KIND = "followup"
MAX_REQUEST_BYTES = 64 * 1024
MAX_QUESTION_CHARS = 1000
DELIVERED = "delivered"
NOT_DELIVERED = "not_delivered"
_ID = re.compile(r"^[0-9a-f]{32}$")
_ADAPTER_OF_KIND = {"sms": "twilio", "whatsapp": "twilio", "telegram": "telegram"}


class QuestionRefused(Refused, ValueError):
    """A question that cannot be asked (no consent, empty, too long); the message is for the analyst."""


@dataclass(frozen=True)
class Request:
    """One analyst's question for one reporter, with what a worker needs to deliver it.

    `reported_at` is when the report was sent (the opening names its date, and WhatsApp's 24-hour
    window counts from the reporter's last message); `channel` is the medium (sms, whatsapp,
    telegram), `adapter` the service's channel that carries it."""

    request_id: str
    report_id: str
    question: str
    asked_at: str
    language: str
    reported_at: str
    channel: str
    adapter: str
    address: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Request:
        if not isinstance(data, dict):
            raise SealError("follow-up request is not an object")
        try:
            request = cls(**{name: str(data[name]) for name in cls.__dataclass_fields__})
        except KeyError as exc:
            raise SealError(f"follow-up request lacks {exc.args[0]}") from None
        if not (_ID.match(request.request_id) and _ID.match(request.report_id)):
            raise SealError("follow-up request has malformed ids")
        return request


def request_name(request_id: str) -> str:
    return f"{REQUEST_PREFIX}{request_id}"


def record_name(request_id: str) -> str:
    return f"{RECORD_PREFIX}{request_id}"


def request_id_of(name: str) -> str | None:
    """The request id an object name under `requests/` carries, or None for anything else."""
    tail = name[len(REQUEST_PREFIX):] if name.startswith(REQUEST_PREFIX) else ""
    return tail if _ID.match(tail) else None


def follow_up_of(report: dict[str, Any]) -> dict[str, str]:
    """The report's follow-up address (channel, address, adapter), or `QuestionRefused` when the
    reporter did not agree to be contacted."""
    follow_up = report.get("follow_up")
    if not isinstance(follow_up, dict) or not follow_up.get("address"):
        if report.get("addendum_to"):
            raise QuestionRefused(f"report {report['report_id']} is an addition; ask on the report it adds to, "
                                  f"{report['addendum_to']}")
        raise QuestionRefused(f"the reporter of {report['report_id']} did not agree to follow-up, so no question "
                              "can be sent (the report holds no address)")
    channel = str(follow_up.get("channel", ""))
    adapter = str(follow_up.get("adapter") or _ADAPTER_OF_KIND.get(channel, channel))
    return {"channel": channel, "address": str(follow_up["address"]), "adapter": adapter}


def seal_request(request: Request, analyst: PrivateKey, followup: PublicKey) -> bytes:
    """The request object: who wrote it (public key, in clear) and the Box only the workers open."""
    plaintext = json.dumps(request.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    boxed = Box(analyst, followup).encrypt(plaintext)
    envelope = {"format": REQUEST_FORMAT, "from": encode_public(analyst.public_key), "to": encode_public(followup),
                "box": base64.b64encode(bytes(boxed)).decode()}
    return json.dumps(envelope, separators=(",", ":")).encode()


def open_request(blob: bytes, followup: PrivateKey, analysts: list[Recipient]) -> tuple[Request, str]:
    """A worker opens a request: returns it and the key id of the analyst who wrote it.

    Raises `SealError` unless the object is a well-formed request Boxed by one of `analysts`
    (anyone may write to the store; only analysts may make the service message a reporter)."""
    if len(blob) > MAX_REQUEST_BYTES:
        raise SealError("follow-up request is too large")
    try:
        envelope = json.loads(blob)
        if envelope.get("format") != REQUEST_FORMAT:
            raise SealError("not a follow-up request")
        sender = parse_public_key(str(envelope["from"]))
        boxed = base64.b64decode(str(envelope["box"]), validate=True)
    except (ValueError, KeyError, AttributeError):
        raise SealError("follow-up request is damaged") from None
    if sender.kid not in {analyst.kid for analyst in analysts}:
        raise NotForThisKey("follow-up request was not written by an analyst key of this service")
    try:
        plaintext = Box(followup, sender.public_key).decrypt(boxed)
        return Request.from_dict(json.loads(plaintext)), sender.kid
    except (CryptoError, ValueError):
        raise SealError("follow-up request was tampered with or is not for this service's follow-up key") from None


def record(request: Request, asked_by: str, status: str, at: str, reason: str | None = None,
           sent_as: str | None = None) -> dict[str, Any]:
    """What analysts read about a question: the question itself and what became of it (no address)."""
    return {
        "schema": RECORD_SCHEMA, "request_id": request.request_id, "report_id": request.report_id,
        "question": request.question, "asked_at": request.asked_at, "asked_by": asked_by,
        "channel": request.channel, "status": status, "reason": reason, "at": at, "sent_as": sent_as,
    }


def file_record(store: Store, recipients: list[Recipient], entry: dict[str, Any]) -> bool:
    """Seal the record to every analyst key; False if this question's record exists already."""
    plaintext = json.dumps(entry, ensure_ascii=False, sort_keys=True).encode()
    return store.put_once(record_name(entry["request_id"]), seal(plaintext, recipients, RECORD_KIND))


def open_records(store: Store, key: PrivateKey) -> list[dict[str, Any]]:
    """Every question record readable with `key`, oldest first. A damaged record is returned as
    `{"request_id", "damaged": reason}` so it is shown, never silently skipped."""
    found: list[dict[str, Any]] = []
    for name in store.names(RECORD_PREFIX):
        request_id = name.rsplit("/", 1)[-1]
        try:
            kind, plaintext = open_sealed(store.get(name), key)
            entry = json.loads(plaintext)
            if kind != RECORD_KIND or not isinstance(entry, dict) or entry.get("schema") != RECORD_SCHEMA:
                raise SealError("not a follow-up record")
        except NotForThisKey:
            continue
        except (SealError, ValueError) as exc:
            found.append({"request_id": request_id, "damaged": str(exc)})
            continue
        found.append(entry)
    found.sort(key=lambda entry: str(entry.get("asked_at", "")))
    return found


def pending_requests(store: Store, key: PrivateKey) -> list[Request]:
    """Questions this analyst asked that no worker has delivered yet (their Box opens with the
    analyst's own key too, for any follow-up key it was written to)."""
    pending: list[Request] = []
    for name in store.names(REQUEST_PREFIX):
        try:
            envelope = json.loads(store.get(name))
            if envelope.get("format") != REQUEST_FORMAT:
                continue
            recipient = str(envelope["to"])
            boxed = base64.b64decode(str(envelope["box"]), validate=True)
            plaintext = Box(key, parse_public_key(recipient).public_key).decrypt(boxed)
            pending.append(Request.from_dict(json.loads(plaintext)))
        except (ValueError, KeyError, AttributeError, CryptoError, SealError):
            continue
    return sorted(pending, key=lambda request: request.asked_at)


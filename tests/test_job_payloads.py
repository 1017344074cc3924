"""Job payloads cross processes and releases: a job queued before an upgrade must still run after it.

Each payload type reads the JSON form the engine wrote so far and writes it back unchanged."""

from __future__ import annotations

import os
from typing import Any

import pytest
from nacl.exceptions import CryptoError

from bot.jobs import Discard, Draft, FetchMedia, ForgetAtProvider, Payload, SendLater

REF = {"channel": "twilio", "locator": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
       "kind": "photo", "content_type": "image/jpeg"}
COPIES = {"adapter": "twilio", "provider_messages": ["SM1"], "provider_address": "whatsapp:+447700900123"}

AS_QUEUED: list[tuple[type[Payload], dict[str, Any]]] = [
    (FetchMedia, {"id": "m1", "ref": REF, "report_id": "r1", "who": "p1"}),
    (Draft, {"report_id": "r1", "status": "incomplete", "urgent": True, "channel": "whatsapp", "language": "es",
             "started_at": "2026-01-01T00:00:00+00:00", "submitted_at": "2026-01-01T00:05:00+00:00",
             "answers": {"what": "a grey van"}, "media": [{"id": "m1", "ref": REF}], "receipt_hash": None,
             "follow_up": {"channel": "whatsapp", "address": "whatsapp:+447700900123"},
             "notes": ["not confirmed by the reporter"], "addendum_to": None, **COPIES}),
    (Discard, {"media": [{"id": "m1", "ref": REF}], **COPIES}),
    (ForgetAtProvider, COPIES),
    (SendLater, {"channel": "telegram", "address": "42", "replies": [{"text": "Hi", "choices": [["yes", "Yes"]],
                                                                     "rtl": False}]}),
    (SendLater, {"channel": "telegram", "address": "42", "replies": [], "outbox": True, "who": "p1",
                 "queued_at": 1.5}),
    (Draft, {"report_id": "r2", "status": "addendum", "urgent": False, "channel": "sms", "language": "en",
             "started_at": None, "submitted_at": "2026-01-01T00:05:00+00:00", "answers": {},
             "media": [{"id": "m1", "ref": REF}], "receipt_hash": None, "follow_up": None,
             "notes": ["a file received late"], "addendum_to": "r1", "adapter": "", "provider_messages": [],
             "provider_address": None, "late_file": "r1"}),
]


@pytest.mark.parametrize(("kind", "queued"), AS_QUEUED, ids=[k.__name__ for k, _ in AS_QUEUED])
def test_a_queued_payload_reads_and_writes_back_unchanged(kind: type[Payload], queued: dict[str, Any]) -> None:
    assert kind.from_dict(queued).to_dict() == queued


def test_a_sealed_payload_opens_only_with_the_session_key() -> None:
    key, other = os.urandom(32), os.urandom(32)
    draft = Draft.from_dict(AS_QUEUED[1][1])
    sealed = draft.seal(key)
    assert "grey van" not in sealed
    assert Draft.opened(key, sealed) == draft
    with pytest.raises(CryptoError):
        Draft.opened(other, sealed)


def test_a_discard_job_of_an_older_test_form_names_no_provider_copies() -> None:
    discard = Discard.from_dict({"media": [{"id": "m1", "ref": REF}]})
    assert discard.copies.messages == () and discard.media[0].ref.kind == "photo"

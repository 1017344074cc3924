"""What a conversation files: the report draft handed (sealed) to the `file_report` job.

Shared by the engine (a reporter confirms, or adds to a report) and the expiry job (a reporter
went quiet), so that every report is built the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import replace
from typing import Any

from bot.jobs import Discard, Draft, ProviderCopies, media_items
from bot.sessions import Session
from flows.machine import Conversation
from flows.spec import FlowSpec
from secure_store.report import now_iso

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_RECEIPT = re.compile(rf"^[{RECEIPT_ALPHABET}]{{12}}$")


def new_receipt() -> str:
    """12 characters from an unambiguous alphabet (60 bits), shown in groups of four."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def _fold_receipt(text: str) -> str:
    return re.sub(r"[\s\-.]", "", text).upper()


def looks_like_receipt(text: str | None) -> bool:
    """True for text shaped like a receipt code (any case, spaces or dashes anywhere)."""
    return bool(text) and len(text or "") <= 40 and bool(_RECEIPT.match(_fold_receipt(text or "")))


def receipt_hash(receipt: str, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256 with `PSEUDONYM_KEY`) of a receipt code; the code itself is never stored.

    The code is 60 random bits: without the key nobody can test a single guess against what is
    stored, and guesses sent as messages are limited. It costs ~2 µs, so it runs on the event loop
    (scrypt took 64 ms of CPU and 16 MiB per call at every confirmation)."""
    return hmac.new(key, b"receipt:" + _fold_receipt(receipt).encode(), hashlib.sha256).hexdigest()


def legacy_receipt_hash(receipt: str, pepper: bytes) -> str:
    """The slow hash receipts had before (scrypt n=2^14, r=8): codes handed out before the upgrade
    still find their report until their 90 days end. Delete it 90 days after upgrading."""
    return hashlib.scrypt(_fold_receipt(receipt).encode(), salt=pepper, n=2**14, r=8, p=1, dklen=32).hex()


def report_draft(session: Session, spec: FlowSpec, status: str, receipt_digest: str | None = None,
                 notes: tuple[str, ...] = ()) -> Draft:
    """The report as the worker files it. The reply address goes in only if the reporter agreed."""
    conversation = session.conversation
    answers = dict(conversation.answers)
    follow_up = None
    if spec.follow_up and answers.get(spec.follow_up) is True:
        follow_up = {"channel": session.reported_medium, "address": session.address, "adapter": session.adapter}
    return Draft(
        report_id=session.report_id,
        status=status,
        urgent=bool(spec.urgent and answers.get(spec.urgent) is True),
        medium=session.reported_medium,
        language=conversation.language,
        started_at=session.started_at,
        submitted_at=now_iso(),
        answers=answers,
        media=media_items(conversation.media),
        receipt_hash=receipt_digest,
        follow_up=follow_up,
        notes=notes,
        addendum_to=conversation.addendum_to,
        copies=provider_copies(session),
    )


FOLLOWUP_ENDED_NOTE = "the reporter ended follow-up (sent DELETE): the link to this report was erased; do not ask again"


def answer_draft(session: Session, spec: FlowSpec, question_id: str, ended: bool = False) -> Draft:
    """A reporter's answer to an analyst's question, filed as an addition to the report it was asked on
    (`session.conversation.addendum_to`) naming the question; `ended`: the reporter sent DELETE instead."""
    notes = (FOLLOWUP_ENDED_NOTE,) if ended else ()
    return replace(report_draft(session, spec, "addendum", notes=notes), question_id=question_id)


def provider_copies(session: Session) -> ProviderCopies:
    """What a worker needs to delete the conversation at the provider once it is filed or wiped:
    the adapter, the provider's ids of the messages (kept only by channels that use them) and,
    with those, the reply address (to find our own replies)."""
    ids = tuple(session.provider_messages)
    return ProviderCopies(session.adapter, ids, session.address if ids else None)


def discarded_draft(session: Session, media: list[dict[str, Any]], whole: bool) -> Discard:
    """The `discard_draft` job's payload: these media, and the provider's copies of the whole
    conversation when all of it goes (DELETE, CANCEL, expiry) rather than part (RESTART)."""
    return Discard(media_items(media), provider_copies(session) if whole else ProviderCopies(session.adapter),
                   session.report_id or None)


CONSENT = "consent"
"""The answer (a flow file's `store:`) that says the reporter agreed to go on."""


def consented(conversation: Conversation, spec: FlowSpec) -> bool:
    """The reporter agreed to go on: nothing they send is fetched or filed before. An addition to
    a filed report was agreed to then; a flow that stores no `consent` asks for none."""
    if conversation.addendum_to is not None:
        return True
    if not any(step.store == CONSENT for step in spec.steps.values()):
        return True
    return conversation.answers.get(CONSENT) in (True, "yes")


def worth_filing(session: Session, spec: FlowSpec) -> bool:
    """An expired draft is filed only if the reporter agreed and told us something (not just a language)."""
    conversation = session.conversation
    if not consented(conversation, spec):
        return False
    told = {k for k, v in conversation.answers.items() if v not in (None, "", [])}
    unreviewed = {s.store for s in spec.steps.values() if s.store and not s.review}
    return bool(conversation.media) or bool(told - unreviewed)

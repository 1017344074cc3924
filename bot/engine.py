"""One inbound message -> de-duplicate, lock, load, flow step, persist, enqueue, replies.

The engine is the only place that joins channels, conversations and the queue. It never logs
message content or addresses; its log lines name pseudonyms at most.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from adapters.base import Inbound, Reply
from bot.identity import message_key, pseudonym
from bot.sessions import Session, SessionStore
from flows.machine import ReportFlow, Said
from secure_store.report import now_iso
from workers.payload import seal_payload

log = logging.getLogger("tipline.engine")

MAX_MEDIA_PER_REPORT = 30
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

Enqueue = Callable[[str, str, str], None]
"""enqueue(job name in workers.jobs, sealed payload, job id): put a job on the queue (sync; run in a thread)."""


def new_receipt() -> str:
    """12 characters from an unambiguous alphabet (60 bits), shown in groups of four."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def receipt_hash(receipt: str, pepper: bytes) -> str:
    """Slow, peppered hash of a receipt code; the code itself is never stored."""
    normalised = receipt.replace("-", "").replace(" ", "").upper()
    return hashlib.scrypt(normalised.encode(), salt=pepper, n=2**14, r=8, p=1, dklen=32).hex()


class Engine:
    def __init__(
        self,
        sessions: SessionStore,
        flow: ReportFlow,
        pseudonym_key: bytes,
        session_key: bytes,
        enqueue: Enqueue,
    ) -> None:
        self.sessions = sessions
        self.flow = flow
        self.pseudonym_key = pseudonym_key
        self.session_key = session_key
        self.enqueue = enqueue

    async def handle(self, message: Inbound) -> list[Reply]:
        """Process one message exactly once, in order within its conversation."""
        who = pseudonym(self.pseudonym_key, message.channel, message.sender)
        seen_key = message_key(self.pseudonym_key, message.channel, message.message_id)
        async with self.sessions.lock(who):
            if await self.sessions.seen(seen_key):
                log.info("duplicate message ignored")
                return []
            session = await self.sessions.load(who)
            replies: list[Reply] = []
            if session is None:
                conversation = self.flow.new_conversation(message.language_hint or "en")
                session = Session(
                    conversation=conversation,
                    address=message.sender,
                    channel=message.channel,
                    kind=message.kind,
                    report_id=secrets.token_hex(16),
                    receipt=new_receipt(),
                    extra={"t0": now_iso()},
                )
                replies.extend(self.flow.begin(conversation))
                self._attach(session, message)
                await self.sessions.save(who, session, seen_key)
                return replies

            attached = self._attach(session, message)
            said = Said(text=message.text, choice=message.choice, location=message.location,
                        media_count=attached)
            outcome = self.flow.step(session.conversation, said)
            if outcome.wipe:
                await self._discard(session)
                await self.sessions.end(who, seen_key)
                return outcome.replies
            if outcome.submit:
                await self._submit(session)
                await self.sessions.end(who, seen_key)
                return [*outcome.replies, self.flow.receipt_reply(session.conversation, session.receipt)]
            await self.sessions.save(who, session, seen_key)
            return outcome.replies

    def _attach(self, session: Session, message: Inbound) -> int:
        media = session.conversation.media
        room = MAX_MEDIA_PER_REPORT - len(media)
        for ref in message.media[: max(room, 0)]:
            media.append({"id": secrets.token_hex(16), "ref": ref.to_dict()})
        return min(len(message.media), max(room, 0))

    async def _submit(self, session: Session) -> None:
        conversation = session.conversation
        draft: dict[str, Any] = {
            "report_id": session.report_id,
            "status": "complete",
            "urgent": bool(conversation.answers.get("urgent", False)),
            "channel": session.kind or session.channel,
            "language": conversation.language,
            "started_at": session.extra.get("t0"),
            "submitted_at": now_iso(),
            "answers": conversation.answers,
            "media": conversation.media,
            "receipt_hash": await asyncio.to_thread(receipt_hash, session.receipt, self.pseudonym_key),
            "follow_up": None,
        }
        payload = seal_payload(self.session_key, draft)
        await asyncio.to_thread(self.enqueue, "file_report", payload, f"file-{session.report_id}")
        log.info("report submitted for filing (media=%d)", len(conversation.media))

    async def _discard(self, session: Session) -> None:
        """Have a worker delete whatever of this draft's media was already stored or is at the provider."""
        if not session.conversation.media:
            return
        payload = seal_payload(self.session_key, {"media": session.conversation.media})
        await asyncio.to_thread(self.enqueue, "discard_draft", payload, f"discard-{session.report_id}")

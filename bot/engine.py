"""One inbound message -> de-duplicate, lock, load, flow step, persist, enqueue, replies.

The engine is the only place that joins channels, conversations and the queue. It never logs
message content or addresses; its log lines name pseudonyms at most.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from adapters.base import Chat, Inbound, MediaLimits, MediaRef, NotDelivered, Reply
from bot import metrics
from bot.constants import MAX_MEDIA_PER_REPORT
from bot.drafts import (
    answer_draft,
    consented,
    discarded_draft,
    legacy_receipt_hash,
    looks_like_receipt,
    new_receipt,
    receipt_hash,
    report_draft,
)
from bot.followup import FollowUps, Link
from bot.identity import message_mark, pseudonym
from bot.jobs import Draft, EnqueueNow, FetchMedia, Job, MediaItem, SendLater, media_items
from bot.quiet import QuietTimer
from bot.sessions import Hold, Session, SessionStore
from flows.machine import Outcome, ReportFlow, Said
from flows.sms import opts_out
from secure_store.report import now_iso

log = logging.getLogger("tipline.engine")

LEGACY_RECEIPTS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="legacy-receipt")
"""One thread for the old scrypt receipt lookups: off the event loop, and one 16 MiB buffer at most
(asyncio's default pool kept one per thread)."""


def acceptable(ref: MediaRef, limits: MediaLimits) -> bool:
    """False when what the provider says of a file already rules it out (type or size)."""
    content_type = (ref.content_type or "").split(";")[0].strip().lower()
    if content_type and content_type not in limits.allowed_types:
        return False
    return ref.size is None or ref.size <= limits.max_bytes


def country_of(message: Inbound) -> str | None:
    """The reporter's country for helpline numbers: the phone number's, or a region in language_code."""
    if message.country_hint:
        return message.country_hint.upper()
    hint = (message.language_hint or "").replace("_", "-").split("-")
    return hint[1].upper() if len(hint) == 2 and len(hint[1]) == 2 and hint[1].isalpha() else None


def ends_quietly(message: Inbound) -> bool:
    """STOP alone ends a conversation quietly on every channel; on SMS so does each word the
    carriers take as an opt-out (CANCEL, END, QUIT...: Twilio then blocks every reply)."""
    if message.media or message.location or message.choice or not message.text:
        return False
    if message.text.strip().strip(".!").upper() == "STOP":
        return True
    return message.medium.rsplit(":", 1)[-1] == "sms" and opts_out(message.text)


def files_alone(message: Inbound) -> bool:
    """Files with no words, pin or choice: a part of what may be an album (answered once, later).
    Not on SMS: an MMS carries all its files in one webhook, so it is the whole album already;
    nor where the channel says the file is not part of an album (a single Telegram photo)."""
    if message.medium.rsplit(":", 1)[-1] == "sms" or message.album is False:
        return False
    return bool(message.media) and not (message.text or "").strip() and message.location is None \
        and message.choice is None


def captioned_in_album(message: Inbound) -> bool:
    """A file of an album that carries words (Telegram puts an album's caption on one of its
    photos): part of the burst, answered once with it, when the words move the conversation on
    nowhere (the caller checks; a caption that picks an option is answered at once)."""
    return message.album is True and bool(message.media) and message.location is None and message.choice is None


Deliver = Callable[[str, str, list[Reply]], Awaitable[None]]
"""Send replies outside a webhook: (adapter name, reply address, replies), through that adapter's `send`."""


@dataclass
class Held:
    """What `Engine._handle` did: the replies to give now, or `held` for the album's answer."""

    replies: list[Reply]
    held: bool = False


ERASE_CHAT = "erase_chat"
"""The choice key of the "erase this chat" button offered at the end on channels that can."""


@dataclass
class Turn:
    """What one message did: the replies, the session as it now is, whether the conversation
    ended, and the media to fetch once the session is saved."""

    replies: list[Reply]
    session: Session
    ended: bool = False
    fetch: list[MediaItem] = field(default_factory=list)
    deleted: bool = False
    """The reporter deleted or cancelled it: replies still queued from before must not go out."""


class Engine:
    def __init__(
        self,
        sessions: SessionStore,
        flow: ReportFlow,
        pseudonym_key: bytes,
        session_key: bytes,
        enqueue: EnqueueNow,
        quiet: QuietTimer | None = None,
        limits: MediaLimits | None = None,
        clock: Callable[[], float] = time.time,
        addition_window: int = 0,
        followups: FollowUps | None = None,
        album_quiet: float = 0.0,
        deliver: Deliver | None = None,
    ) -> None:
        self.followups = followups
        self.sessions = sessions
        self.flow = flow
        self.pseudonym_key = pseudonym_key
        self.session_key = session_key
        self.enqueue = enqueue
        self.quiet = quiet
        self.limits = limits
        self.clock = clock
        """Wall-clock seconds; tests set it to walk a conversation through hours of quiet at once."""
        self.addition_window = addition_window
        self.album_quiet = album_quiet
        self.deliver = deliver
        self._background: set[asyncio.Task[None]] = set()

    async def handle(self, message: Inbound, chat: Chat | None = None) -> list[Reply]:
        """Process one message exactly once, in order within its conversation.

        With `chat` (channels that send while the webhook is open and can delete messages), the
        replies are sent inside the conversation's lock, so a burst of messages is answered in
        order, and the ids of both sides are kept to erase the chat at the end.

        Files alone (a Telegram album: one update per file; a WhatsApp multi-photo send: one webhook
        per file) get one answer per burst: each file is kept and its webhook answered at once (with
        nothing), and the acknowledgement is held in the session; `album_quiet` seconds after the
        burst's last file, with nothing newer, this process sends it through `chat` or, where the
        webhook is the only way back (Twilio's TwiML), through the adapter's own `send`. Any other
        message in between takes its place (its reply follows the files). The webhook never waits:
        Telegram delivers a chat's next update only once the webhook answered the last (a waiting
        webhook would hold back the album's next file), and providers deliver a bot's updates over a
        few connections, so a held one stalls other reporters'. A crash during the wait loses that
        acknowledgement, never a file or a second answer."""
        who = pseudonym(self.pseudonym_key, message.adapter, message.sender)
        mark = message_mark(self.pseudonym_key, message.adapter, message.message_id)
        done = await self._handle(who, mark, message, chat)
        if done.held:
            task = asyncio.create_task(self._acknowledge(who, mark, chat))
            self._background.add(task)
            task.add_done_callback(self._acknowledged)
        return done.replies

    async def answers_sent(self) -> None:
        """Wait for the albums' answers still waiting for quiet (at shutdown: each waits `album_quiet`)."""
        await asyncio.gather(*self._background, return_exceptions=True)

    def _acknowledged(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("album answer not sent (%s)", type(error).__name__)

    async def _acknowledge(self, who: str, mark: int, chat: Chat | None) -> None:
        """Send the burst's held answer once `album_quiet` passed with nothing newer (see `handle`)."""
        await asyncio.sleep(self.album_quiet)
        held = await self.sessions.load(who)
        if held is None or held.acknowledged_by != mark:  # most often: the reporter wrote again meanwhile
            return
        async with self.sessions.lock(who):
            session = await self.sessions.load(who)
            if session is None or session.acknowledged_by != mark:
                return
            replies, session.acknowledgement, session.acknowledged_by = session.acknowledgement, [], None
            sent = await self._send(who, self.clock(), session, chat, replies)
            if chat is not None and chat.can_erase:
                session.erasable.extend(sent)
            await self.sessions.save(who, session)

    async def _handle(self, who: str, mark: int, message: Inbound, chat: Chat | None) -> Held:
        async with self.sessions.opened(who, mark) as locked:
            session = locked.session
            if locked.handled:
                log.info("duplicate message ignored")
                return Held([])
            if chat is not None and message.choice == ERASE_CHAT:
                await self._erase(who, mark, message, chat)
                return Held([])
            if ends_quietly(message):
                await self._stop(who, mark, session)
                return Held([])
            link = self.followups.opened(locked.link, locked.link_before) if self.followups is not None else None
            if link is not None:  # (lock-and-open reads a link only where there is no session)
                return Held(await self._answer(who, mark, link, message, chat))
            agreed = session is not None and consented(session.conversation, self.flow.spec)
            now = self.clock()
            opened = session is not None
            step = session.conversation.state if session is not None else None
            pending = session.acknowledgement if session is not None else []
            if session is not None:
                session.acknowledgement, session.acknowledged_by = [], None
            turn = await self._turn(who, session, message, erasing=chat is not None and chat.can_erase,
                                    filed=locked.filed if self.addition_window else None)
            if turn.deleted:
                await self.sessions.mark_deleted(who, now)  # before any of this turn's replies is queued
                turn.session.late = False  # what waits is cancelled: the answer to DELETE goes at once
            burst = files_alone(message) or (captioned_in_album(message) and turn.session.conversation.state == step)
            if opened and not turn.ended and self.album_quiet and burst:
                refused = self._refusal(turn.session, 1)  # a file of the burst refused earlier is still said
                carried = refused if refused[0] in pending and refused[0] not in turn.replies else []
                turn.session.acknowledgement, turn.session.acknowledged_by = carried + turn.replies, mark
                await self._keep(who, turn.session, mark, locked.hold)
                await self._fetch_promptly(who, turn.session, self._to_fetch(turn, agreed))
                return Held([], held=True)
            if chat is not None:
                if turn.ended and chat.can_erase:
                    turn.replies.append(self.flow.erase_offer(turn.session.conversation, ERASE_CHAT))
                sent = await self._send(who, now, turn.session, chat, turn.replies)
                if chat.can_erase:
                    turn.session.erasable.extend(sent)
            if turn.ended:
                erasable = turn.session.erasable if chat is not None and chat.can_erase else None
                await self.sessions.end(who, mark, erasable, release=locked.hold)
            else:
                await self._keep(who, turn.session, mark, locked.hold)
                await self._fetch_promptly(who, turn.session, self._to_fetch(turn, agreed))
            return Held(turn.replies)

    async def _send(self, who: str, now: float, session: Session, chat: Chat | None,
                    replies: list[Reply]) -> list[str]:
        """Send now, through `chat` or (no webhook open to answer in) the adapter's own `send`; what
        the provider could not take goes to a worker, and so does everything after it while any of it
        waits (the reporter reads replies in order). Returns the sent ids (none known without `chat`)."""
        if session.late and replies:
            if await self.sessions.late_waiting(who):
                await self._send_later(who, now, session, replies)
                return []
            session.late = False
        try:
            if chat is not None:
                return await chat.send(replies)
            await self._send_outside(session, replies)
            return []
        except NotDelivered as undelivered:
            await self._send_later(who, now, session, undelivered.remaining)
            return undelivered.sent

    async def _send_outside(self, session: Session, replies: list[Reply]) -> None:
        """Through the conversation's adapter, as workers send reminders; any failure is `NotDelivered`."""
        try:
            if self.deliver is None:
                raise NotDelivered(replies, [])
            await self.deliver(session.adapter, session.address, replies)
        except Exception as exc:
            raise NotDelivered(replies, []) from exc

    async def _turn(self, who: str, session: Session | None, message: Inbound, erasing: bool = False,
                    filed: dict[str, Any] | None = None) -> Turn:
        """Apply one message: the replies, the session as it now is, and whether it ended. `filed`: the
        report this sender filed within the addition window, for a first message (`Opened.filed`)."""
        opening: list[Reply] | None = None
        if session is None:
            session, opening = self._start(message)
        self._remember(session, message, erasing)
        attached, refused = self._attach(session, message)
        if not session.conversation.answers and looks_like_receipt(message.text) and (
                await self.sessions.allow_receipt_guess(who, self.clock())) and (
                found := await self._addendum(session, message.text or "")):
            return Turn(self._refusal(session, refused) + found, session, fetch=attached)
        said = Said(text=message.text, choice=message.choice, location=message.location,
                    media_count=len(attached))
        if filed is not None and self.flow.spec.after_filing:
            outcome = self._after_filing(session, filed, said)
            if outcome.end is not None:
                await self.sessions.forget_filing(who)
                return Turn(await self._finish(who, session, outcome), session, ended=True)
            return Turn(self._refusal(session, refused) + outcome.replies, session, fetch=attached)
        if opening is not None:  # a first message opens the conversation; it answers nothing yet
            return Turn(self._refusal(session, refused) + opening, session, fetch=attached)
        outcome = self.flow.step(session.conversation, said)
        if outcome.dropped:
            await self._discard(session, outcome.dropped)
        outcome.replies[:0] = self._refusal(session, refused)
        if outcome.end is None:
            return Turn(outcome.replies, session, fetch=attached)
        if outcome.end == "discard" and session.conversation.addendum_to:
            await self.sessions.forget_filing(who)
        return Turn(await self._finish(who, session, outcome), session, ended=True,
                    deleted=outcome.end == "discard")

    def _after_filing(self, session: Session, filed: dict[str, Any], said: Said) -> Outcome:
        """A first message soon after this sender filed a report: offer to add it to that report."""
        media = session.conversation.media
        conversation, outcome = self.flow.after_filing(str(filed["r"]), str(filed.get("l") or "en"),
                                                       filed.get("co"), said)
        conversation.media = media
        session.conversation = conversation
        return outcome

    async def _stop(self, who: str, mark: int, session: Session | None) -> None:
        """STOP (or, on SMS, a carrier's opt-out word): the draft goes, with its media, and nothing
        is said (on SMS the carrier has opted the reporter out: a reply would fail)."""
        await self.sessions.forget_filing(who)
        if session is None:
            if self.followups is not None and await self.followups.find(who) is not None:
                await self.followups.end(who)  # an opt-out ends follow-up too: never ask again
            await self.sessions.mark(who, mark)
            return
        await self._discard(session, session.conversation.media, whole=True)
        await self.sessions.mark_deleted(who, self.clock())
        await self.sessions.end(who, mark)
        log.info("conversation ended by a stop word; nothing kept")

    async def _answer(self, who: str, mark: int, link: Link, message: Inbound, chat: Chat | None) -> list[Reply]:
        """A reporter with a live follow-up link and no open conversation answers the analyst's question:
        the message (text, files, a location) is filed at once as an addition linked to the report and
        the question, and the reporter thanked. DELETE instead ends the thread (docs/follow-up.md)."""
        assert self.followups is not None
        conversation = self.flow.new_conversation(link.language)
        conversation.addendum_to = link.report_id
        session = Session(conversation=conversation, address=message.sender, adapter=message.adapter,
                          medium=message.medium, report_id=secrets.token_hex(16), started_at=now_iso())
        self._remember(session, message, erasing=chat is not None and chat.can_erase)
        text = (message.text or "").strip()
        if text and not message.media and self.flow.global_word(conversation, text) == "delete":
            await self.followups.end(who)
            await self._file(answer_draft(session, self.flow.spec, link.question_id, ended=True))
            replies = [self.flow.message(conversation, "followup.ended")]
        else:
            attached, refused = self._attach(session, message)
            replies = self._refusal(session, refused)
            if text:
                conversation.answers["answer"] = [text]
            if message.location is not None:
                conversation.answers["location"] = self.flow.place(Said(location=message.location))
            if conversation.answers or attached:
                await self._file(answer_draft(session, self.flow.spec, link.question_id))
                await self.followups.heard(who, link)
                replies.append(self.flow.message(conversation, "followup.thanks"))
        if chat is not None:
            await self._send(who, self.clock(), session, chat, replies)
        await self.sessions.mark(who, mark)
        return replies

    async def _erase(self, who: str, mark: int, message: Inbound, chat: Chat) -> None:
        """The reporter pressed "erase this chat": delete both sides of the finished conversation."""
        ids = [*await self.sessions.take_erasable(who), *message.provider_message_ids]
        await self.sessions.mark(who, mark)
        if ids:
            await chat.erase(ids)
            log.info("chat erased at the reporter's request (%d messages)", len(ids))

    def _start(self, message: Inbound) -> tuple[Session, list[Reply]]:
        language = self.flow.pick_language(message.language_hint, message.country_hint)
        conversation = self.flow.new_conversation(language, country_of(message))
        session = Session(
            conversation=conversation,
            address=message.sender,
            adapter=message.adapter,
            medium=message.medium,
            report_id=secrets.token_hex(16),
            started_at=now_iso(),
        )
        return session, self.flow.begin(conversation)

    async def _keep(self, who: str, session: Session, mark: int, hold: Hold | None = None) -> None:
        """Save the live conversation and restart its quiet clock (releasing `hold`, the message's lock,
        in the same round trip: nothing after the save needs it)."""
        session.messages += 1
        session.last_message_at = now = round(self.clock(), 1)
        if self.quiet is None:
            await self.sessions.save(who, session, mark, release=hold)
            return
        token = secrets.token_hex(8)
        if await self.sessions.save(who, session, mark, self.quiet.check_at(now), token, release=hold):
            await asyncio.to_thread(self.quiet.start_sweeper, token)

    async def _addendum(self, session: Session, code: str) -> list[Reply]:
        """A receipt code: if it names a filed report, collect an addition to it."""
        report_id = await self.sessions.find_receipt(receipt_hash(code, self.pseudonym_key))
        if report_id is None:  # a code handed out before receipts were HMACs (kept 90 days)
            legacy = await asyncio.get_running_loop().run_in_executor(
                LEGACY_RECEIPTS, legacy_receipt_hash, code, self.pseudonym_key)
            report_id = await self.sessions.find_receipt(legacy)
        if report_id is None or not self.flow.spec.addendum:
            return []
        log.info("receipt code accepted")
        return self.flow.enter_addendum(session.conversation, report_id)

    async def _finish(self, who: str, session: Session, outcome: Outcome) -> list[Reply]:
        if outcome.end == "discard":
            await self._discard(session, session.conversation.media, whole=True)
            return outcome.replies
        if outcome.end == "addendum":
            await self._file(report_draft(session, self.flow.spec, "addendum"))
            return outcome.replies
        receipt = new_receipt()
        digest = receipt_hash(receipt, self.pseudonym_key)
        await self._file(report_draft(session, self.flow.spec, "complete", digest))
        conversation = session.conversation
        window = self.addition_window if self.flow.spec.after_filing else 0
        await self.sessions.remember_filing(digest, session.report_id, who, conversation.language,
                                            conversation.country, window)
        return [*outcome.replies, self.flow.closing(session.conversation, receipt=receipt)]

    @staticmethod
    def _remember(session: Session, message: Inbound, erasing: bool) -> None:
        """Keep the provider's ids of the reporter's messages (encrypted, in the session) so that
        the chat can be erased (Telegram) or the provider's copies deleted after filing (Twilio)."""
        if message.provider_message_ids:
            (session.erasable if erasing else session.provider_messages).extend(message.provider_message_ids)

    def _attach(self, session: Session, message: Inbound) -> tuple[list[MediaItem], int]:
        """Add the message's media to the draft; returns (the new items, how many were refused).

        Media the provider already tells us are of a refused type or too large are refused at
        once (the reporter is told); the worker checks the real bytes again."""
        media = session.conversation.media
        added: list[MediaItem] = []
        refused = 0
        for ref in message.media:
            if self.limits and not acceptable(ref, self.limits):
                refused += 1
            elif len(media) < MAX_MEDIA_PER_REPORT:
                added.append(session.attach_file(self.session_key, ref))
            else:
                refused += 1
        return added, refused

    def _refusal(self, session: Session, refused: int) -> list[Reply]:
        return [self.flow.message(session.conversation, "media.refused")] if refused else []

    def _to_fetch(self, turn: Turn, agreed_before: bool) -> list[MediaItem]:
        """Consent first: files sent before the reporter agrees stay references at the provider;
        all of them are fetched once they agree (a "no" drops them with the draft)."""
        if not consented(turn.session.conversation, self.flow.spec):
            return []
        return turn.fetch if agreed_before else list(media_items(turn.session.conversation.media))

    async def _fetch_promptly(self, who: str, session: Session, items: list[MediaItem]) -> None:
        """Fetch new media from the provider now (its links can expire); filing uses what is stored.

        Enqueued after the draft is saved, so a crash in between leaves filing to fetch them itself.
        The job knows the conversation (by pseudonym) so it can tell the reporter if a file is refused."""
        for item in items:
            payload = FetchMedia(item, session.report_id, who).seal(self.session_key)
            await self.enqueue(Job.FETCH_MEDIA, payload, f"media-{item.id}")

    async def _send_later(self, who: str, queued_at: float, session: Session, replies: list[Reply]) -> None:
        """The provider is down: these replies join the conversation's outbox, which a worker sends
        in order when it is back (retried, with backoff), unless the reporter deletes the
        conversation after `queued_at` (see `SessionStore.mark_deleted`)."""
        late = SendLater(session.adapter, session.address, tuple(replies), who, queued_at)
        await self.sessions.queue_late(who, late.seal(self.session_key))
        session.late = True
        payload = SendLater(session.adapter, session.address, (), who, queued_at, outbox=True).seal(self.session_key)
        await self.enqueue(Job.SEND_LATER, payload, f"send-{secrets.token_hex(8)}")

    async def _file(self, draft: Draft) -> None:
        payload = draft.seal(self.session_key)
        await self.enqueue(Job.FILE_REPORT, payload, f"file-{draft.report_id}")
        metrics.REPORTS.labels(draft.status).inc()
        log.info("report submitted for filing (status=%s, media=%d)", draft.status, len(draft.media))

    async def _discard(self, session: Session, media: list[dict[str, Any]], whole: bool = False) -> None:
        """Have a worker delete whatever of these media was already stored or is at the provider
        (and, when the whole draft goes, the conversation at the provider)."""
        draft = discarded_draft(session, media, whole)
        if not draft.media and not draft.copies.messages:
            return
        job_id = f"discard-{session.report_id}-{secrets.token_hex(4)}"
        await self.enqueue(Job.DISCARD_DRAFT, draft.seal(self.session_key), job_id)

"""RQ jobs. Each is idempotent: run twice, or killed and retried at any point, it files exactly once.

Filing order: every media object (its status record first), then the report object, then clean-up
(status records, provider copies) and the optional analyst notification. The report object is the
commit point: analysts see a report only once everything it lists is stored.

A file the provider cannot hand over now (5xx, 429, timeouts) never holds its report back: the
report is filed listing it as missing, with why, and a job of its own (an addition to the report,
`Draft.late_file`) fetches it with backoff and files it as an addition once it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from dataclasses import replace
from typing import Any

from redis.exceptions import LockError, RedisError

from adapters.base import Adapter, MediaRef, MediaRefused, NotDelivered
from bot.constants import OUTBOX_CLAIM_SECONDS
from bot.jobs import (
    Discard,
    Draft,
    FetchMedia,
    ForgetAtProvider,
    Job,
    MediaItem,
    ProviderCopies,
    SendLater,
    open_payload,
    seal_payload,
)
from bot.keys import RedisKeys
from bot.media_status import DISCARDED
from bot.queue import enqueue, make_queue
from bot.redis_connection import async_redis
from bot.sessions import SessionStore
from config.errors import Refused, Transient
from secure_store.filing import each_at_once, file_media, is_filed
from secure_store.filing import file_report as store_report
from secure_store.report import SCHEMA_ID, media_name, now_iso
from workers import notify
from workers.context import WorkerContext, worker_context
from workers.media import prepare
from workers.media_claim import FileBusy, fetching
from workers.reporter import tell

log = logging.getLogger("tipline.worker")

DISCARDED_NOTE = "the reporter deleted this draft"
MISSING_NOTE = ("not received: {reason}. The report was filed without it; the file is being fetched again "
                "and will be filed as an addition to this report when it arrives")
LATE_FILE_NOTE = "a file sent with the report this adds to, received after that report was filed"


class NotReceived(Transient):
    """The provider could not hand over a file now (an outage, a timeout); the message says why in
    words an analyst reads, without the link."""


async def _fetch(context: WorkerContext, ref: MediaRef) -> bytes:
    adapter = context.adapters.get(ref.adapter)
    if adapter is None:
        raise MediaRefused(f"channel {ref.adapter!r} is not enabled in this worker")
    data, _claimed_type = await adapter.fetch_media(ref, context.limits)
    return data


def _refused(entry: dict[str, Any], note: str) -> dict[str, Any]:
    return {**entry, "status": "refused", "note": note}


def _reason(exc: Exception) -> str:
    """Why a file was not received, safe to log and to show an analyst (never a link)."""
    if isinstance(exc, Transient):
        return str(exc)
    return f"the provider could not be reached ({type(exc).__name__})"


def store_media(context: WorkerContext, item: MediaItem, report_id: str | None,
                fetch_missing: bool = True) -> dict[str, Any]:
    """Fetch, check, clean, seal and store one media item of report `report_id` (which names its
    status record) unless already done; return its report entry. Refusals become entries with a
    note; a file not received now raises `NotReceived`.
    A file its report was filed without (status "missing") is fetched only with `fetch_missing`:
    by the addition that carries it, never by a prompt fetch that would leave it in no report."""
    settled, _ = _settled(context, item, report_id, fetch_missing)
    if settled is not None:
        return settled
    try:
        with fetching(context.redis, item.id):  # one worker fetches and decodes a file at a time
            return _store_claimed(context, item, report_id, fetch_missing)
    except FileBusy as exc:
        raise NotReceived(str(exc)) from None


def _settled(context: WorkerContext, item: MediaItem, report_id: str | None,
             fetch_missing: bool) -> tuple[dict[str, Any] | None, bool]:
    """The file's entry when there is nothing to fetch (refused, stored, discarded, or left to its
    addition), and whether its sealed object exists."""
    known = context.media_status.load(item.id, report_id)
    stored = context.store.exists(media_name(item.id))
    if known == DISCARDED:
        return _refused({"id": item.id, "kind": item.ref.kind}, DISCARDED_NOTE), stored
    if known is not None and (known["status"] == "refused" or stored
                              or (known["status"] == "missing" and not fetch_missing)):
        return known, stored
    return None, stored


def _store_claimed(context: WorkerContext, item: MediaItem, report_id: str | None,
                   fetch_missing: bool) -> dict[str, Any]:
    """`store_media` for the holder of the file's claim: whoever held it before may have stored it."""
    settled, stored = _settled(context, item, report_id, fetch_missing)
    if settled is not None:
        return settled
    media_id, ref = item.id, item.ref
    status = context.media_status
    entry: dict[str, Any] = {"id": media_id, "kind": ref.kind}
    try:
        prepared = prepare(asyncio.run(_fetch(context, ref)), context.limits)
    except MediaRefused as exc:
        if stored:
            log.warning("stored media could not be fetched again to describe it")
            return {**entry, "status": "stored", "object": media_name(media_id),
                    "note": "stored earlier; type, size and checksum are no longer known"}
        log.info("media refused: %s", exc)
        entry = _refused(entry, str(exc))
        status.claim(media_id, entry, report_id)
        return entry
    except Exception as exc:  # any trouble getting or reading one file is that file's, never its report's
        log.warning("media not received now: %s", type(exc).__name__)
        raise NotReceived(_reason(exc)) from None
    entry = {
        **entry,
        "status": "stored",
        "object": media_name(media_id),
        "content_type": prepared.content_type,
        "size": prepared.size,
        "sha256": prepared.sha256,
        "metadata": prepared.metadata,
        **({"note": prepared.note} if prepared.note else {}),
    }
    if not status.claim(media_id, entry, report_id):
        return _refused(entry, DISCARDED_NOTE)
    file_media(context.store, context.recipients, media_id, prepared.data)
    if status.discarded(media_id, report_id):
        context.store.delete(media_name(media_id))
        return _refused(entry, DISCARDED_NOTE)
    return entry


async def _discard(context: WorkerContext, items: tuple[MediaItem, ...]) -> None:
    for item in items:
        ref = item.ref
        adapter = context.adapters.get(ref.adapter)
        if adapter is None:
            continue
        try:
            await adapter.discard_media(ref)
        except Exception as exc:  # the report is filed; a leftover provider copy is logged, not fatal
            log.warning("could not delete provider copy of media: %s", type(exc).__name__)


def _forget_at_provider(context: WorkerContext, copies: ProviderCopies) -> None:
    """Schedule the deletion of the conversation at the provider (where the channel can), late
    enough that its last replies have been sent and logged (`PROVIDER_CLEANUP_DELAY`)."""
    if not copies.messages or copies.adapter not in context.adapters:
        return
    payload = ForgetAtProvider(copies).seal(context.settings.session_key)
    enqueue(make_queue(context.redis, context.settings.queue_name), Job.DISCARD_PROVIDER_MESSAGES, payload,
            f"forget-{secrets.token_hex(8)}", delay=context.settings.provider_cleanup_delay)


def discard_provider_messages(payload: str) -> str:
    """Delete a finished conversation's messages at the provider; raising retries with backoff."""
    context = worker_context()
    copies = ForgetAtProvider.opened(context.settings.session_key, payload).copies
    adapter = context.adapters.get(copies.adapter)
    if adapter is None:
        return "channel not enabled here"
    asyncio.run(adapter.discard_messages(list(copies.messages), copies.address))
    return f"deleted {len(copies.messages)} and our replies"


def with_caption(entry: dict[str, Any], item: MediaItem) -> dict[str, Any]:
    """The report entry of a file, with what the reporter wrote with it, if anything."""
    return {**entry, "caption": item.caption} if item.caption else entry


def fetch_media(payload: str) -> str:
    """Fetch one media item soon after it arrives (provider links expire) and store it sealed.

    Payload: `bot.jobs.FetchMedia`; job id `media-<id>`."""
    context = worker_context()
    job = FetchMedia.opened(context.settings.session_key, payload)
    if job.report_id and is_filed(context.store, job.report_id):
        return "report already filed"
    entry = store_media(context, job.item, job.report_id, fetch_missing=False)
    if entry["status"] == "refused" and entry.get("note") != DISCARDED_NOTE and job.who:
        asyncio.run(_tell_refused(context, job.who))
    return str(entry["status"])


async def _tell_refused(context: WorkerContext, who: str) -> None:
    """A file the reporter sent could not be accepted: say so, politely, while they are still writing."""
    settings = context.settings
    redis = async_redis(settings)
    try:
        session = await SessionStore.from_settings(redis, settings).load(who)
    finally:
        await redis.aclose()
    if session is not None:
        await tell(context, session, context.flow.message(session.conversation, "media.refused"), "refusal notice")


def _report(draft: Draft, media: list[dict[str, Any]]) -> dict[str, Any]:
    """The stored report (secure_store/report.schema.json): its `channel` is the draft's medium."""
    return {
        "schema": SCHEMA_ID,
        "report_id": draft.report_id,
        "status": draft.status,
        "urgent": draft.urgent,
        "channel": draft.medium,
        "language": draft.language,
        "started_at": draft.started_at,
        "submitted_at": draft.submitted_at,
        "filed_at": now_iso(),
        "answers": draft.answers,
        "receipt_hash": draft.receipt_hash,
        "follow_up": draft.follow_up,
        "notes": list(draft.notes),
        "addendum_to": draft.addendum_to,
        "question_id": draft.question_id,
        "media": media,
    }


def _announce(context: WorkerContext, report: dict[str, Any]) -> None:
    """Queue the analyst notification as its own retried job: it can never undo or repeat filing.
    A re-run of a filed report's job announces again (at least once; receivers de-duplicate by id)."""
    if not context.settings.analyst_webhook_url:
        return
    queue = make_queue(context.redis, context.settings.queue_name)
    payload = seal_payload(context.settings.session_key, notify.event(report))
    enqueue(queue, Job.NOTIFY_ANALYSTS, payload, f"notify-{report['report_id']}")


def _entry(context: WorkerContext, draft: Draft, item: MediaItem) -> dict[str, Any]:
    """A file's entry in the report being filed: stored, refused, or missing (not received now;
    recorded so that a re-run after filing still sends it after the report)."""
    try:
        return with_caption(store_media(context, item, draft.report_id), item)
    except NotReceived as exc:
        if draft.late_file:
            raise  # the addition waits for its file: RQ retries it with backoff
        entry = {"id": item.id, "kind": item.ref.kind, "status": "missing", "note": MISSING_NOTE.format(reason=exc)}
        if not context.media_status.claim(item.id, entry, draft.report_id):
            entry = _refused(entry, DISCARDED_NOTE)
        return with_caption(entry, item)


def late_addition(draft: Draft, item: MediaItem) -> Draft:
    """The addition that files `item` once it arrives. Its id follows from the file's, so however
    often it is queued it is filed once; it adds to the report `draft` adds to, or to `draft`."""
    addition_id = hashlib.sha256(f"late-file:{item.id}".encode()).hexdigest()[:32]
    return replace(draft, report_id=addition_id, status="addendum", addendum_to=draft.addendum_to or draft.report_id,
                   answers={}, media=(item,), receipt_hash=None, follow_up=None, notes=(LATE_FILE_NOTE,),
                   question_id=None, copies=ProviderCopies(), late_file=draft.report_id)


def _missing(context: WorkerContext, draft: Draft, entries: list[dict[str, Any]] | None) -> set[str]:
    """The ids of files the report was filed without: from this run's entries, or (a re-run of a
    filed report) from their status records."""
    if entries is not None:
        return {e["id"] for e in entries if e["status"] == "missing"}
    return {i.id for i in draft.media
            if (known := context.media_status.load(i.id, draft.report_id)) and known.get("status") == "missing"}


def file_report(payload: str) -> str:
    """File one confirmed report (or addendum): media, then the report, then clean-up.
    Safe to run again at any point; uses media a `fetch_media` job already stored. Each file not
    received now goes to an addition of its own (`late_addition`), queued once the report is filed."""
    context = worker_context()
    draft = Draft.opened(context.settings.session_key, payload)
    report_id = draft.report_id
    items = draft.media
    written = False
    entries = None
    if is_filed(context.store, report_id):
        report = _report(draft, [])
    else:
        entries = each_at_once(lambda item: _entry(context, draft, item), items)
        report = _report(draft, entries)
        written = store_report(context.store, context.recipients, report)
    missing = _missing(context, draft, entries)
    queue = make_queue(context.redis, context.settings.queue_name)
    for item in items:
        if item.id in missing:
            addition = late_addition(draft, item)
            enqueue(queue, Job.FILE_REPORT, addition.seal(context.settings.session_key), f"file-{addition.report_id}")
    _announce(context, report)
    done = tuple(item for item in items if item.id not in missing)
    context.media_status.forget([item.id for item in done], report_id)
    if draft.late_file:  # its "missing" entry, in the record of the report filed without it
        context.media_status.forget([item.id for item in done], draft.late_file)
    if done:
        asyncio.run(_discard(context, done))
    _forget_at_provider(context, draft.copies)
    log.info("report filed (new=%s, media=%d, missing=%d)", written, len(items), len(missing))
    return "filed" if written else "already filed"


def notify_analysts(payload: str) -> str:
    """POST the signed notification; raising makes RQ retry it with backoff."""
    context = worker_context()
    event = open_payload(context.settings.session_key, payload)
    asyncio.run(notify.send(context.settings.analyst_webhook_url, context.settings.analyst_webhook_secret, event))
    return "notified"


def discard_draft(payload: str) -> str:
    """Delete a cancelled or wiped draft's media (sealed copies in the store, provider copies) and,
    when the payload names them, the reporter's messages at the provider.
    A `fetch_media` job still to run for one of them then stores nothing."""
    context = worker_context()
    draft = Discard.opened(context.settings.session_key, payload)
    items = draft.media
    for item in items:
        context.media_status.mark_discarded(item.id, draft.report_id)
        context.store.delete(media_name(item.id))
    asyncio.run(_discard(context, items))
    _forget_at_provider(context, draft.copies)
    return f"discarded {len(items)}"


class OutboxBusy(Transient):
    """Another worker is sending this conversation's waiting replies; this job looks again later."""


def send_later(payload: str) -> str:
    """Send replies the provider could not take while the webhook was open: the conversation's whole
    outbox, oldest first, each sent reply's id kept for "erase this chat"; raising retries with backoff."""
    context = worker_context()
    message = SendLater.opened(context.settings.session_key, payload)
    adapter = context.adapters.get(message.adapter)
    if adapter is None:
        log.warning("replies for a channel this worker does not run were dropped")
        return "no such channel"
    if message.outbox:
        return asyncio.run(_send_outbox(context, adapter, message.who))
    if deleted_since(context, message):  # a job queued by an earlier release carries its replies
        log.info("replies queued before the reporter deleted the conversation were not sent")
        return f"not sent {len(message.replies)}: deleted"
    asyncio.run(adapter.send(message.address, list(message.replies)))
    return f"sent {len(message.replies)}"


async def _send_outbox(context: WorkerContext, adapter: Adapter, who: str) -> str:
    """Send `who`'s waiting batches in order, one worker at a time; a batch goes from the outbox only
    once sent (what went out of a batch cut short by an outage is taken off it, the rest retried)."""
    settings = context.settings
    redis = async_redis(settings)
    sessions = SessionStore.from_settings(redis, settings)
    claim = redis.lock(RedisKeys().outbox_claim(who), timeout=OUTBOX_CLAIM_SECONDS)
    sent = dropped = refusals = 0
    try:
        if not await claim.acquire(blocking=False):
            raise OutboxBusy("another worker is sending this conversation's replies")
        try:
            while (sealed := await sessions.next_late(who)) is not None:
                batch = SendLater.opened(settings.session_key, sealed)
                if deleted_since(context, batch):
                    await sessions.sent_late(who)
                    dropped += len(batch.replies)
                    continue
                try:
                    ids = await adapter.send(batch.address, list(batch.replies))
                except NotDelivered as cut:
                    await sessions.add_erasable(who, cut.sent)
                    rest = replace(batch, replies=tuple(cut.remaining))
                    await sessions.sent_late(who, rest.seal(settings.session_key))
                    raise
                except Refused as refused:  # never deliverable (opted out, blocked): retrying would hold
                    await sessions.sent_late(who)  # every later reply behind it for days
                    refusals += len(batch.replies)
                    log.warning("late replies the provider refuses for good were dropped (%s)",
                                type(refused).__name__)
                    continue
                await sessions.add_erasable(who, ids or [])
                await sessions.sent_late(who)
                sent += len(batch.replies)
        finally:
            with contextlib.suppress(LockError, RedisError):  # not released: it lapses by itself
                await claim.release()
    finally:
        await redis.aclose()
    if dropped:
        log.info("replies queued before the reporter deleted the conversation were not sent")
    return f"sent {sent}, not sent {dropped}: deleted, {refusals}: refused"


def deleted_since(context: WorkerContext, message: SendLater) -> bool:
    """True when the reporter deleted the conversation after these replies were queued."""
    if not message.who:
        return False
    raw = context.redis.get(RedisKeys().deleted(message.who))
    return isinstance(raw, bytes) and float(raw) > message.queued_at

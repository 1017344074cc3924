"""RQ jobs. Each is idempotent: run twice, or killed and retried at any point, it files exactly once.

Filing order: every media object (its status record first), then the report object, then clean-up
(status records, provider copies) and the optional analyst notification. The report object is the
commit point: analysts see a report only once everything it lists is stored.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from adapters.base import MediaRef, MediaRefused
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
from secure_store.filing import each_at_once, file_media, is_filed
from secure_store.filing import file_report as store_report
from secure_store.report import SCHEMA_ID, media_name, now_iso
from workers import notify
from workers.context import WorkerContext, worker_context
from workers.media import prepare
from workers.reporter import tell

log = logging.getLogger("tipline.worker")

DISCARDED_NOTE = "the reporter deleted this draft"


async def _fetch(context: WorkerContext, ref: MediaRef) -> bytes:
    adapter = context.adapters.get(ref.adapter)
    if adapter is None:
        raise MediaRefused(f"channel {ref.adapter!r} is not enabled in this worker")
    data, _claimed_type = await adapter.fetch_media(ref, context.limits)
    return data


def _refused(entry: dict[str, Any], note: str) -> dict[str, Any]:
    return {**entry, "status": "refused", "note": note}


def store_media(context: WorkerContext, item: MediaItem, report_id: str | None) -> dict[str, Any]:
    """Fetch, check, clean, seal and store one media item of report `report_id` unless already done;
    return its report entry. Raises on transient failures (the job retries); refusals become entries
    with a note."""
    media_id, ref = item.id, item.ref
    status = context.media_status
    known = status.load(media_id, report_id)
    stored = context.store.exists(media_name(media_id))
    entry: dict[str, Any] = {"id": media_id, "kind": ref.kind}
    if known == DISCARDED:
        return _refused(entry, DISCARDED_NOTE)
    if known is not None and (known["status"] == "refused" or stored):
        return known
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
    entry = store_media(context, job.item, job.report_id)
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


def file_report(payload: str) -> str:
    """File one confirmed report (or addendum): media, then the report, then clean-up.
    Safe to run again at any point; uses media a `fetch_media` job already stored."""
    context = worker_context()
    draft = Draft.opened(context.settings.session_key, payload)
    report_id = draft.report_id
    items = draft.media
    written = False
    if is_filed(context.store, report_id):
        report = _report(draft, [])
    else:
        report = _report(draft, each_at_once(
            lambda item: with_caption(store_media(context, item, report_id), item), items))
        written = store_report(context.store, context.recipients, report)
    _announce(context, report)
    context.media_status.forget([item.id for item in items], report_id)
    asyncio.run(_discard(context, items))
    _forget_at_provider(context, draft.copies)
    log.info("report filed (new=%s, media=%d)", written, len(items))
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


def send_later(payload: str) -> str:
    """Send replies the provider could not take while the webhook was open; raising retries with backoff."""
    context = worker_context()
    message = SendLater.opened(context.settings.session_key, payload)
    adapter = context.adapters.get(message.adapter)
    if adapter is None:
        log.warning("replies for a channel this worker does not run were dropped")
        return "no such channel"
    if deleted_since(context, message):
        log.info("replies queued before the reporter deleted the conversation were not sent")
        return f"not sent {len(message.replies)}: deleted"
    asyncio.run(adapter.send(message.address, list(message.replies)))
    return f"sent {len(message.replies)}"


def deleted_since(context: WorkerContext, message: SendLater) -> bool:
    """True when the reporter deleted the conversation after these replies were queued."""
    if not message.who:
        return False
    raw = context.redis.get(RedisKeys().deleted(message.who))
    return isinstance(raw, bytes) and float(raw) > message.queued_at

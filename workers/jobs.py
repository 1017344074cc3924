"""RQ jobs. Each is idempotent: run twice, or killed and retried, it files exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from adapters.base import MediaRef, MediaRefused
from secure_store.filing import file_media, is_filed
from secure_store.filing import file_report as store_report
from secure_store.report import SCHEMA_ID, media_name, now_iso
from workers.context import WorkerContext, worker_context
from workers.payload import open_payload

log = logging.getLogger("tipline.worker")


async def _fetch(context: WorkerContext, ref: MediaRef) -> tuple[bytes, str]:
    adapter = context.adapters.get(ref.channel)
    if adapter is None:
        raise MediaRefused(f"channel {ref.channel!r} is not enabled in this worker")
    return await adapter.fetch_media(ref, context.limits)


def _media_entry(context: WorkerContext, item: dict[str, Any]) -> dict[str, Any]:
    """Fetch, seal and store one media item unless already stored; return its report entry."""
    media_id = item["id"]
    ref = MediaRef.from_dict(item["ref"])
    entry: dict[str, Any] = {"id": media_id, "kind": ref.kind}
    try:
        data, content_type = asyncio.run(_fetch(context, ref))
    except MediaRefused as exc:
        log.info("media refused: %s", exc)
        return {**entry, "status": "refused", "note": str(exc)}
    file_media(context.store, context.recipients, media_id, data)
    return {
        **entry,
        "status": "stored",
        "object": media_name(media_id),
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


async def _discard(context: WorkerContext, items: list[dict[str, Any]]) -> None:
    for item in items:
        ref = MediaRef.from_dict(item["ref"])
        adapter = context.adapters.get(ref.channel)
        if adapter is None:
            continue
        try:
            await adapter.discard_media(ref)
        except Exception as exc:  # the report is filed; a leftover provider copy is logged, not fatal
            log.warning("could not delete provider copy of media: %s", type(exc).__name__)


def file_report(payload: str) -> str:
    """File one confirmed report: its media, then the report itself, then delete provider copies.
    Safe to run again at any point."""
    context = worker_context()
    draft = open_payload(context.settings.session_key, payload)
    report_id = draft["report_id"]
    if is_filed(context.store, report_id):
        asyncio.run(_discard(context, draft.get("media", [])))
        return "already filed"
    media = [_media_entry(context, item) for item in draft.get("media", [])]
    report = {
        "schema": SCHEMA_ID,
        "report_id": report_id,
        "status": draft.get("status", "complete"),
        "urgent": bool(draft.get("urgent", False)),
        "channel": draft.get("channel", ""),
        "language": draft.get("language", "en"),
        "started_at": draft.get("started_at"),
        "submitted_at": draft["submitted_at"],
        "filed_at": now_iso(),
        "answers": draft.get("answers", {}),
        "receipt_hash": draft.get("receipt_hash"),
        "follow_up": draft.get("follow_up"),
        "notes": draft.get("notes", []),
        "addendum_to": draft.get("addendum_to"),
        "media": media,
    }
    written = store_report(context.store, context.recipients, report)
    asyncio.run(_discard(context, draft.get("media", [])))
    log.info("report filed (new=%s, media=%d)", written, len(media))
    return "filed" if written else "already filed"


def discard_draft(payload: str) -> str:
    """Delete a cancelled or wiped draft's media: sealed copies in the store and provider copies."""
    context = worker_context()
    items = open_payload(context.settings.session_key, payload).get("media", [])
    for item in items:
        context.store.delete(media_name(item["id"]))
    asyncio.run(_discard(context, items))
    return f"discarded {len(items)}"

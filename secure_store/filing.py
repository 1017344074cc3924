"""Writing sealed objects: media first, the report last, each exactly once.

A report becomes visible to analysts only when its own object exists, and that is written after
every media object it lists; so a crash at any point leaves nothing half-filed, and a retry
completes the work without writing anything twice.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from secure_store.backends import Store
from secure_store.keys import Recipient
from secure_store.report import media_name, report_name, validate_report
from secure_store.seal import CHUNK, seal, seal_stream

SPOOL_IN_MEMORY = 8 * 1024 * 1024
T = TypeVar("T")
R = TypeVar("R")


UPLOADS_AT_ONCE = 4


def each_at_once(work: Callable[[T], R], items: Sequence[T], limit: int = UPLOADS_AT_ONCE) -> list[R]:
    """Run `work` over independent items (media uploads) on up to `limit` threads; results in order.

    Storage round trips dominate filing, so media go up side by side; the report still goes last."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(limit, len(items)), thread_name_prefix="filing") as pool:
        return list(pool.map(work, items))


def is_filed(store: Store, report_id: str) -> bool:
    return store.exists(report_name(report_id))


def file_media(store: Store, recipients: list[Recipient], media_id: str, data: bytes) -> bool:
    """Seal and store one media object; False if it was already there.

    Up to 8 MiB the ciphertext goes to the store as bytes; beyond, it is spooled to a temporary file
    and streamed, so a large video is never held twice in memory. Callers on a retry path check `store.exists` first
    to skip the work."""
    view = memoryview(data)
    pieces = (bytes(view[i:i + CHUNK]) for i in range(0, len(data), CHUNK))
    if len(data) <= SPOOL_IN_MEMORY:
        return store.put_once(media_name(media_id), b"".join(seal_stream(pieces, recipients, "media")))
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        for sealed in seal_stream(pieces, recipients, "media"):
            spool.write(sealed)
        spool.seek(0)
        return store.put_once(media_name(media_id), spool)  # type: ignore[arg-type]


def file_report(store: Store, recipients: list[Recipient], report: dict[str, Any]) -> bool:
    """Validate, seal and store the report document; False if it was already filed."""
    validate_report(report)
    plaintext = json.dumps(report, ensure_ascii=False, sort_keys=True).encode()
    return store.put_once(report_name(report["report_id"]), seal(plaintext, recipients, "report"))

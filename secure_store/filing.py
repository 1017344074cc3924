"""Writing sealed objects: media first, the report last, each exactly once.

A report becomes visible to analysts only when its own object exists, and that is written after
every media object it lists; so a crash at any point leaves nothing half-filed, and a retry
completes the work without writing anything twice.
"""

from __future__ import annotations

import json
from typing import Any

from secure_store.backends import Store
from secure_store.keys import Recipient
from secure_store.report import media_name, report_name, validate_report
from secure_store.seal import seal


def is_filed(store: Store, report_id: str) -> bool:
    return store.exists(report_name(report_id))


def file_media(store: Store, recipients: list[Recipient], media_id: str, data: bytes) -> bool:
    """Seal and store one media object; False if it was already there."""
    return store.put_once(media_name(media_id), seal(data, recipients, "media"))


def file_report(store: Store, recipients: list[Recipient], report: dict[str, Any]) -> bool:
    """Validate, seal and store the report document; False if it was already filed."""
    validate_report(report)
    plaintext = json.dumps(report, ensure_ascii=False, sort_keys=True).encode()
    return store.put_once(report_name(report["report_id"]), seal(plaintext, recipients, "report"))

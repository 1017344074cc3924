"""The queue as the bot sees it: the jobs there are, their sealed payloads, and `Enqueue`.

The engine and the quiet policy know only this module; `bot/queue.py` puts jobs on RQ and
`workers/` runs them. Job functions are named by dotted path, so nothing here imports `workers`.
Payloads are encrypted with `SESSION_KEY`: drafts in the queue are no more readable than in sessions.
"""

from __future__ import annotations

import base64
import json
from enum import StrEnum
from typing import Any, Protocol

from nacl.secret import SecretBox


class Job(StrEnum):
    """Every job a worker runs; the value is the name operators see (`tipline jobs list`)."""

    FETCH_MEDIA = "fetch_media"
    FILE_REPORT = "file_report"
    DISCARD_DRAFT = "discard_draft"
    SEND_LATER = "send_later"
    NOTIFY_ANALYSTS = "notify_analysts"
    DISCARD_PROVIDER_MESSAGES = "discard_provider_messages"
    QUIET_SWEEP = "sweep"

    @property
    def function(self) -> str:
        """The dotted path a worker imports and calls with the payload (kept stable: queued jobs name it)."""
        if self is Job.QUIET_SWEEP:
            return "workers.reminders.sweep"
        return f"workers.jobs.{self.value}"


class Enqueue(Protocol):
    """Put `job(payload)` on the queue under a stable `job_id` (a repeat enqueue is harmless),
    now or in `delay` seconds. Synchronous: async callers run it in a thread."""

    def __call__(self, job: Job, payload: str, job_id: str, delay: int = 0) -> None: ...


def seal_payload(key: bytes, data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(SecretBox(key).encrypt(raw)).decode()


def open_payload(key: bytes, payload: str) -> dict[str, Any]:
    opened: dict[str, Any] = json.loads(SecretBox(key).decrypt(base64.b64decode(payload)))
    return opened

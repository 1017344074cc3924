"""What the worker learned about one media item, kept in Redis (encrypted with `SESSION_KEY`) until
the report is filed: stored (type, size, sha256), refused (with a note), or discarded (draft wiped).

The record is written before the sealed object, so a stored object always has its record. The engine
may read it (`open_status`) to tell a reporter that a file was refused.
"""

from __future__ import annotations

import json
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis import Redis

STATUS_TTL = 30 * 24 * 3600
DISCARDED = {"status": "discarded"}


def status_key(media_id: str, prefix: str = "tl") -> str:
    """Named by the random media id only: reveals nothing about the report or the sender."""
    return f"{prefix}:m:{media_id}"


def seal_status(session_key: bytes, entry: dict[str, Any]) -> bytes:
    return SecretBox(session_key).encrypt(json.dumps(entry, separators=(",", ":")).encode())


def open_status(session_key: bytes, raw: object) -> dict[str, Any] | None:
    """Decrypt a record read from Redis; None when absent or unreadable."""
    if not isinstance(raw, bytes):
        return None
    try:
        entry: dict[str, Any] = json.loads(SecretBox(session_key).decrypt(raw))
    except (CryptoError, ValueError):
        return None
    return entry


def load_status(redis: Redis, session_key: bytes, media_id: str) -> dict[str, Any] | None:
    return open_status(session_key, redis.get(status_key(media_id)))


def claim_status(redis: Redis, session_key: bytes, media_id: str, entry: dict[str, Any]) -> bool:
    """Record `entry` unless the draft was discarded meanwhile; False when it was."""
    old = redis.set(status_key(media_id), seal_status(session_key, entry), ex=STATUS_TTL, get=True)
    if open_status(session_key, old) == DISCARDED:
        redis.set(status_key(media_id), seal_status(session_key, DISCARDED), ex=STATUS_TTL)
        return False
    return True


def mark_discarded(redis: Redis, session_key: bytes, media_id: str) -> None:
    redis.set(status_key(media_id), seal_status(session_key, DISCARDED), ex=STATUS_TTL)


def forget(redis: Redis, media_ids: list[str]) -> None:
    if media_ids:
        redis.delete(*(status_key(m) for m in media_ids))

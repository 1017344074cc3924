"""What the worker learned about one media item, kept in Redis (encrypted with `SESSION_KEY`) until
the report is filed: stored (type, size, sha256), refused (with a note), or discarded (draft wiped).

The record is written before the sealed object, so a stored object always has its record.
"""

from __future__ import annotations

import json
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis import Redis

from bot.constants import MEDIA_STATUS_TTL
from bot.keys import RedisKeys

DISCARDED = {"status": "discarded"}


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


class MediaStatus:
    """The media status records of one Redis (synchronous: workers use it)."""

    def __init__(self, redis: Redis, session_key: bytes, keys: RedisKeys | None = None) -> None:
        self.redis = redis
        self.session_key = session_key
        self.keys = keys or RedisKeys()

    def load(self, media_id: str) -> dict[str, Any] | None:
        return open_status(self.session_key, self.redis.get(self.keys.media_status(media_id)))

    def claim(self, media_id: str, entry: dict[str, Any]) -> bool:
        """Record `entry` unless the draft was discarded meanwhile; False when it was."""
        key = self.keys.media_status(media_id)
        old = self.redis.set(key, seal_status(self.session_key, entry), ex=MEDIA_STATUS_TTL, get=True)
        if open_status(self.session_key, old) == DISCARDED:
            self.mark_discarded(media_id)
            return False
        return True

    def mark_discarded(self, media_id: str) -> None:
        self.redis.set(self.keys.media_status(media_id), seal_status(self.session_key, DISCARDED),
                       ex=MEDIA_STATUS_TTL)

    def forget(self, media_ids: list[str]) -> None:
        if media_ids:
            self.redis.delete(*(self.keys.media_status(m) for m in media_ids))

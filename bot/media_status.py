"""What the worker learned about one media item, kept in Redis (encrypted with `SESSION_KEY`) until
the report is filed: stored (type, size, sha256), refused (with a note), or discarded (draft wiped).

The record is written before the sealed object, so a stored object always has its record. Redis
format 1 keeps one record per media item (`tl:m:<media id>`, ~410 B each); format 2 keeps one
compact record per report (`tl:m:r:<report id>`: every item's entry under one seal and one key;
~420 B for five files instead of ~2,050). Both are read whatever this process writes, so records of
either format are found during a switch-over, and a job without a report id (queued by the first
release) uses the per-item record.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis import Redis
from redis.client import Pipeline

from bot.compact import pack, unpack
from bot.constants import MEDIA_STATUS_TTL
from bot.keys import RedisKeys
from secure_store.report import media_name

DISCARDED = {"status": "discarded"}


def seal_status(session_key: bytes, entry: dict[str, Any]) -> bytes:
    return _seal(SecretBox(session_key), entry)


def open_status(session_key: bytes, raw: object) -> dict[str, Any] | None:
    """Decrypt a record read from Redis; None when absent or unreadable."""
    return _open(SecretBox(session_key), raw)


def open_statuses(session_key: bytes, raw: object) -> dict[str, dict[str, Any]]:
    """Decrypt a report's record (format 2): its shrunk entries by item ({} when absent or unreadable)."""
    return _open_all(SecretBox(session_key), raw)


def _seal(box: SecretBox, entry: dict[str, Any]) -> bytes:
    return box.encrypt(json.dumps(entry, separators=(",", ":")).encode())


def _open(box: SecretBox, raw: object) -> dict[str, Any] | None:
    if not isinstance(raw, bytes):
        return None
    try:
        entry: dict[str, Any] = json.loads(box.decrypt(raw))
    except (CryptoError, ValueError):
        return None
    return entry


def _open_all(box: SecretBox, raw: object) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, bytes):
        return {}
    try:
        entries = json.loads(unpack(box.decrypt(raw)))
    except (CryptoError, ValueError, zlib.error):
        return {}
    return entries if isinstance(entries, dict) else {}


def _field(media_id: str) -> str:
    """An item's name within its report's record: the first 64 bits of its random id (two items of
    one report share them with odds of ~1e-17, as two of one conversation's message marks might)."""
    return media_id[:16]


def _shrunk(media_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without what its media id already says (its id, its object's name)."""
    return {k: v for k, v in entry.items() if not (k == "id" and v == media_id)
            and not (k == "object" and v == media_name(media_id))}


def _restored(media_id: str, shrunk: dict[str, Any]) -> dict[str, Any]:
    if shrunk == DISCARDED:
        return dict(DISCARDED)
    entry = {"id": media_id, **shrunk}
    if entry.get("status") == "stored":
        entry.setdefault("object", media_name(media_id))
    return entry


class MediaStatus:
    """The media status records of one Redis (synchronous: workers use it).

    `report_id` names the report an item belongs to (None for jobs queued by the first release);
    with `compact`, records are written in format 2 (one per report). One `SecretBox` of
    `session_key` serves every record this instance reads and writes."""

    def __init__(self, redis: Redis, session_key: bytes, keys: RedisKeys | None = None,
                 compact: bool = False) -> None:
        self.redis = redis
        self.box = SecretBox(session_key)
        self.keys = keys or RedisKeys()
        self.compact = compact

    def _entries(self, raw: object) -> dict[str, dict[str, Any]]:
        return _open_all(self.box, raw)

    def load(self, media_id: str, report_id: str | None = None) -> dict[str, Any] | None:
        if report_id:
            shrunk = self._entries(self.redis.get(self.keys.media_statuses(report_id))).get(_field(media_id))
            if isinstance(shrunk, dict):
                return _restored(media_id, shrunk)
        return _open(self.box, self.redis.get(self.keys.media_status(media_id)))

    def discarded(self, media_id: str, report_id: str | None = None) -> bool:
        return self.load(media_id, report_id) == DISCARDED

    def claim(self, media_id: str, entry: dict[str, Any], report_id: str | None = None) -> bool:
        """Record `entry` unless the draft was discarded meanwhile; False when it was."""
        if self.compact and report_id:
            return self._update(report_id, [media_id], entry)
        if report_id and self.discarded(media_id, report_id):
            return False
        key = self.keys.media_status(media_id)
        old = self.redis.set(key, _seal(self.box, entry), ex=MEDIA_STATUS_TTL, get=True)
        if _open(self.box, old) == DISCARDED:
            self.mark_discarded(media_id)
            return False
        return True

    def mark_discarded(self, media_id: str, report_id: str | None = None) -> None:
        if self.compact and report_id:
            self._update(report_id, [media_id], DISCARDED)
            return
        self.redis.set(self.keys.media_status(media_id), _seal(self.box, DISCARDED),
                       ex=MEDIA_STATUS_TTL)

    def forget(self, media_ids: list[str], report_id: str | None = None) -> None:
        """Drop these items' records once their report is filed: their entries in the report's record
        (the record goes with its last entry) and their per-item records. No items: nothing to do."""
        if not media_ids:
            return
        if report_id:
            self._update(report_id, media_ids, None)
        self.redis.delete(*(self.keys.media_status(m) for m in media_ids))

    def _update(self, report_id: str, media_ids: list[str], entry: dict[str, Any] | None) -> bool:
        """Set (or, with None, remove) these items' entries in their report's record, atomically
        against other workers (WATCH); an item once discarded stays so (then False)."""
        key = self.keys.media_statuses(report_id)
        legacy = [self.keys.media_status(m) for m in media_ids] if entry is not None else []
        recorded = False

        def update(pipe: Pipeline) -> None:
            nonlocal recorded
            entries = self._entries(pipe.get(key))
            wiped = [m for m in media_ids if entries.get(_field(m)) == DISCARDED]
            wiped += [m for m, k in zip(media_ids, legacy, strict=False)
                      if _open(self.box, pipe.get(k)) == DISCARDED]
            recorded = entry is not None and not wiped
            for media_id in media_ids:
                if entry is None:
                    entries.pop(_field(media_id), None)
                elif recorded:
                    entries[_field(media_id)] = _shrunk(media_id, entry)
            pipe.multi()
            if entries:
                plaintext = json.dumps(entries, separators=(",", ":")).encode()
                pipe.set(key, self.box.encrypt(pack(plaintext, compact=True)), ex=MEDIA_STATUS_TTL)
            else:
                pipe.delete(key)

        self.redis.transaction(update, key, *legacy)
        return recorded

"""Keyed pseudonyms: how the service knows a sender without ever storing who they are."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache, lru_cache


def pseudonym(key: bytes, channel: str, address: str) -> str:
    """A stable, unlinkable name for a sender on a channel (HMAC-SHA256 with `PSEUDONYM_KEY`)."""
    return hmac.new(key, f"sender:{channel}:{address}".encode(), hashlib.sha256).hexdigest()[:32]


def message_mark(key: bytes, channel: str, message_id: str) -> int:
    """The de-duplication mark of a provider message id, kept in its conversation's set of marks.

    A 64-bit integer, so Redis keeps a conversation's marks as a compact intset (8 bytes each);
    a collision would need two of one reporter's own messages to clash."""
    digest = hmac.new(key, f"message:{channel}:{message_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@lru_cache(maxsize=4096)
def media_id(key: bytes, report_id: str, serial: int) -> str:
    """The id of the `serial`-th file attached to report `report_id` (it names the sealed object):
    unique, random to anyone without `key` (so it cannot be linked to its report), and derivable,
    so a compact session need not store it (bot/sessions.py)."""
    return hmac.new(_media_key(key), f"{report_id}:{serial}".encode(), hashlib.sha256).hexdigest()[:32]


@cache
def _media_key(key: bytes) -> bytes:
    """A key of its own for file ids, derived from `key` (which also seals sessions)."""
    return hmac.new(key, b"tipline media ids", hashlib.sha256).digest()

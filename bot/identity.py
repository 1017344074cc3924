"""Keyed pseudonyms: how the service knows a sender without ever storing who they are."""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(key: bytes, channel: str, address: str) -> str:
    """A stable, unlinkable name for a sender on a channel (HMAC-SHA256 with `PSEUDONYM_KEY`)."""
    return hmac.new(key, f"sender:{channel}:{address}".encode(), hashlib.sha256).hexdigest()[:32]


def message_key(key: bytes, channel: str, message_id: str) -> str:
    """The de-duplication name of a provider message id."""
    return hmac.new(key, f"message:{channel}:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]

"""Job payloads are encrypted with `SESSION_KEY`: drafts in the queue are no more readable than in sessions."""

from __future__ import annotations

import base64
import json
from typing import Any

from nacl.secret import SecretBox


def seal_payload(key: bytes, data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(SecretBox(key).encrypt(raw)).decode()


def open_payload(key: bytes, payload: str) -> dict[str, Any]:
    opened: dict[str, Any] = json.loads(SecretBox(key).decrypt(base64.b64decode(payload)))
    return opened

"""The optional analyst notification: a signed POST saying a report was filed, never its content.

Body: JSON `{"event": "report.filed", "report_id", "submitted_at", "filed_at", "urgent", "channel"}`.
Headers: `X-Tipline-Timestamp` (unix seconds) and `X-Tipline-Signature: sha256=<hex>`, the
HMAC-SHA256 with `ANALYST_WEBHOOK_SECRET` over `<timestamp>.<body>`. Receivers check it with
`verify` (constant time) and de-duplicate by report id: delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from config.errors import Transient

SIGNATURE_HEADER = "X-Tipline-Signature"
TIMESTAMP_HEADER = "X-Tipline-Timestamp"
FIELDS = ("report_id", "submitted_at", "filed_at", "urgent", "channel")


class NotificationFailed(Transient):
    """The receiver did not accept the notification; the job is retried."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def event(report: dict[str, Any]) -> dict[str, Any]:
    """The notification for a filed report: ids, times, urgency and channel kind only."""
    return {"event": "report.filed", **{name: report.get(name) for name in FIELDS}}


async def send(url: str, secret: str, payload: dict[str, Any]) -> None:
    if not secret:
        raise NotificationFailed("ANALYST_WEBHOOK_SECRET is not set; refusing to send an unsigned notification")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    timeout = aiohttp.ClientTimeout(total=15)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
            url, data=body, headers=headers, allow_redirects=False
        ) as response:
            if response.status >= 300:
                raise NotificationFailed(f"analyst webhook answered {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise NotificationFailed(f"analyst webhook unreachable: {type(exc).__name__}") from None

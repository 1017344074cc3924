"""The Bot API methods tipline calls, as POSTs of JSON over kept-alive connections (adapters/http_origin.py).

python-telegram-bot's `Bot` costs ~3 ms of CPU per call through httpx (5.7 ms at 32 at once); a plain
aiohttp POST ~55 us, and `Origin`'s a third of that. PTB's types stay for parsing updates, and its error classes
for what callers catch (`RetryAfter`, `Forbidden`, `BadRequest`, `NetworkError`), so the retry and
refusal rules read the same. Errors never carry the URL: it holds the bot token.
"""

from __future__ import annotations

import datetime as dtm
import json
import time
from typing import Any

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from adapters.http_origin import Origin, OriginError

TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
CONNECTIONS = 50
"""Kept-alive connections to the Bot API: more than the 40 webhooks Telegram sends at once (setWebhook's
default max_connections), so no chat's reply waits for a connection another chat's reply holds."""
FLOOD_PAUSE = 60.0
"""How long after a flood limit replies stay out of webhook responses (where a refusal goes unseen)."""


class BotApi:
    """Calls `{api_base}/bot{token}/{method}`. One instance per event loop: its kept-alive
    connections are made on the loop of the first call and closed by `close()`."""

    def __init__(self, api_base: str, token: str) -> None:
        self.path = f"/bot{token}/"
        self._origin = Origin(api_base, limit=CONNECTIONS, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT)
        self._flooded_until = 0.0

    def flooded(self, wait: float) -> None:
        """Telegram asked for a pause of `wait` seconds (a flood limit)."""
        self._flooded_until = max(self._flooded_until, time.monotonic() + max(wait, FLOOD_PAUSE))

    def calm(self) -> bool:
        """True unless a flood limit was met in the last `FLOOD_PAUSE` seconds."""
        return time.monotonic() >= self._flooded_until

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """The method's `result`; raises PTB's error for what Telegram refused or could not do."""
        try:
            status, raw = await self._origin.post(self.path + method, _compact(params).encode())
        except (TimeoutError, OriginError) as exc:
            raise NetworkError(f"Bot API unreachable ({type(exc).__name__})") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise NetworkError(f"Bot API answered {status} without JSON") from None
        if not isinstance(body, dict):
            raise NetworkError(f"Bot API answered {status} without an object")
        if body.get("ok") is True:
            return body.get("result")
        raise refusal(int(body.get("error_code") or status), str(body.get("description", "")),
                      body.get("parameters"))

    async def close(self) -> None:
        await self._origin.close()


def refusal(code: int, description: str, parameters: object) -> TelegramError:
    """PTB's error for a Bot API error answer (the same mapping PTB's own request layer makes)."""
    if isinstance(parameters, dict) and isinstance(parameters.get("retry_after"), int | float):
        return RetryAfter(dtm.timedelta(seconds=float(parameters["retry_after"])))
    if code == 403:
        return Forbidden(description or "Forbidden")
    if code == 400:
        return BadRequest(description or "Bad Request")
    if code in (401, 404):
        return InvalidToken(f"Bot API refused the token ({code})")
    return NetworkError(f"Bot API answered {code}")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

"""The few Twilio REST calls the service makes (send a message, delete a media copy), through
`TWILIO_API_BASE`, with retries on 429/5xx that honour `Retry-After`, and pacing per sending number.

Errors carry Twilio's numeric error code only: Twilio's own messages can quote phone numbers.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp

from config.errors import Refused, Transient


class TwilioUnavailable(Transient):
    """Twilio kept answering 429/5xx or could not be reached; the caller's job should retry later."""


class TwilioRejected(Refused):
    """Twilio refused the request (4xx other than 429); retrying the same request will not help."""


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def _error_code(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return "none"
    code = data.get("code") if isinstance(data, dict) else None
    return str(code) if isinstance(code, int) else "none"


class TwilioRest:
    """One account's REST client. Safe to use from several event loops, one after the other
    (the worker runs each job in its own loop): it keeps no connection between calls."""

    def __init__(
        self,
        api_base: str,
        account_sid: str,
        auth_token: str,
        send_interval: float = 1.0,
        attempts: int = 5,
        max_wait: float = 30.0,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.account_sid = account_sid
        self.auth = aiohttp.encode_basic_auth(account_sid, auth_token)
        self.send_interval = send_interval
        self.attempts = attempts
        self.max_wait = max_wait
        self._next_slot: dict[str, float] = {}

    def account_url(self, path: str) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/{path}"

    async def _pace(self, number: str) -> None:
        """Space messages from one of our numbers `send_interval` apart (carriers throttle long codes).
        Reserving the slot before sleeping keeps concurrent senders in order without a lock."""
        now = time.monotonic()
        slot = max(now, self._next_slot.get(number, 0.0))
        self._next_slot[number] = slot + self.send_interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _call(
        self, session: aiohttp.ClientSession, method: str, url: str, data: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        for attempt in range(self.attempts):
            wait: float | None
            try:
                async with session.request(method, url, data=data, headers={"Authorization": self.auth}) as response:
                    body = await response.read()
                    if response.status != 429 and response.status < 500:
                        return response.status, body
                    wait = retry_after(response.headers.get("Retry-After"))
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                wait, problem = None, type(exc).__name__
            if wait is None:
                wait = min(self.max_wait, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)
            if attempt + 1 == self.attempts or wait > self.max_wait:
                raise TwilioUnavailable(f"Twilio {method} failed after {attempt + 1} attempt(s): {problem}")
            await asyncio.sleep(wait)
        raise TwilioUnavailable("no attempts configured")

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, sock_connect=10))

    async def send_messages(self, ours: str, to: str, bodies: list[str]) -> list[str]:
        """Send each body as one message, in order; return Twilio's message SIDs."""
        sids: list[str] = []
        async with self._session() as session:
            for body in bodies:
                await self._pace(ours)
                status, raw = await self._call(
                    session, "POST", self.account_url("Messages.json"), {"From": ours, "To": to, "Body": body}
                )
                if status not in (200, 201):
                    raise TwilioRejected(f"Twilio refused the message (HTTP {status}, code {_error_code(raw)})")
                data: Any = json.loads(raw) if raw else {}
                sids.append(str(data.get("sid", "")) if isinstance(data, dict) else "")
        return sids

    async def send_template(self, ours: str, to: str, content_sid: str, variables: dict[str, str]) -> str:
        """Send an approved Content API template (`ContentSid`, `ContentVariables` as JSON, no `Body`)."""
        form = {"From": ours, "To": to, "ContentSid": content_sid,
                "ContentVariables": json.dumps(variables, ensure_ascii=False)}
        async with self._session() as session:
            await self._pace(ours)
            status, raw = await self._call(session, "POST", self.account_url("Messages.json"), form)
        if status not in (200, 201):
            raise TwilioRejected(f"Twilio refused the template (HTTP {status}, code {_error_code(raw)})")
        data: Any = json.loads(raw) if raw else {}
        return str(data.get("sid", "")) if isinstance(data, dict) else ""

    async def sids_of_messages(self, to: str, from_: str, max_pages: int = 20) -> list[str]:
        """The SIDs of the messages Twilio logged from `from_` to `to` (our replies to a reporter)."""
        sids: list[str] = []
        url: str | None = self.account_url("Messages.json?" + urlencode({"To": to, "From": from_, "PageSize": 100}))
        async with self._session() as session:
            for _ in range(max_pages):
                if url is None:
                    break
                status, raw = await self._call(session, "GET", url)
                if status != 200:
                    raise TwilioRejected(f"Twilio refused to list messages (HTTP {status}, code {_error_code(raw)})")
                page = json.loads(raw)
                sids.extend(str(m["sid"]) for m in page.get("messages", []))
                next_uri = page.get("next_page_uri")
                url = f"{self.api_base}{next_uri}" if next_uri else None
        return sids

    async def delete_message(self, message_sid: str) -> bool:
        """Delete one message (its body and media) from Twilio's logs; False if it was already gone."""
        async with self._session() as session:
            status, raw = await self._call(session, "DELETE", self.account_url(f"Messages/{message_sid}.json"))
        if status == 404:
            return False
        if status not in (200, 204):
            raise TwilioRejected(f"Twilio refused to delete a message (HTTP {status}, code {_error_code(raw)})")
        return True

    async def delete_media(self, message_sid: str, media_sid: str) -> bool:
        """Delete one media resource; True if deleted, False if it was already gone."""
        async with self._session() as session:
            status, raw = await self._call(
                session, "DELETE", self.account_url(f"Messages/{message_sid}/Media/{media_sid}.json")
            )
        if status == 404:
            return False
        if status not in (200, 204):
            raise TwilioRejected(f"Twilio refused to delete media (HTTP {status}, code {_error_code(raw)})")
        return True

"""A stand-in for the parts of Twilio's REST API the service uses, over real HTTP.

It runs aiohttp's `TestServer` on a real port in its own thread, so it keeps serving while a test
blocks on a worker subprocess. Two host names reach it: the API at `127.0.0.1` (media links need
basic auth and answer with a redirect, as Twilio's do) and the "CDN" at `localhost`, which serves
the bytes and records whether credentials leaked to it (and which file each request asked for; a file
can be held back until the test lets it go). It records `Messages.json` POSTs (a `Body`, or a
Content API template: `ContentSid` with `ContentVariables`) and media DELETEs, refuses numbers that
opted out (error 21610), and can be told to answer the next POSTs with errors (429 with `Retry-After`, 5xx).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestServer

HEX32 = "[0-9a-f]{32}"


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class StoredMedia:
    data: bytes
    content_type: str
    message_sid: str
    chunked: bool = False
    redirect_to: str | None = None
    cdn_status: int = 200
    held: threading.Event | None = None
    """While set to an unset event, the CDN holds its answer for this file until the event is set."""


@dataclass
class Attempt:
    at: float
    status: int


@dataclass
class TwilioApiDouble:
    account_sid: str
    auth_token: str
    media: dict[str, StoredMedia] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    deleted_messages: list[str] = field(default_factory=list)
    outbound: list[dict[str, str]] = field(default_factory=list)
    """Messages Twilio logged as sent by us: {sid, to, from} (TwiML replies and REST sends alike)."""
    cdn_authorization: list[str | None] = field(default_factory=list)
    cdn_requests: list[str] = field(default_factory=list)
    """The media SID each CDN request asked for, in order."""
    api_media_authorized: list[bool] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    account_status: str = "active"
    numbers: list[dict[str, str | None]] = field(default_factory=list)
    """IncomingPhoneNumbers of the account, as the API lists them (`add_number`)."""
    opted_out: set[str] = field(default_factory=set)
    """Numbers that sent STOP: Twilio refuses every message to them with error 21610."""
    port: int = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_base(self) -> str:
        return f"http://localhost:{self.port}"

    def add_media(self, data: bytes, content_type: str = "image/jpeg", message_sid: str | None = None,
                  chunked: bool = False, redirect_to: str | None = None, cdn_status: int = 200) -> tuple[str, str]:
        """Keep media as Twilio would after an inbound MMS; return (MediaUrl, message SID).
        `cdn_status` other than 200 makes the CDN answer that status instead of the bytes."""
        message_sid = message_sid or sid("MM")
        media_sid = sid("ME")
        self.media[media_sid] = StoredMedia(data, content_type, message_sid, chunked, redirect_to, cdn_status)
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        return url, message_sid

    def add_number(self, phone_number: str, sms_url: str, sms_method: str = "POST",
                   sms_application_sid: str | None = None) -> str:
        """An IncomingPhoneNumber whose "A message comes in" webhook is `sms_url`; returns its PN sid."""
        number_sid = sid("PN")
        self.numbers.append({
            "sid": number_sid, "account_sid": self.account_sid, "phone_number": phone_number,
            "friendly_name": phone_number, "sms_url": sms_url, "sms_method": sms_method,
            "sms_fallback_url": "", "sms_fallback_method": "POST", "sms_application_sid": sms_application_sid or "",
            "voice_url": "", "status": "in-use", "capabilities": {"sms": True, "mms": True, "voice": True},
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{number_sid}.json",
        })
        return number_sid

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == encode_basic_auth(self.account_sid, self.auth_token)

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status}
        return web.json_response(body, status=status, headers=headers)

    async def media_link(self, request: web.Request) -> web.StreamResponse:
        authorized = self._authorized(request)
        self.api_media_authorized.append(authorized)
        if not authorized or request.match_info["account"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        stored = self.media.get(request.match_info["media"])
        if stored is None:
            return self._error(404, 20404, "The requested resource was not found")
        target = stored.redirect_to or f"{self.cdn_base}/cdn/{request.match_info['media']}?Expires=600&Signature=x"
        raise web.HTTPFound(target)

    async def cdn(self, request: web.Request) -> web.StreamResponse:
        self.cdn_authorization.append(request.headers.get("Authorization"))
        self.cdn_requests.append(request.match_info["media"])
        stored = self.media.get(request.match_info["media"])
        if stored is None:
            return web.Response(status=404)
        if stored.held is not None:
            await asyncio.get_running_loop().run_in_executor(None, stored.held.wait, 60)
        if stored.cdn_status != 200:
            return web.Response(status=stored.cdn_status, text="unavailable")
        if not stored.chunked:
            return web.Response(body=stored.data, content_type=stored.content_type)
        response = web.StreamResponse(headers={"Content-Type": stored.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(stored.data), 1024):
            await response.write(stored.data[start:start + 1024])
        await response.write_eof()
        return response

    async def create_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            self.attempts.append(Attempt(time.monotonic(), 401))
            return self._error(401, 20003, "Authenticate")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if self.fail_next:
            status, headers = self.fail_next.pop(0)
            self.attempts.append(Attempt(time.monotonic(), status))
            return self._error(status, 20429 if status == 429 else 20500, "Try again later", headers)
        if not form.get("To") or not form.get("From"):
            self.attempts.append(Attempt(time.monotonic(), 400))
            return self._error(400, 21604, "A 'To' phone number is required.")
        if form.get("ContentVariables") and not form.get("ContentSid"):
            self.attempts.append(Attempt(time.monotonic(), 400))
            return self._error(400, 21654, "ContentSid Required")
        if not form.get("Body") and not form.get("ContentSid"):
            self.attempts.append(Attempt(time.monotonic(), 400))
            return self._error(400, 21602, "Message body is required.")
        if form["To"] in self.opted_out:
            self.attempts.append(Attempt(time.monotonic(), 400))
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        self.attempts.append(Attempt(time.monotonic(), 201))
        self.messages.append(form)
        message_sid = self.log_outbound(form["To"], form["From"])
        return web.json_response(
            {"sid": message_sid, "account_sid": self.account_sid, "status": "queued", "direction": "outbound-api",
             "from": form["From"], "to": form["To"], "body": form.get("Body", ""), "num_segments": "1",
             "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}.json"},
            status=201,
        )

    async def delete_media(self, request: web.Request) -> web.Response:
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        stored = self.media.pop(request.match_info["media"], None)
        if stored is None or stored.message_sid != request.match_info["message"]:
            return self._error(404, 20404, "The requested resource was not found")
        self.deleted.append((request.match_info["message"], request.match_info["media"]))
        return web.Response(status=204)

    def log_outbound(self, to: str, from_: str) -> str:
        """Record a message Twilio sent for us (it logs TwiML replies like REST sends); return its SID."""
        message_sid = sid("SM")
        self.outbound.append({"sid": message_sid, "to": to, "from": from_})
        return message_sid

    async def list_messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        to, from_ = request.query.get("To"), request.query.get("From")
        page_size = int(request.query.get("PageSize", "50"))
        page = int(request.query.get("Page", "0"))
        found = [m for m in self.outbound if (to is None or m["to"] == to) and (from_ is None or m["from"] == from_)
                 and m["sid"] not in self.deleted_messages]
        chunk = found[page * page_size:(page + 1) * page_size]
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        more = (page + 1) * page_size < len(found)
        next_uri = f"{base}?{urlencode({'To': to or '', 'From': from_ or '', 'PageSize': page_size, 'Page': page + 1})}"
        return web.json_response({
            "messages": [{"sid": m["sid"], "to": m["to"], "from": m["from"], "direction": "outbound-reply"}
                         for m in chunk],
            "page": page, "page_size": page_size, "next_page_uri": next_uri if more else None,
        })

    async def delete_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        self.deleted_messages.append(request.match_info["message"])
        return web.Response(status=204)

    async def fetch_account(self, request: web.Request) -> web.Response:
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        return web.json_response({
            "sid": self.account_sid, "friendly_name": "tipline", "status": self.account_status, "type": "Full",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}.json",
        })

    async def list_numbers(self, request: web.Request) -> web.Response:
        """IncomingPhoneNumbers.json: Twilio's list shape (`incoming_phone_numbers`, paging by `next_page_uri`)."""
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        page_size = min(int(request.query.get("PageSize", "50")), 1000)
        page = int(request.query.get("Page", "0"))
        chunk = self.numbers[page * page_size:(page + 1) * page_size]
        base = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers.json"
        more = (page + 1) * page_size < len(self.numbers)
        return web.json_response({
            "incoming_phone_numbers": chunk, "page": page, "page_size": page_size, "start": page * page_size,
            "end": page * page_size + max(len(chunk) - 1, 0), "uri": f"{base}?PageSize={page_size}&Page={page}",
            "first_page_uri": f"{base}?PageSize={page_size}&Page=0", "previous_page_uri": None,
            "next_page_uri": f"{base}?PageSize={page_size}&Page={page + 1}" if more else None,
        })

    def app(self) -> web.Application:
        app = web.Application()
        account = "/2010-04-01/Accounts/{account:AC" + HEX32 + "}"
        media = account + "/Messages/{message:[A-Z]{2}" + HEX32 + "}/Media/{media:ME" + HEX32 + "}"
        app.router.add_get(media, self.media_link)
        app.router.add_delete(media + ".json", self.delete_media)
        app.router.add_delete(account + "/Messages/{message:[A-Z]{2}" + HEX32 + "}.json", self.delete_message)
        app.router.add_post(account + "/Messages.json", self.create_message)
        app.router.add_get(account + "/Messages.json", self.list_messages)
        app.router.add_get(account + ".json", self.fetch_account)
        app.router.add_get(account + "/IncomingPhoneNumbers.json", self.list_numbers)
        app.router.add_get("/cdn/{media:ME" + HEX32 + "}", self.cdn)
        return app


class RunningDouble:
    """Runs a double's app on a real port in a background thread until `stop()`."""

    def __init__(self, double: TwilioApiDouble) -> None:
        self.double = double
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: TestServer | None = None

    async def _start(self) -> int:
        self._server = TestServer(self.double.app(), host="127.0.0.1")
        await self._server.start_server()
        return self._server.port or 0

    def start(self) -> TwilioApiDouble:
        self._thread.start()
        self.double.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self.double

    def stop(self) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

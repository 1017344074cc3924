"""Built-in adapter `twilio`: SMS/MMS and WhatsApp through Twilio Programmable Messaging.

`POST /webhooks/twilio` accepts only requests signed for the public URL (`PUBLIC_BASE_URL` +
path + query, so it works behind a TLS proxy) and answers in TwiML; later messages go through the
REST API at `TWILIO_API_BASE`. Media stay at Twilio until a worker fetches them from allowlisted
hosts, and are deleted there after filing when `TWILIO_DELETE_MEDIA` is on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from aiohttp import encode_basic_auth, web
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    add_port,
    get_signature_algorithm,
    remove_port,
)

from adapters.base import Handler, MediaLimits, MediaRef, MediaRefused, Question, Reply, Undeliverable
from adapters.safe_fetch import FetchPolicy, fetch
from adapters.twilio_format import render_messages
from adapters.twilio_inbound import WHATSAPP, BadForm, parse_form, split_address, to_inbound
from adapters.twilio_rest import TwilioRejected, TwilioRest
from config.settings import Settings, SettingsError
from flows.followup import one_line

log = logging.getLogger("tipline.twilio")

WEBHOOK_PATH = "/webhooks/twilio"
FORM_TYPE = "application/x-www-form-urlencoded"
_MEDIA_PATH = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/([A-Z]{2}[0-9a-fA-F]{32})/Media/(ME[0-9a-fA-F]{32})(?:\.json)?$"
)


WHATSAPP_WINDOW = 23 * 3600
"""WhatsApp's customer service window is 24 hours from the reporter's last message; an hour to spare."""
_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def twiml(replies: list[Reply], whatsapp: bool) -> str:
    """The webhook answer: one <Message> per body; an empty <Response /> when there is nothing to say.

    Built as text (escaped, characters XML cannot carry removed): the same document
    `MessagingResponse` makes, at a fifth of the cost on the hot path.
    """
    bodies = render_messages(replies, whatsapp)
    if not bodies:
        return f"{_XML_DECLARATION}<Response />"
    messages = "".join(f"<Message>{escape(_XML_INVALID.sub('', body))}</Message>" for body in bodies)
    return f"{_XML_DECLARATION}<Response>{messages}</Response>"


_DIGESTS = {HMAC_SHA1: hashlib.sha1, HMAC_SHA256: hashlib.sha256}


def form_signature(key: bytes, url: str, form: dict[str, str], digest: Callable[[], Any]) -> str:
    """Twilio's documented signature of a form POST: the URL, then every parameter's name and value
    sorted by name, HMAC'd with the key, base64. The same result as twilio's
    `RequestValidator.compute_signature` for a form without repeated fields (which `parse_form`
    guarantees), without its per-parameter multi-dict probing on the hot path."""
    payload = url + "".join(name + form[name] for name in sorted(form))
    return base64.b64encode(hmac.new(key, payload.encode("utf-8"), digest).digest()).decode()


class TwilioAdapter:
    """Built-in adapter `twilio` (factory: `TwilioAdapter(settings)`)."""

    name = "twilio"

    def __init__(self, settings: Settings) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise SettingsError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required when twilio is enabled")
        self.account_sid = settings.twilio_account_sid
        self.public_base_url = settings.public_base_url
        self.max_body = settings.max_body_bytes
        self.max_text = settings.max_text_chars
        self.delete_media = settings.twilio_delete_media
        self.delete_messages = settings.twilio_delete_messages
        self.token_key = settings.twilio_auth_token.encode()
        self.shared_key = settings.twilio_webhook_shared_key.encode() if settings.twilio_webhook_shared_key else None
        self.media_auth = encode_basic_auth(settings.twilio_account_sid, settings.twilio_auth_token)
        api = urlsplit(settings.twilio_api_base)
        self.media_hosts = frozenset(h.lower() for h in settings.twilio_media_hosts)
        self.auth_hosts = frozenset({api.netloc.lower(), "api.twilio.com"}) & self.media_hosts
        self.https_only = settings.production
        self.templates = dict(settings.twilio_followup_templates)
        self.rest = TwilioRest(
            settings.twilio_api_base, settings.twilio_account_sid, settings.twilio_auth_token,
            send_interval=settings.twilio_send_interval_ms / 1000,
        )

    def routes(self, handle: Handler) -> list[web.RouteDef]:
        async def webhook(request: web.Request) -> web.Response:
            return await self.webhook(request, handle)

        return [web.post(WEBHOOK_PATH, webhook)]

    def signed(self, request: web.Request, form: dict[str, str]) -> bool:
        """True when the request carries Twilio's signature of the public URL and these parameters:
        with the auth token (HMAC-SHA1), or with the SharedKey a Webhook Rule names."""
        signature = request.headers.get(SIGNATURE_HEADER, "")
        signature_settings = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        key = self.token_key
        if signature_settings is not None:
            if self.shared_key is None:
                log.error("twilio webhook signed with a SharedKey, but TWILIO_WEBHOOK_SHARED_KEY is not set")
                return False
            key = self.shared_key
        digest = _DIGESTS.get(get_signature_algorithm(signature_settings))
        if digest is None:
            return False
        url = self.public_base_url + request.raw_path
        given = signature.encode("utf-8", "replace")
        if hmac.compare_digest(form_signature(key, url, form, digest).encode(), given):
            return True
        other = self.other_port_form(url)
        return hmac.compare_digest(form_signature(key, other, form, digest).encode(), given)

    @staticmethod
    def other_port_form(url: str) -> str:
        """The URL with its default port added or removed: Twilio may sign either form (the library's
        `validate` always tries both; genuine requests to the URL as configured need only one)."""
        parsed = urlsplit(url)
        return str(remove_port(parsed) if parsed.port else add_port(parsed))

    async def webhook(self, request: web.Request, handle: Handler) -> web.Response:
        if not request.headers.get(SIGNATURE_HEADER):
            log.info("twilio webhook refused: no signature")
            raise web.HTTPForbidden(text="missing X-Twilio-Signature")
        if request.content_type != FORM_TYPE:
            raise web.HTTPBadRequest(text=f"body must be {FORM_TYPE}")
        if request.content_length is not None and request.content_length > self.max_body:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_body, actual_size=request.content_length)
        body = await request.read()
        try:
            form = parse_form(body)
        except BadForm as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        if not self.signed(request, form):
            log.info("twilio webhook refused: bad signature")
            raise web.HTTPForbidden(text="invalid X-Twilio-Signature")
        if form.get("AccountSid", self.account_sid) != self.account_sid:
            log.info("twilio webhook refused: another account")
            raise web.HTTPForbidden(text="wrong account")
        try:
            inbound = to_inbound(form, self.name, self.max_text, keep_message_id=self.delete_messages)
        except BadForm as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        replies = await handle(inbound)
        return web.Response(text=twiml(replies, inbound.medium == "whatsapp"), content_type="application/xml")

    async def send(self, address: str, replies: list[Reply]) -> None:
        reporter, ours = split_address(address)
        bodies = render_messages(replies, reporter.startswith(WHATSAPP))
        if bodies:
            await self.rest.send_messages(ours, reporter, bodies)
            log.info("twilio sent %d message(s)", len(bodies))

    async def ask(self, address: str, question: Question) -> str:
        """An analyst's question. On WhatsApp more than 23 hours after the reporter last wrote, only an
        approved template may start the conversation: `ContentSid` for the reporter's language (else
        English) with the date and the question, one line, as `ContentVariables` 1 and 2."""
        reporter, ours = split_address(address)
        whatsapp = reporter.startswith(WHATSAPP)
        try:
            if whatsapp and time.time() - question.last_heard > WHATSAPP_WINDOW:
                content_sid = self.templates.get(question.language) or self.templates.get("en")
                if content_sid is None:
                    raise Undeliverable("WhatsApp allows only an approved template more than 24 hours after the "
                                        "reporter last wrote, and none is configured (TWILIO_FOLLOWUP_TEMPLATES)")
                await self.rest.send_template(ours, reporter, content_sid,
                                              {"1": question.date, "2": one_line(question.question)})
                return "template"
            await self.rest.send_messages(ours, reporter, render_messages([Reply(question.text, rtl=question.rtl)],
                                                                          whatsapp))
        except TwilioRejected as exc:
            raise Undeliverable(str(exc)) from None
        return "message"

    def fetch_policy(self, limits: MediaLimits) -> FetchPolicy:
        return FetchPolicy(hosts=self.media_hosts, limits=limits, https_only=self.https_only,
                           auth_hosts=self.auth_hosts)

    async def fetch_media(self, ref: MediaRef, limits: MediaLimits) -> tuple[bytes, str]:
        """Fetch with the account's credentials on the first hop only; `FetchUnavailable` (retry
        later) on 429/5xx or network trouble, `MediaRefused` for anything not acceptable."""
        if ref.adapter != self.name:
            raise MediaRefused("media belongs to another channel")
        return await fetch(ref.locator, self.fetch_policy(limits), self.media_auth, ref.content_type)

    async def discard_messages(self, message_ids: list[str], address: str | None) -> None:
        """Delete the conversation at Twilio (when `TWILIO_DELETE_MESSAGES`): the reporter's messages
        and, given the reply address, every message of ours to them — Twilio keeps bodies and media
        in its logs until they are deleted, and our review message repeats the whole report."""
        if not self.delete_messages:
            return
        ours: list[str] = []
        if address:
            reporter, number = split_address(address)
            ours = await self.rest.sids_of_messages(reporter, number)
        for message_sid in [*message_ids, *ours]:
            if _MESSAGE_SID.match(message_sid):
                await self.rest.delete_message(message_sid)

    async def discard_media(self, ref: MediaRef) -> None:
        """Delete Twilio's copy (when `TWILIO_DELETE_MEDIA`); only media of our own account."""
        if not self.delete_media:
            return
        found = _MEDIA_PATH.match(urlsplit(ref.locator).path)
        if found is None or found.group(1) != self.account_sid:
            log.warning("twilio media not deleted: its link is not a media resource of this account")
            return
        await self.rest.delete_media(found.group(2), found.group(3))

    async def close(self) -> None:
        return None

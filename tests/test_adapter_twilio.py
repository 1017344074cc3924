"""The Twilio channel (SMS/MMS and WhatsApp) over real HTTP: signed webhooks into the real app,
a real RQ worker fetching media from a Twilio API double on a real port, sealed reports out."""

from __future__ import annotations

import asyncio
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from aiohttp.test_utils import TestClient
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from twilio.request_validator import RequestValidator

from adapters.base import Adapter, Choice, MediaLimits, MediaRef, MediaRefused, Reply
from adapters.registry import load_adapters
from adapters.twilio import TwilioAdapter
from adapters.twilio_format import MAX_BODY, RLM, render_messages, sms_plain
from adapters.twilio_inbound import country_of, reply_address
from adapters.twilio_rest import TwilioUnavailable, retry_after
from bot.app import make_app
from config.settings import Settings, SettingsError, load_settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from tests.conftest import AnalystKey, run_burst_worker
from tests.contract import AdapterContract, photo
from tests.doubles.twilio_api import RunningDouble, TwilioApiDouble, sid
from tests.scenario import begin_report, complete_report, expect, joined, word

ACCOUNT_SID = sid("AC")
AUTH_TOKEN = secrets.token_hex(16)
PUBLIC = "https://tips.example.org"
WEBHOOK = "/webhooks/twilio"
OUR_SMS_NUMBER = "+15005550006"
OUR_WHATSAPP_NUMBER = "whatsapp:+14155238886"


def voice_note(size: int = 3000) -> bytes:
    return b"OggS\x00\x02" + secrets.token_bytes(size)


@pytest.fixture
def twilio_api() -> Iterator[TwilioApiDouble]:
    running = RunningDouble(TwilioApiDouble(ACCOUNT_SID, AUTH_TOKEN))
    yield running.start()
    running.stop()


@pytest.fixture
def service_env(service_env: dict[str, str], twilio_api: TwilioApiDouble) -> dict[str, str]:
    """The shared environment plus Twilio, pointed at the double; the worker gets the same."""
    return {
        **service_env,
        "CHANNELS": "twilio,simulator",
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE": twilio_api.api_base,
        "TWILIO_MEDIA_HOSTS": f"127.0.0.1:{twilio_api.port},localhost:{twilio_api.port}",
        "TWILIO_SEND_INTERVAL_MS": "0",
    }


class TwilioPhone:
    """A reporter's phone as Twilio presents it: each message is the documented webhook form,
    signed with the twilio library for the public URL; replies are read from the TwiML."""

    def __init__(self, client: TestClient[Any, Any], api: TwilioApiDouble, whatsapp: bool) -> None:
        self.client = client
        self.api = api
        self.whatsapp = whatsapp
        national = f"7700900{secrets.randbelow(1000):03d}"
        self.sender = f"whatsapp:+44{national}" if whatsapp else f"+44{national}"
        self.ours = OUR_WHATSAPP_NUMBER if whatsapp else OUR_SMS_NUMBER
        self.validator = RequestValidator(AUTH_TOKEN)
        self.content_type = "image/jpeg"
        self.identities = ["Amina"] if whatsapp else []  # the WhatsApp ProfileName sent below
        self.also_attach: list[bytes] = []
        self.also_link: list[str] = []
        self.last: dict[str, str] | None = None
        self.last_twiml = ""
        self.sent_sids: list[str] = []

    def form(self, body: str = "", media_sid_prefix: str = "SM", **extra: str) -> dict[str, str]:
        message_sid = sid(media_sid_prefix)
        base = {
            "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "Body": body, "From": self.sender,
            "MessageSid": message_sid, "NumMedia": "0", "NumSegments": "1", "SmsMessageSid": message_sid,
            "SmsSid": message_sid, "SmsStatus": "received", "To": self.ours,
        }
        if self.whatsapp:
            base.update({"ProfileName": "Amina", "WaId": self.sender.removeprefix("whatsapp:+"),
                         "MessageType": "text", "ReferralNumMedia": "0"})
        else:
            base.update({"FromCountry": "GB", "FromCity": "", "FromState": "", "FromZip": "",
                         "ToCountry": "US", "ToCity": "", "ToState": "", "ToZip": "",
                         "MessagingServiceSid": sid("MG")})
        return {**base, **extra}

    def signature(self, form: dict[str, str], url: str | None = None) -> str:
        return str(self.validator.compute_signature(url or PUBLIC + WEBHOOK, form))

    async def post(self, form: dict[str, str], signature: str | None = None, path: str = WEBHOOK,
                   headers: dict[str, str] | None = None) -> tuple[int, str]:
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if signature is not None:
            sent["X-Twilio-Signature"] = signature
        response = await self.client.post(path, data=urlencode(form).encode(), headers=sent)
        return response.status, await response.text()

    async def send(self, form: dict[str, str]) -> list[str]:
        self.last = form
        self.sent_sids.append(form["MessageSid"])
        status, text = await self.post(form, self.signature(form))
        assert status == 200, text
        self.last_twiml = text
        bodies = [message.text or "" for message in ET.fromstring(text).iter("Message")]
        for _ in bodies:  # Twilio sends (and logs) each TwiML reply as a message of ours
            self.api.log_outbound(self.sender, self.ours)
        return bodies

    async def say(self, text: str) -> list[str]:
        return await self.send(self.form(text))

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]:
        """One MMS / WhatsApp media message: `data`, plus anything put in `also_attach` (bytes the
        double serves) or `also_link` (media links as given) for this message."""
        message_sid = sid("MM")
        links = [self.api.add_media(item, self.content_type, message_sid)[0] for item in [data, *self.also_attach]]
        links += self.also_link
        self.also_attach, self.also_link = [], []
        fields: dict[str, str] = {"NumMedia": str(len(links))}
        for index, url in enumerate(links):
            fields[f"MediaUrl{index}"] = url
            fields[f"MediaContentType{index}"] = self.content_type
        if self.whatsapp:
            fields["MessageType"] = "audio" if self.content_type.startswith("audio/") else "image"
        form = self.form(caption or "", **fields)
        form.update(MessageSid=message_sid, SmsMessageSid=message_sid, SmsSid=message_sid)
        since = len(self.api.messages)
        return await self.send(form) or await self.later(since)

    async def later(self, since: int, within: float = 5.0) -> list[str]:
        """What the service sent this reporter through the REST API after message `since` of the double:
        on WhatsApp a file alone is answered a moment after its webhook, as one answer per album."""
        deadline = time.monotonic() + within
        while True:
            bodies = [m.get("Body", "") for m in self.api.messages[since:] if m.get("To") == self.sender]
            if bodies or time.monotonic() > deadline:
                return bodies
            await asyncio.sleep(0.05)

    async def location(self, latitude: float, longitude: float) -> list[str]:
        return await self.send(self.form(
            "", Latitude=str(latitude), Longitude=str(longitude), Address="Rue de la Paix 12, 69002 Lyon",
            Label="Boulangerie", MessageType="location",
        ))

    async def redeliver(self) -> list[str]:
        assert self.last is not None
        return await self.send(self.last)

    async def forged(self) -> int:
        form = self.form("hello")
        status, _ = await self.post(form, "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ==")
        return status

    async def malformed(self) -> list[int]:
        statuses = []
        json_body = b'{"From": "+447700900000", "Body": "hi"}'
        response = await self.client.post(WEBHOOK, data=json_body, headers={
            "Content-Type": "application/json", "X-Twilio-Signature": self.signature({})})
        statuses.append(response.status)
        for raw in (b"Body=%E0%A4%A&&==&", b"Body=%FF%FE", b"From=x&From=y"):
            response = await self.client.post(WEBHOOK, data=raw, headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": self.signature({})})
            statuses.append(response.status)
        oversized = self.form("x" * (600 * 1024))
        statuses.append((await self.post(oversized, self.signature(oversized)))[0])
        for broken in (
            {k: v for k, v in self.form("hi").items() if k not in ("MessageSid", "SmsMessageSid")},
            self.form("hi", NumMedia="eleven"),
            self.form("hi", NumMedia="11"),
            self.form("hi", NumMedia="1"),
            self.form("", Latitude="north", Longitude="4.8"),
            self.form("", Latitude="91", Longitude="4.8"),
            {k: v for k, v in self.form("hi").items() if k != "From"},
        ):
            statuses.append((await self.post(broken, self.signature(broken)))[0])
        return statuses


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


class TestTwilioSmsContract(AdapterContract):
    @pytest.fixture
    async def reporter(self, client: TestClient[Any, Any], twilio_api: TwilioApiDouble) -> TwilioPhone:
        return TwilioPhone(client, twilio_api, whatsapp=False)


class TestTwilioWhatsAppContract(AdapterContract):
    @pytest.fixture
    async def reporter(self, client: TestClient[Any, Any], twilio_api: TwilioApiDouble) -> TwilioPhone:
        return TwilioPhone(client, twilio_api, whatsapp=True)


@pytest.fixture
def sms(client: TestClient[Any, Any], twilio_api: TwilioApiDouble) -> TwilioPhone:
    return TwilioPhone(client, twilio_api, whatsapp=False)


@pytest.fixture
def whatsapp(client: TestClient[Any, Any], twilio_api: TwilioApiDouble) -> TwilioPhone:
    return TwilioPhone(client, twilio_api, whatsapp=True)


def filed_report(store: FileStore, analyst_key: AnalystKey) -> dict[str, Any]:
    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None, opened.error
    return opened.report


def worker(env: dict[str, str], **overrides: str) -> None:
    result = run_burst_worker({**env, **overrides})
    assert result.returncode == 0, result.stderr[-2000:]


# --- what the reporter reads -------------------------------------------------------------------

async def test_sms_shows_choices_as_a_plain_numbered_list(sms: TwilioPhone) -> None:
    replies = joined(await begin_report(sms))
    assert "1. Forced labour" in replies and "6. Something else" in replies
    assert "*" not in replies
    assert len(ET.fromstring(sms.last_twiml).findall("Message")) == 1, "one SMS per answer keeps them in order"


async def test_whatsapp_shows_choices_as_a_numbered_list_with_light_formatting(whatsapp: TwilioPhone) -> None:
    replies = joined(await begin_report(whatsapp))
    assert "*1.* Forced labour" in replies
    assert expect("en", "description.prompt") in joined(await whatsapp.say("1"))


async def test_a_whatsapp_button_reply_is_taken_as_the_choice(whatsapp: TwilioPhone) -> None:
    await begin_report(whatsapp)
    tapped = whatsapp.form("Forced labour", ButtonPayload="labour", ButtonText="Forced labour", MessageType="button")
    assert expect("en", "description.prompt") in joined(await whatsapp.send(tapped))


def test_sms_text_is_kept_to_gsm_characters_and_stripped_of_markdown() -> None:
    assert sms_plain("It\u2019s *safe* \u2014 \u201creally\u201d\u2026") == "It's safe - \"really\"..."
    assert sms_plain("2*3*4 stays") == "2*3*4 stays"


def test_right_to_left_choices_keep_their_numbers_on_the_right() -> None:
    reply = Reply("ما نوع النشاط؟", choices=(Choice("labour", "العمل القسري"), Choice("other", "شيء آخر")), rtl=True)
    [sms_body] = render_messages([reply], whatsapp=False)
    assert sms_body.splitlines() == ["ما نوع النشاط؟", f"{RLM}1. العمل القسري", f"{RLM}2. شيء آخر"]
    [whatsapp_body] = render_messages([reply], whatsapp=True)
    assert f"{RLM}*2.* شيء آخر" in whatsapp_body


def test_long_answers_are_split_at_line_breaks_within_twilios_limit() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(40)]
    bodies = render_messages([Reply("\n".join(lines)), Reply("y" * 2000)], whatsapp=False)
    assert all(len(body) <= MAX_BODY for body in bodies)
    assert "\n".join(bodies).replace("\n", "") == ("".join(lines) + "y" * 2000)
    assert all(body.startswith(("line", "y")) for body in bodies)


def test_the_number_gives_a_country_hint_and_nothing_more() -> None:
    assert country_of("+33612345678") == "FR"
    assert country_of("whatsapp:+447700900123") == "GB"
    assert country_of("+9") is None and country_of("TWILIO") is None


# --- authentication and bad input --------------------------------------------------------------

async def test_missing_forged_and_wrong_scheme_signatures_are_refused_and_leave_nothing(
    sms: TwilioPhone, redis_client: redis.Redis
) -> None:
    before = set(redis_client.keys("*"))
    form = sms.form("hello")
    assert (await sms.post(form, None))[0] == 403
    assert (await sms.post(form, sms.signature(form, "http://tips.example.org" + WEBHOOK)))[0] == 403
    assert (await sms.post(form, sms.signature(form, PUBLIC + WEBHOOK + "?x=1")))[0] == 403
    tampered = {**form, "Body": "something else"}
    assert (await sms.post(tampered, sms.signature(form)))[0] == 403
    other_account = sms.form("hello", AccountSid=sid("AC"))
    assert (await sms.post(other_account, sms.signature(other_account)))[0] == 403
    shared_key = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_x,algorithm=HMAC_SHA256"}
    assert (await sms.post(form, sms.signature(form), headers=shared_key))[0] == 403
    assert set(redis_client.keys("*")) == before


async def test_a_webhook_signed_with_a_shared_key_is_accepted_when_that_key_is_configured(
    service_env: dict[str, str], twilio_api: TwilioApiDouble, aiohttp_client: Any
) -> None:
    shared_secret = secrets.token_urlsafe(24)
    app = make_app(load_settings({**service_env, "TWILIO_WEBHOOK_SHARED_KEY": shared_secret}))
    phone = TwilioPhone(await aiohttp_client(app), twilio_api, whatsapp=True)
    form = phone.form("hello")
    header = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_01,algorithm=HMAC_SHA256"}
    signed = str(RequestValidator(shared_secret).compute_signature(PUBLIC + WEBHOOK, form, "HMAC_SHA256"))
    status, text = await phone.post(form, signed, headers=header)
    assert status == 200 and expect("en", "welcome") in text
    token_signed = phone.form("hi")
    assert (await phone.post(token_signed, phone.signature(token_signed), headers=header))[0] == 403


async def test_the_signed_url_includes_the_query_string(sms: TwilioPhone) -> None:
    form = sms.form("hello")
    path = WEBHOOK + "?number=uk"
    status, text = await sms.post(form, sms.signature(form, PUBLIC + path), path=path)
    assert status == 200 and expect("en", "welcome") in text


async def test_a_signature_over_the_url_with_its_default_port_is_accepted(sms: TwilioPhone) -> None:
    form = sms.form("hello")
    status, text = await sms.post(form, sms.signature(form, "https://tips.example.org:443" + WEBHOOK))
    assert status == 200 and expect("en", "welcome") in text


async def test_malformed_bodies_get_the_right_4xx_and_leave_nothing(
    sms: TwilioPhone, redis_client: redis.Redis
) -> None:
    before = set(redis_client.keys("*"))
    statuses = await sms.malformed()
    assert statuses[0] == 400  # JSON instead of a form
    assert statuses[1:4] == [400, 400, 400]  # broken percent-escapes, invalid UTF-8, repeated field
    assert statuses[4] == 413  # over MAX_BODY_BYTES
    assert statuses[5:] == [400] * 7
    assert set(redis_client.keys("*")) == before


async def test_a_duplicate_delivery_answers_empty_twiml(sms: TwilioPhone) -> None:
    assert expect("en", "welcome") in joined(await sms.say("hello"))
    assert await sms.redeliver() == []
    assert ET.fromstring(sms.last_twiml).tag == "Response" and len(ET.fromstring(sms.last_twiml)) == 0


def test_twilio_is_a_built_in_channel_and_needs_its_credentials(settings: Settings) -> None:
    adapters = load_adapters(settings)
    assert isinstance(adapters["twilio"], TwilioAdapter) and isinstance(adapters["twilio"], Adapter)
    env = {"TIPLINE_ENV": "test", "CHANNELS": "twilio", "TIPLINE_VAR_DIR": str(settings.var_dir)}
    with pytest.raises(SettingsError, match="TWILIO_ACCOUNT_SID"):
        load_adapters(load_settings(env))


# --- media and filing --------------------------------------------------------------------------

@pytest.mark.slow
async def test_an_mms_with_three_photos_files_all_three_and_credentials_never_reach_the_cdn(
    sms: TwilioPhone, twilio_api: TwilioApiDouble, service_env: dict[str, str], store: FileStore,
    analyst_key: AnalystKey,
) -> None:
    photos = [photo("red"), photo("green"), photo("blue")]
    sms.also_attach = photos[1:]
    await complete_report(sms, photos[:1])
    await asyncio.to_thread(worker, service_env)
    report = filed_report(store, analyst_key)
    assert report["channel"] == "sms"
    assert [m["status"] for m in report["media"]] == ["stored"] * 3
    assert [open_media(store, analyst_key.load(), m["id"]) for m in report["media"]] == photos
    assert twilio_api.api_media_authorized == [True] * 3
    assert twilio_api.cdn_authorization == [None] * 3
    assert twilio_api.deleted == [], "TWILIO_DELETE_MEDIA is off by default"


@pytest.mark.slow
async def test_three_whatsapp_photos_sent_at_once_get_one_answer_and_are_all_filed(
    whatsapp: TwilioPhone, twilio_api: TwilioApiDouble, service_env: dict[str, str], store: FileStore,
    analyst_key: AnalystKey,
) -> None:
    """WhatsApp delivers a multi-photo send as one webhook per photo (NumMedia=1), a moment apart."""
    await complete_report(whatsapp, [], stop_at="media")
    photos = [photo("red"), photo("green"), photo("blue")]
    forms = []
    for data in photos:
        message_sid = sid("MM")
        url, _ = twilio_api.add_media(data, "image/jpeg", message_sid)
        forms.append(whatsapp.form("", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg",
                                   MessageType="image", MessageSid=message_sid, SmsMessageSid=message_sid,
                                   SmsSid=message_sid))
    since = len(twilio_api.messages)
    answers = await asyncio.gather(*(whatsapp.send(form) for form in forms))
    assert answers == [[], [], []], "every webhook is answered at once, with nothing"
    replies = await whatsapp.later(since)
    await asyncio.sleep(0.3)  # twice ALBUM_QUIET_MS: a second answer would have come by now
    replies = await whatsapp.later(since)
    assert len(replies) == 1 and expect("en", "media.received") in replies[0] and "3" in replies[0], replies
    assert expect("en", "danger.prompt") in joined(await whatsapp.say(word("en", "done")))
    await whatsapp.say(word("en", "no"))
    assert expect("en", "review.prompt") in joined(await whatsapp.say(word("en", "no")))
    assert expect("en", "submitted.prompt") in joined(await whatsapp.say(word("en", "yes")))
    await asyncio.to_thread(worker, service_env)
    report = filed_report(store, analyst_key)
    assert sorted(open_media(store, analyst_key.load(), m["id"]) for m in report["media"]) == sorted(photos)


@pytest.mark.slow
async def test_a_whatsapp_location_is_filed_as_coordinates_with_its_address(
    whatsapp: TwilioPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey
) -> None:
    await complete_report(whatsapp, [], shared_location=(45.7640, 4.8357))
    await asyncio.to_thread(worker, service_env)
    report = filed_report(store, analyst_key)
    assert report["channel"] == "whatsapp"
    assert report["answers"]["location"] == {
        "latitude": 45.764, "longitude": 4.8357, "address": "Rue de la Paix 12, 69002 Lyon", "label": "Boulangerie",
    }


@pytest.mark.slow
async def test_a_whatsapp_voice_note_is_filed_as_voice(
    whatsapp: TwilioPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey
) -> None:
    note = voice_note()
    whatsapp.content_type = "audio/ogg"
    await complete_report(whatsapp, [note])
    await asyncio.to_thread(worker, service_env)
    [item] = filed_report(store, analyst_key)["media"]
    assert (item["status"], item["kind"], item["content_type"]) == ("stored", "voice", "audio/ogg")
    assert open_media(store, analyst_key.load(), item["id"]) == note


@pytest.mark.slow
async def test_media_elsewhere_or_too_big_is_refused_with_a_note_and_the_report_still_filed(
    sms: TwilioPhone, twilio_api: TwilioApiDouble, service_env: dict[str, str], store: FileStore,
    analyst_key: AnalystKey,
) -> None:
    small = photo()
    big = photo(size=(400, 400)) + secrets.token_bytes(4096)
    sms.also_link = [
        "https://media.example.net/photo.jpg",
        twilio_api.add_media(small, redirect_to="http://127.0.0.2:9/cdn/x.jpg")[0],
        twilio_api.add_media(big, chunked=True)[0],
        twilio_api.add_media(big)[0],
    ]
    await complete_report(sms, [small])
    await asyncio.to_thread(worker, service_env, MAX_MEDIA_BYTES="4096")
    report = filed_report(store, analyst_key)
    assert [m["status"] for m in report["media"]] == ["stored", "refused", "refused", "refused", "refused"]
    assert open_media(store, analyst_key.load(), report["media"][0]["id"]) == small
    notes = [m["note"] for m in report["media"][1:]]
    assert notes[0] == notes[1] and "not hosted where" in notes[0]
    assert notes[2] == notes[3] and "larger than 4096 bytes" in notes[2]
    assert twilio_api.cdn_authorization == [None, None, None], "the off-list hop was never requested"


@pytest.mark.slow
async def test_media_copies_are_deleted_at_twilio_after_filing_when_configured(
    whatsapp: TwilioPhone, twilio_api: TwilioApiDouble, service_env: dict[str, str], store: FileStore,
    analyst_key: AnalystKey,
) -> None:
    await complete_report(whatsapp, [photo("red"), photo("blue")])
    kept = {(m.message_sid, media_sid) for media_sid, m in twilio_api.media.items()}
    await asyncio.to_thread(worker, service_env, TWILIO_DELETE_MEDIA="true")
    assert [m["status"] for m in filed_report(store, analyst_key)["media"]] == ["stored", "stored"]
    assert set(twilio_api.deleted) == kept and len(twilio_api.deleted) == 2
    assert twilio_api.media == {}


async def test_production_fetches_media_over_https_only(
    service_env: dict[str, str], twilio_api: TwilioApiDouble
) -> None:
    production = load_settings({**service_env, "TIPLINE_ENV": "production", "CHANNELS": "twilio"})
    url, _ = twilio_api.add_media(photo())
    with pytest.raises(MediaRefused, match="not hosted where"):
        await TwilioAdapter(production).fetch_media(MediaRef("twilio", url, "photo", "image/jpeg"),
                                                    MediaLimits(10**6, ("image/jpeg",)))
    assert twilio_api.api_media_authorized == []


# --- sending later -----------------------------------------------------------------------------

@pytest.mark.slow
async def test_send_waits_out_a_429_and_delivers_once(settings: Settings, twilio_api: TwilioApiDouble) -> None:
    adapter = TwilioAdapter(settings)
    twilio_api.fail_next = [(429, {"Retry-After": "1"})]
    address = reply_address({"From": "whatsapp:+447700900555", "To": OUR_WHATSAPP_NUMBER})
    await adapter.send(address, [Reply("Are you still there?", choices=(Choice("yes", "Yes"),))])
    assert [a.status for a in twilio_api.attempts] == [429, 201]
    assert twilio_api.attempts[1].at - twilio_api.attempts[0].at >= 1.0, "Retry-After was not honoured"
    [message] = twilio_api.messages
    assert message == {"From": OUR_WHATSAPP_NUMBER, "To": "whatsapp:+447700900555",
                       "Body": "Are you still there?\n*1.* Yes"}


async def test_send_hands_a_long_outage_back_to_the_job_queue(settings: Settings, twilio_api: TwilioApiDouble) -> None:
    adapter = TwilioAdapter(settings)
    twilio_api.fail_next = [(503, {"Retry-After": "3600"})]
    with pytest.raises(TwilioUnavailable):
        await adapter.send(reply_address({"From": "+447700900555", "To": OUR_SMS_NUMBER}), [Reply("Reminder")])
    assert twilio_api.messages == []


@pytest.mark.slow
async def test_late_replies_twilio_refuses_for_good_are_dropped_not_retried_and_hold_nothing_back(
    whatsapp: TwilioPhone, twilio_api: TwilioApiDouble, service_env: dict[str, str], redis_client: redis.Redis,
) -> None:
    """A photo's answer meets an outage and waits for a worker; by then the reporter has opted out
    (Twilio error 21610, as outside WhatsApp's 24-hour window): it can never go, so it must neither
    be retried for days nor hold back the answers after it."""
    await complete_report(whatsapp, [], stop_at="media")
    twilio_api.fail_next = [(503, {"Retry-After": "3600"})]
    since = len(twilio_api.messages)
    assert await whatsapp.send(whatsapp.form("", NumMedia="1", MediaUrl0=twilio_api.add_media(photo(), "image/jpeg")[0],
                                             MediaContentType0="image/jpeg", MessageType="image")) == []
    deadline = time.monotonic() + 5
    while not redis_client.keys("tl:o:*") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert redis_client.keys("tl:o:*"), "the answer waits in the conversation's outbox"
    twilio_api.opted_out.add(whatsapp.sender)
    await asyncio.to_thread(worker, service_env)
    assert not redis_client.keys("tl:o:*"), "a reply Twilio refuses for good leaves the outbox"
    queue = Queue(service_env["QUEUE_NAME"], connection=redis_client, serializer=JSONSerializer)
    waiting = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert not [job for job in waiting if job.startswith("send-")], "and is not retried"
    twilio_api.opted_out.discard(whatsapp.sender)
    assert expect("en", "media.received") in joined(await whatsapp.photo(photo("blue")))
    assert len(twilio_api.messages[since:]) == 1, "the next answer went out at once"


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    assert retry_after("3") == 3.0
    assert retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert retry_after("soon") is None and retry_after(None) is None


@pytest.mark.slow
async def test_the_conversation_is_deleted_at_twilio_after_filing_when_configured(
    sms: TwilioPhone, twilio_api: TwilioApiDouble, service_env: dict[str, str], store: FileStore,
    analyst_key: AnalystKey, aiohttp_client: Any, redis_client: redis.Redis,
) -> None:
    await complete_report(sms, [photo()])
    await asyncio.to_thread(worker, service_env)  # off by default: nothing deleted, no ids kept
    assert twilio_api.deleted_messages == []
    filed_report(store, analyst_key)

    env = {**service_env, "TWILIO_DELETE_MESSAGES": "true"}
    other = TwilioPhone(await aiohttp_client(make_app(load_settings(env))), twilio_api, whatsapp=False)
    await complete_report(other, [photo()])
    await asyncio.to_thread(worker, env)
    queue = Queue(env["QUEUE_NAME"], connection=redis_client, serializer=JSONSerializer)
    waiting = [j for j in ScheduledJobRegistry(queue=queue).get_job_ids() if j.startswith("forget-")]
    assert len(waiting) == 1 and twilio_api.deleted_messages == [], "it waits until the last replies are logged"

    ScheduledJobRegistry(queue=queue).requeue(waiting[0])  # as the scheduler does when the delay is over
    await asyncio.to_thread(worker, env)
    ours = {m["sid"] for m in twilio_api.outbound if m["to"] == other.sender}
    assert ours, "the double logged our replies, as Twilio does"
    assert set(twilio_api.deleted_messages) == set(other.sent_sids) | ours, "both sides, nothing else"


@pytest.mark.slow
async def test_a_deleted_draft_deletes_the_conversation_at_twilio_too(
    twilio_api: TwilioApiDouble, service_env: dict[str, str], aiohttp_client: Any,
) -> None:
    env = {**service_env, "TWILIO_DELETE_MESSAGES": "true", "PROVIDER_CLEANUP_DELAY": "0"}
    sms = TwilioPhone(await aiohttp_client(make_app(load_settings(env))), twilio_api, whatsapp=False)
    await begin_report(sms)
    await sms.say(word("en", "delete"))
    await asyncio.to_thread(worker, env)
    ours = {m["sid"] for m in twilio_api.outbound if m["to"] == sms.sender}
    assert ours and set(twilio_api.deleted_messages) == set(sms.sent_sids) | ours


@pytest.mark.parametrize("word", ["CANCEL", "stop", "End", "QUIT"])
async def test_an_sms_opt_out_word_discards_the_draft_and_nothing_is_sent_after_it(
    word: str, sms: TwilioPhone, service_env: dict[str, str], store: FileStore, redis_client: redis.Redis,
) -> None:
    """Twilio has opted the reporter out and will refuse every reply (21610): the bot sends none,
    now or later, and keeps nothing."""
    await begin_report(sms)
    await sms.say("1")
    await sms.say("Men kept in a lorry at the lay-by")
    sent_before = len(sms.api.outbound)
    assert await sms.say(word) == [] and "<Message" not in sms.last_twiml
    assert list(redis_client.scan_iter("tl:s:*")) == []
    assert run_burst_worker(service_env).returncode == 0
    assert len(sms.api.outbound) == sent_before
    assert [p for p in Path(store.root).rglob("*") if p.is_file()] == [], "nothing filed"


async def test_on_whatsapp_cancel_is_an_ordinary_word_and_stop_a_quiet_cancel(whatsapp: TwilioPhone) -> None:
    await begin_report(whatsapp)
    assert expect("en", "cancelled") in joined(await whatsapp.say("CANCEL"))
    await begin_report(whatsapp)
    assert await whatsapp.say("STOP") == []


@pytest.mark.slow
async def test_tipline_jobs_says_why_a_job_waits_for_its_retry(
    sms: TwilioPhone, twilio_api: TwilioApiDouble, service_env: dict[str, str], redis_client: redis.Redis,
) -> None:
    from bot.cli_jobs import problem_jobs

    sms.also_link = [twilio_api.add_media(photo(), cdn_status=503)[0]]
    await complete_report(sms, [photo()])
    await asyncio.to_thread(worker, service_env)
    queue = Queue(service_env["QUEUE_NAME"], connection=redis_client, serializer=JSONSerializer)
    [line] = [line for line in problem_jobs(queue) if line.job_id.startswith("file-")]
    assert (line.state, line.exception) == ("retrying", "workers.jobs.NotReceived")  # the file's own addition waits

"""Property-based tests (hypothesis) of every webhook parser and of the report flow: whatever a
provider (or someone holding its credentials) sends, the answer is never a 5xx, an authentic
Telegram update always gets 200, and a conversation never gets stuck.

Example counts come from the hypothesis profile: `ci` (default, bounded in time, >= 10,000 inputs
across this module) or `proof` (`HYPOTHESIS_PROFILE=proof`, ten times more; `make proof`).
"""

from __future__ import annotations

import os
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from adapters.simulator import SimulatorAdapter
from adapters.telegram_parse import Parsed, Skipped
from adapters.telegram_parse import to_inbound as telegram_inbound
from adapters.twilio_inbound import BadForm, parse_form
from adapters.twilio_inbound import to_inbound as twilio_inbound
from bot.app import make_app
from config.settings import Settings
from tests.doubles.telegram_api import TelegramApiDouble
from tests.scenario import LOCALES, RECEIPT, complete_report, shows
from tests.test_adapter_simulator import SimulatorPhone
from tests.test_adapter_telegram import SECRET, TOKEN, telegram_api

PROOF = os.environ.get("HYPOTHESIS_PROFILE") == "proof"
SCALE = 10.0 if PROOF else float(os.environ.get("PROPERTY_SCALE", "1"))
"""`make test-fast` runs a fifth of the examples; `make proof` ten times as many, not derandomized."""
COMMON = {"deadline": None, "derandomize": not PROOF,
          "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                    HealthCheck.data_too_large]}
"""CI runs the same examples every time (a failure is reproducible from the log); `proof` explores."""

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-auth-token-for-tests-000"
PUBLIC = "https://tips.example.org"
__all__ = ["telegram_api"]  # the Bot API double fixture, shared with the Telegram adapter's tests

# --- JSON of any shape, and "the documented shape, or anything in its place" ----------------------------

leaf = (st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70)
        | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
anything = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the documented value, sometimes anything at all."""
    return st.one_of(valid, valid, valid, anything)


ids = st.integers(-(2 ** 53), 2 ** 53)
texts = st.text(max_size=300) | st.sampled_from(["/start", "/start es", "/help@TiplineBot x", "/", "1", "yes"])
user = st.fixed_dictionaries(
    {"id": either(ids), "is_bot": either(st.booleans()), "first_name": either(st.text(max_size=10))},
    optional={"language_code": either(st.sampled_from(["en", "pt-br", "ar", "", "zz-ZZ", "x" * 40]))})
chat = st.fixed_dictionaries({"id": either(ids), "type": either(st.sampled_from(
    ["private", "group", "supergroup", "channel", "sender"]))})
sized_file = st.fixed_dictionaries(
    {"file_id": either(st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True) | st.text(max_size=20)),
     "file_unique_id": either(st.text(max_size=10))},
    optional={"file_size": either(st.integers(-1, 2 ** 40)), "width": either(st.integers(0, 10 ** 5)),
              "height": either(st.integers(0, 10 ** 5)), "mime_type": either(st.text(max_size=30)),
              "duration": either(st.integers(0, 10 ** 6))})
point = st.fixed_dictionaries({"latitude": either(st.floats(-100, 100)), "longitude": either(st.floats(-200, 200))},
                              optional={"live_period": either(st.integers(0, 10 ** 5))})
message = st.fixed_dictionaries(
    {"message_id": either(ids), "date": either(st.integers(0, 2 ** 33))},
    optional={"chat": either(chat), "from": either(user), "text": either(texts), "caption": either(texts),
              "photo": either(st.lists(sized_file, max_size=3)), "video": either(sized_file),
              "voice": either(sized_file), "audio": either(sized_file), "document": either(sized_file),
              "animation": either(sized_file), "video_note": either(sized_file), "location": either(point),
              "venue": either(st.fixed_dictionaries({"location": either(point), "title": either(st.text(max_size=9)),
                                                     "address": either(st.text(max_size=9))})),
              "media_group_id": either(st.text(max_size=12)), "edit_date": either(st.integers(0, 2 ** 33)),
              "reply_to_message": anything, "entities": anything})
callback = st.fixed_dictionaries(
    {"id": either(st.text(min_size=1, max_size=12)), "from": either(user),
     "chat_instance": either(st.text(max_size=5))},
    optional={"message": either(message), "data": either(st.text(max_size=64))})
update = st.fixed_dictionaries(
    {"update_id": st.integers(0, 2 ** 31 - 1)},
    optional={"message": either(message), "edited_message": either(message), "callback_query": either(callback),
              "channel_post": either(message), "my_chat_member": anything, "poll": anything,
              "a_kind_from_the_future": anything})


# --- parsers, pure: thousands of inputs a second -----------------------------------------------------

@settings(max_examples=int(3000 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(update)
def test_every_telegram_update_is_parsed_or_skipped_never_raises(payload: dict[str, Any]) -> None:
    result = telegram_inbound(payload, Settings().max_text_chars)
    assert isinstance(result, Parsed | Skipped)
    if isinstance(result, Parsed):
        assert result.inbound.sender == str(result.chat_id)


twilio_fields = st.dictionaries(
    st.sampled_from(["Body", "NumMedia", "MediaUrl0", "MediaContentType0", "MediaUrl9", "MediaContentType9",
                     "Latitude", "Longitude", "Address", "Label", "ProfileName", "ButtonPayload", "MessageSid",
                     "SmsMessageSid", "From", "To", "WaId", "MessageType"]) | st.text(max_size=12),
    st.text(max_size=200) | st.sampled_from(["0", "1", "10", "11", "-1", "1e9", "NaN", "inf", "91", "-180.5",
                                             "https://api.twilio.com/x", "image/jpeg", "whatsapp:+447700900123"]),
    max_size=8)


def twilio_form(extra: dict[str, str]) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    return {"AccountSid": ACCOUNT_SID, "MessageSid": sid, "From": "+447700900123", "To": "+15005550006",
            "Body": "hello", "NumMedia": "0", **extra}


@settings(max_examples=int(2500 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(twilio_fields)
def test_every_twilio_form_is_an_inbound_message_or_a_bad_form(extra: dict[str, str]) -> None:
    try:
        inbound = twilio_inbound(twilio_form(extra), "twilio", Settings().max_text_chars)
    except BadForm:
        return
    assert inbound.sender and inbound.message_id
    assert len(inbound.media) <= 10


@settings(max_examples=int(1500 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode)
       | twilio_fields.map(lambda f: urlencode(twilio_form(f)).encode()))
def test_every_twilio_body_is_a_form_or_a_bad_form(body: bytes) -> None:
    try:
        form = parse_form(body)
    except BadForm:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())


SIMULATOR = SimulatorAdapter(Settings())
simulator_body = st.fixed_dictionaries(
    {"sender": either(st.just("sim-12345678") | st.text(max_size=20)), "message_id": either(st.text(max_size=70))},
    optional={"text": either(texts), "kind": anything, "choice": anything, "language": anything,
              "media": either(st.lists(st.fixed_dictionaries({"id": either(st.just("a" * 32))},
                                                             optional={"kind": anything, "content_type": anything}),
                                       max_size=3)),
              "location": either(point)}) | anything


@settings(max_examples=int(1000 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(simulator_body)
def test_every_simulator_body_is_an_inbound_message_or_a_400(body: Any) -> None:
    try:
        inbound = SIMULATOR.parse(body)
    except web.HTTPBadRequest:
        return
    assert inbound.adapter == "simulator" and inbound.medium.startswith("simulator:")


# --- webhooks over HTTP, through the real app and a real Redis ---------------------------------------------

@pytest.fixture
def service_env(service_env: dict[str, str], telegram_api: TelegramApiDouble) -> dict[str, str]:
    return {**service_env, "CHANNELS": "telegram,twilio,simulator", "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE": telegram_api.base,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": PUBLIC,
            "TWILIO_API_BASE": "http://127.0.0.1:9", "TWILIO_SEND_INTERVAL_MS": "0"}


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> Any:
    return await aiohttp_client(make_app(settings))


@pytest.mark.slow
@settings(max_examples=int(400 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(payload=update)
async def test_every_authentic_telegram_update_gets_200(client: Any, payload: dict[str, Any]) -> None:
    response = await client.post("/webhooks/telegram", json=payload,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status == 200, await response.text()


@pytest.mark.slow
@settings(max_examples=int(400 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(extra=twilio_fields, account=st.sampled_from([ACCOUNT_SID, "AC" + "1" * 32]))
async def test_every_signed_twilio_webhook_gets_an_answer_or_a_4xx_never_a_5xx(
    client: Any, extra: dict[str, str], account: str,
) -> None:
    form = {**twilio_form(extra), "AccountSid": account}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + "/webhooks/twilio", form)
    response = await client.post("/webhooks/twilio", data=urlencode(form), headers={
        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status in (200, 400, 403), await response.text()
    if response.status == 403:
        assert account != ACCOUNT_SID


@pytest.mark.slow
@settings(max_examples=int(200 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(body=simulator_body)
async def test_every_simulator_message_gets_an_answer_or_a_400(client: Any, body: Any) -> None:
    response = await client.post("/simulator/api/message", json=body)
    assert response.status in (200, 400), await response.text()


# --- the flow: any conversation, then the reporter can still file -----------------------------------------

said = st.sampled_from(sorted({w for locale in LOCALES.values() for forms in locale.words.values() for w in forms}
                              | {locale.name for locale in LOCALES.values()}
                              | {str(n) for n in range(13)} | {"hello", "AB2C-DE3F-GH4J", "?", "¿es anónimo?"}))
step = st.one_of(
    st.tuples(st.just("say"), said), st.tuples(st.just("say"), st.text(min_size=1, max_size=120)),
    st.tuples(st.just("location"), st.tuples(st.floats(-90, 90), st.floats(-180, 180))),
    st.tuples(st.just("choice"), st.text(max_size=20) | st.sampled_from(["0", "1", "2", "yes", "erase_chat"])),
    st.tuples(st.just("redeliver"), st.none()),
)


@pytest.mark.slow
@settings(max_examples=int(80 * SCALE), **COMMON)  # type: ignore[arg-type]
@given(steps=st.lists(step, min_size=1, max_size=14))
async def test_no_conversation_gets_stuck(client: Any, steps: list[tuple[str, Any]]) -> None:
    """Every message gets a reply (a redelivery gets none), and after any conversation a reporter
    who says DELETE and starts again reaches a receipt code."""
    phone = SimulatorPhone(client)
    for kind, value in steps:
        if kind == "say":
            replies = await phone.say(value)
        elif kind == "location":
            replies = await phone.location(*value)
        elif kind == "choice":
            replies = await phone._post(phone._body(choice=value))
        else:
            if phone.last is None:
                continue
            assert await phone.redeliver() == []
            continue
        assert replies, (kind, value)
    ended = await phone.say("delete")
    if not any(shows(ended, code, "deleted") for code in LOCALES):  # it opened a conversation: end that
        ended = await phone.say("delete")
        assert any(shows(ended, code, "deleted") for code in LOCALES)
    receipt = await complete_report(phone, [])
    assert RECEIPT.fullmatch(receipt)

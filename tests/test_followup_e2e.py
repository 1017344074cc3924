"""Follow-up end to end, through the real web app, real RQ workers and the Twilio (SMS, WhatsApp) and
Telegram doubles: a reporter files a report agreeing to be contacted, an analyst asks, a worker
delivers, the reporter answers (text, a photo), the answer is filed as an addition linked to the
report and its question; DELETE ends the thread. Nothing readable is left in Redis, the store or logs."""

# ruff: noqa: F811  (the shared follow-up fixtures are imported from tests/followup_support.py)
from __future__ import annotations

import logging
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from bot.app import make_app
from bot.cli_followup import ask, thread
from bot.identity import pseudonym
from bot.keys import RedisKeys
from config.settings import Settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from secure_store.followup import QuestionRefused
from tests.conftest import AnalystKey
from tests.contract import photo
from tests.doubles.telegram_api import TelegramApiDouble
from tests.doubles.twilio_api import TwilioApiDouble
from tests.followup_support import (  # noqa: F401 (fixtures)
    FollowUpKeys,
    keys,
    service_env,
    telegram_api,
    twilio_api,
    work,
)
from tests.scenario import LOCALES, Script, complete_report, joined, shows
from tests.test_adapter_telegram import TelegramPhone
from tests.test_adapter_twilio import TwilioPhone
from tests.test_privacy_at_rest import findings, redis_dump

QUESTION = "Is the white van still parked behind the bakery at night?"
ANSWER = "Yes, every night after ten, a man with a limp drives it"


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))


def original(store: FileStore, analyst_key: AnalystKey) -> dict[str, Any]:
    [report] = [o.report for o in list_reports(store, analyst_key.load())
                if o.report is not None and o.report["status"] == "complete"]
    return report


def additions(store: FileStore, analyst_key: AnalystKey, report_id: str) -> list[dict[str, Any]]:
    found = [o.report for o in list_reports(store, analyst_key.load())
             if o.report is not None and o.report.get("addendum_to") == report_id]
    return sorted(found, key=lambda r: r["submitted_at"])


@pytest.mark.parametrize("whatsapp", [False, True], ids=["sms", "whatsapp"])
async def test_ask_deliver_answer_and_delete_over_twilio(
    whatsapp: bool, client: TestClient[Any, Any], service_env: dict[str, str], settings: Settings,
    store: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys, twilio_api: TwilioApiDouble,
    redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    phone = TwilioPhone(client, twilio_api, whatsapp=whatsapp)
    await complete_report(phone, [], Script(follow_up=True))
    logs = work(service_env, redis_client)
    report = original(store, analyst_key)
    assert report["follow_up"]["address"].startswith(phone.sender)

    question = ask(store, analyst_key.load(), keys.public, report["report_id"], QUESTION)
    logs += work(service_env, redis_client)
    delivered = twilio_api.messages[-1]
    assert delivered["To"] == phone.sender and QUESTION in delivered["Body"]
    assert "This is the report line you wrote to on " + report["submitted_at"][:10] in delivered["Body"]

    thanks = await phone.say(ANSWER)
    assert shows(thanks, "en", "followup.thanks"), joined(thanks)
    picture = photo("green")
    assert shows(await phone.photo(picture), "en", "followup.thanks")
    logs += work(service_env, redis_client)
    answers = additions(store, analyst_key, report["report_id"])
    assert len(answers) == 2
    [text_answer] = [a for a in answers if a["answers"]]
    [photo_answer] = [a for a in answers if a["media"]]
    assert text_answer["status"] == "addendum" and text_answer["question_id"] == question.request_id
    assert text_answer["answers"] == {"answer": [ANSWER]} and text_answer["follow_up"] is None
    [item] = photo_answer["media"]
    assert photo_answer["question_id"] == question.request_id
    assert open_media(store, analyst_key.load(), item["id"]) == picture
    kinds = [(e["kind"], e.get("status")) for e in thread(store, analyst_key.load(), report["report_id"])]
    assert kinds == [("question", "delivered"), ("answer", None), ("answer", None)]

    ended = await phone.say("DELETE")
    assert shows(ended, "en", "followup.ended"), joined(ended)
    logs += work(service_env, redis_client)
    [note] = [a for a in additions(store, analyst_key, report["report_id"]) if a["notes"]]
    assert note["question_id"] == question.request_id and "ended follow-up" in " ".join(note["notes"])
    who = pseudonym(settings.pseudonym_key, "twilio", report["follow_up"]["address"])
    assert not redis_client.exists(RedisKeys().followup_link(who))
    assert shows(await phone.say("hello"), "en", "consent.prompt")  # a new conversation, not an answer

    again = ask(store, analyst_key.load(), keys.public, report["report_id"], "One more thing?")
    sent_before = len(twilio_api.messages)
    logs += work(service_env, redis_client)
    assert len(twilio_api.messages) == sent_before
    [last] = [e for e in thread(store, analyst_key.load(), report["report_id"]) if e["id"] == again.request_id]
    assert last["status"] == "not_delivered" and "ended follow-up" in last["reason"]

    secrets = {"number": phone.sender.removeprefix("whatsapp:").lstrip("+").encode(),
               "question": b"white van", "answer": b"man with a limp"}
    objects = [p.read_bytes() for p in store.root.rglob("*") if p.is_file()]
    assert findings(redis_dump(redis_client) + objects + [logs.encode(), caplog.text.encode()], secrets) == []


async def test_ask_deliver_answer_over_telegram_in_the_reporters_language(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    keys: FollowUpKeys, telegram_api: TelegramApiDouble, redis_client: redis.Redis,
) -> None:
    phone = TelegramPhone(client, telegram_api)
    await complete_report(phone, [], Script(follow_up=True, language="es", description="Hombres encerrados"))
    work(service_env, redis_client)
    report = original(store, analyst_key)
    assert report["language"] == "es"

    question = ask(store, analyst_key.load(), keys.public, report["report_id"], "¿Sigue ahí la furgoneta?")
    mark = telegram_api.mark()
    work(service_env, redis_client)
    [received] = phone.read(mark)
    assert received.startswith("Esta es la línea de denuncias") and "¿Sigue ahí la furgoneta?" in received

    thanks = await phone.say("Sí, todas las noches")
    assert LOCALES["es"].messages["followup.thanks"] in joined(thanks)
    work(service_env, redis_client)
    [answer] = additions(store, analyst_key, report["report_id"])
    assert answer["answers"] == {"answer": ["Sí, todas las noches"]} and answer["question_id"] == question.request_id
    assert answer["language"] == "es"


async def test_a_reporter_who_did_not_agree_cannot_be_asked(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    keys: FollowUpKeys, twilio_api: TwilioApiDouble, redis_client: redis.Redis,
) -> None:
    phone = TwilioPhone(client, twilio_api, whatsapp=False)
    await complete_report(phone, [], Script(follow_up=False))
    work(service_env, redis_client)
    report = original(store, analyst_key)
    assert report["follow_up"] is None
    with pytest.raises(QuestionRefused, match="did not agree to follow-up"):
        ask(store, analyst_key.load(), keys.public, report["report_id"], QUESTION)

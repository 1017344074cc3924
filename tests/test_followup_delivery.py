"""Analysts' questions delivered by a real RQ worker to the Twilio (SMS, WhatsApp) and Telegram
doubles over real HTTP: what the reporter receives, what analysts are told, what stays behind."""

# ruff: noqa: F811  (the shared follow-up fixtures are imported from tests/followup_support.py)
from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from bot.cli_followup import ask, thread
from bot.identity import pseudonym
from bot.keys import RedisKeys
from config.settings import Settings
from secure_store.backends import FileStore
from secure_store.followup import REQUEST_PREFIX
from tests.conftest import AnalystKey, make_analyst_key
from tests.doubles.telegram_api import TelegramApiDouble
from tests.doubles.twilio_api import TwilioApiDouble
from tests.followup_support import (  # noqa: F401 (fixtures)
    TEMPLATE_EN,
    FollowUpKeys,
    filed_report,
    keys,
    service_env,
    telegram_api,
    twilio_api,
    work,
)
from tests.test_privacy_at_rest import findings, redis_dump

OURS_SMS = "+15005550006"
OURS_WHATSAPP = "whatsapp:+14155238886"
QUESTION = "Is the white van still parked behind the bakery at night?"


def questions(store: FileStore, analyst_key: AnalystKey, report_id: str) -> list[dict[str, Any]]:
    return [e for e in thread(store, analyst_key.load(), report_id) if e["kind"] == "question"]


def whatsapp(number: str) -> dict[str, str]:
    return {"channel": "whatsapp", "address": f"whatsapp:{number}|{OURS_WHATSAPP}"}


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def test_an_sms_question_reaches_the_reporter_and_leaves_no_address_or_text_behind(
    service_env: dict[str, str], settings: Settings, store: FileStore, analyst_key: AnalystKey,
    keys: FollowUpKeys, twilio_api: TwilioApiDouble, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    number = "+447700900" + f"{secrets.randbelow(1000):03d}"
    report = filed_report(store, analyst_key.public, {"channel": "sms", "address": f"{number}|{OURS_SMS}"},
                          submitted_at="2026-11-03T09:15:00+00:00")
    request = ask(store, analyst_key.load(), keys.public, report["report_id"], QUESTION)
    assert [q["status"] for q in questions(store, analyst_key, report["report_id"])] == ["waiting"]

    logs = work(service_env, redis_client)
    [sent] = twilio_api.messages
    assert (sent["To"], sent["From"]) == (number, OURS_SMS)
    assert sent["Body"] == ("This is the report line you wrote to on 2026-11-03. Our team asks: " + QUESTION
                            + "\nReply here to answer, or send DELETE to erase.")
    [entry] = questions(store, analyst_key, report["report_id"])
    assert (entry["id"], entry["status"], entry["text"]) == (request.request_id, "delivered", QUESTION)
    assert list(store.names(REQUEST_PREFIX)) == []
    who = pseudonym(settings.pseudonym_key, "twilio", f"{number}|{OURS_SMS}")
    link = RedisKeys().followup_link(who)
    assert redis_client.exists(link) and redis_client.ttl(link) > 13 * 24 * 3600

    secrets_ = {"number": number.lstrip("+").encode(), "question": b"white van"}
    objects = [p.read_bytes() for p in store.root.rglob("*") if p.is_file()]
    assert findings(redis_dump(redis_client) + objects + [logs.encode(), caplog.text.encode()], secrets_) == []

    assert work(service_env, redis_client) and len(twilio_api.messages) == 1  # delivered once only


def test_whatsapp_uses_the_approved_template_only_outside_the_24_hour_window(
    service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys,
    twilio_api: TwilioApiDouble, redis_client: redis.Redis,
) -> None:
    old = filed_report(store, analyst_key.public, whatsapp("+447700900111"),
                       submitted_at=days_ago(3))
    recent = filed_report(store, analyst_key.public, whatsapp("+447700900222"))
    ask(store, analyst_key.load(), keys.public, old["report_id"], "Is the van\n  still there?")
    ask(store, analyst_key.load(), keys.public, recent["report_id"], "Is the van still there?")
    work(service_env, redis_client)

    by_number = {m["To"]: m for m in twilio_api.messages}
    template = by_number["whatsapp:+447700900111"]
    assert "Body" not in template and template["ContentSid"] == TEMPLATE_EN
    assert json.loads(template["ContentVariables"]) == {"1": old["submitted_at"][:10], "2": "Is the van still there?"}
    free_form = by_number["whatsapp:+447700900222"]
    assert "ContentSid" not in free_form and "Is the van still there?" in free_form["Body"]
    assert [q["status"] for q in questions(store, analyst_key, old["report_id"])] == ["delivered"]


def test_without_a_template_a_late_whatsapp_question_is_not_delivered_and_the_analyst_is_told_why(
    service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys,
    twilio_api: TwilioApiDouble, redis_client: redis.Redis,
) -> None:
    report = filed_report(store, analyst_key.public, whatsapp("+447700900333"),
                          language="fr", submitted_at=days_ago(2))
    ask(store, analyst_key.load(), keys.public, report["report_id"], "Le camion est-il toujours là ?")
    work({**service_env, "TWILIO_FOLLOWUP_TEMPLATES": ""}, redis_client)
    assert twilio_api.messages == []
    [entry] = questions(store, analyst_key, report["report_id"])
    assert entry["status"] == "not_delivered" and "TWILIO_FOLLOWUP_TEMPLATES" in entry["reason"]


def test_telegram_delivers_unless_the_reporter_blocked_the_bot(
    service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys,
    telegram_api: TelegramApiDouble, redis_client: redis.Redis,
) -> None:
    reachable = filed_report(store, analyst_key.public, {"channel": "telegram", "address": "700100200"}, language="es")
    ask(store, analyst_key.load(), keys.public, reachable["report_id"], "¿Sigue ahí la furgoneta?")
    work(service_env, redis_client)
    [call] = telegram_api.calls_of("sendMessage")
    assert str(call.params["chat_id"]) == "700100200"
    assert call.params["text"].startswith("Esta es la línea de denuncias a la que escribió el ")
    assert "¿Sigue ahí la furgoneta?" in call.params["text"] and "BORRAR" in call.params["text"]

    blocked = filed_report(store, analyst_key.public, {"channel": "telegram", "address": "700100300"})
    ask(store, analyst_key.load(), keys.public, blocked["report_id"], "Is the van still there?")
    telegram_api.fail_next("sendMessage", 403)
    work(service_env, redis_client)
    [entry] = questions(store, analyst_key, blocked["report_id"])
    assert entry["status"] == "not_delivered" and "blocked the bot" in entry["reason"]


def test_an_sms_number_that_opted_out_is_recorded_not_delivered_with_the_providers_code(
    service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys,
    twilio_api: TwilioApiDouble, redis_client: redis.Redis,
) -> None:
    twilio_api.opted_out.add("+447700900444")
    report = filed_report(store, analyst_key.public, {"channel": "sms", "address": f"+447700900444|{OURS_SMS}"})
    ask(store, analyst_key.load(), keys.public, report["report_id"], "Is the van still there?")
    work(service_env, redis_client)
    [entry] = questions(store, analyst_key, report["report_id"])
    assert entry["status"] == "not_delivered" and "21610" in entry["reason"]


def test_a_request_not_written_by_an_analyst_key_sends_nothing_and_is_removed(
    service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys,
    twilio_api: TwilioApiDouble, redis_client: redis.Redis, tmp_path: Any,
) -> None:
    intruder = make_analyst_key(tmp_path / "intruder", "intruder")
    report = filed_report(store, intruder.public, {"channel": "sms", "address": f"+447700900555|{OURS_SMS}"})
    ask(store, intruder.load(), keys.public, report["report_id"], "Where do you live?")
    output = work(service_env, redis_client)
    assert twilio_api.messages == [] and list(store.names(REQUEST_PREFIX)) == []
    assert "refused and removed" in output

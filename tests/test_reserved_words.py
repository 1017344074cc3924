"""Words that work on every channel: on SMS a reserved word (STOP, CANCEL, END, QUIT...) opts the
reporter out at the carrier, so the bot discards the draft and sends nothing that would fail; on
WhatsApp and Telegram STOP is a quiet cancel with nothing kept; the flow never asks for a reserved word."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from bot.app import make_app
from flows.locale import LOCALES_DIR, load_locales, locale_problems
from flows.sms import RESERVED_WORDS, opts_out, reserved_in
from tests.chat import Reporter, texts


@pytest.mark.parametrize("text", ["STOP", "stop", " Cancel ", "END", "quit", "UNSUBSCRIBE", "StopAll",
                                  "arrêt", "STOP."])
def test_the_words_carriers_take_as_an_opt_out(text: str) -> None:
    assert opts_out(text)


@pytest.mark.parametrize("text", ["please cancel", "stop it now", "HELP", "menu", "", "the end of the street"])
def test_words_in_a_sentence_are_not_an_opt_out(text: str) -> None:
    assert not opts_out(text)


def test_no_locale_asks_for_a_reserved_word() -> None:
    """What prompts tell reporters to send, in capitals, in every language."""
    for path in sorted(Path(LOCALES_DIR).glob("*.yaml")):
        messages = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
        asked = {key: reserved_in(text) for key, text in messages.items() if reserved_in(text)}
        assert asked == {}, f"{path.name} asks for {asked}"
    assert "HELP" in RESERVED_WORDS and "CANCEL" in RESERVED_WORDS


async def walk_in(reporter: Reporter) -> None:
    await reporter.say("hello")
    await reporter.say("yes")


def live_sessions(redis_client: redis.Redis) -> list[bytes]:
    return list(redis_client.scan_iter("tl:s:*"))


@pytest.mark.parametrize("word", ["STOP", "CANCEL", "END", "QUIT", "stopall"])
async def test_an_sms_opt_out_discards_the_draft_and_sends_nothing(
    word: str, settings: Any, aiohttp_client: Any, redis_client: redis.Redis,
) -> None:
    reporter = Reporter(await aiohttp_client(make_app(settings)), kind="sms", language="en")
    await walk_in(reporter)
    await reporter.say("Men kept in a lorry at the lay-by")
    assert live_sessions(redis_client)
    assert await reporter.say(word) == [], "the carrier has opted them out: a reply would fail"
    assert live_sessions(redis_client) == []


@pytest.mark.parametrize("kind", ["whatsapp", "telegram"])
async def test_stop_is_a_quiet_cancel_on_whatsapp_and_telegram(
    kind: str, settings: Any, aiohttp_client: Any, redis_client: redis.Redis,
) -> None:
    reporter = Reporter(await aiohttp_client(make_app(settings)), kind=kind, language="en")
    await walk_in(reporter)
    assert await reporter.say("STOP") == []
    assert live_sessions(redis_client) == []


async def test_cancel_still_cancels_with_an_answer_where_it_is_not_reserved(
    settings: Any, aiohttp_client: Any, redis_client: redis.Redis,
) -> None:
    reporter = Reporter(await aiohttp_client(make_app(settings)), kind="whatsapp", language="en")
    await walk_in(reporter)
    assert "cancelled" in texts(await reporter.say("CANCEL"))
    assert live_sessions(redis_client) == []


def test_flows_check_refuses_a_translation_that_asks_for_a_reserved_word() -> None:
    locales = load_locales()
    spanish = locales["es"]
    locales["es"] = dataclasses.replace(spanish, messages={**spanish.messages, "reminder": "Envíe STOP para salir."})
    assert locale_problems(load_locales()) == []
    [problem] = locale_problems(locales)
    assert "es: message 'reminder' asks for STOP" in problem

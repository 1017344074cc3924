"""Receipt codes cannot be guessed at scale: per sender and for everyone together, codes tried
beyond a limit are taken as plain text (the reporter gets the usual answer), and the limit lifts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.app import make_app
from bot.constants import RECEIPT_GUESS_WINDOW, RECEIPT_GUESSES_PER_MINUTE, RECEIPT_GUESSES_PER_SENDER
from bot.drafts import new_receipt
from config.settings import Settings
from tests.chat import Reporter
from tests.scenario import complete_report, shows
from tests.test_adapter_simulator import SimulatorPhone


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies]


async def test_one_sender_guessing_codes_is_stopped_politely_and_may_try_again_later(
    settings: Settings, aiohttp_client: Any,
) -> None:
    clock = Clock()
    client = await aiohttp_client(make_app(settings, clock=clock))
    receipt = await complete_report(SimulatorPhone(client), [])
    guesser = Reporter(client)
    for _ in range(RECEIPT_GUESSES_PER_SENDER):
        assert shows(texts(await guesser.say(new_receipt())), "en", "welcome")
        assert shows(texts(await guesser.say("delete")), "en", "deleted")
    refused = texts(await guesser.say(receipt))  # even the right code: this sender tried too many
    assert refused and not shows(refused, "en", "addendum.prompt") and shows(refused, "en", "welcome")
    assert shows(texts(await Reporter(client).say(receipt)), "en", "addendum.prompt")  # others are not held up
    await guesser.say("delete")
    clock.now += RECEIPT_GUESS_WINDOW
    assert shows(texts(await guesser.say(receipt)), "en", "addendum.prompt")


@pytest.mark.slow
async def test_many_senders_guessing_at_once_are_limited_together(settings: Settings, aiohttp_client: Any) -> None:
    clock = Clock()
    client = await aiohttp_client(make_app(settings, clock=clock))
    receipt = await complete_report(SimulatorPhone(client), [])
    clock.now = (clock.now // 60 + 1) * 60  # the start of a minute
    for _ in range(RECEIPT_GUESSES_PER_MINUTE):
        await Reporter(client).say(new_receipt())
    assert not shows(texts(await Reporter(client).say(receipt)), "en", "addendum.prompt")
    clock.now += 60
    assert shows(texts(await Reporter(client).say(receipt)), "en", "addendum.prompt")

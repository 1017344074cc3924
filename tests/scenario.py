"""The reporter's script for a complete report, written once and driven over any channel.

When the flow file or the wording changes, this is the one place that walks it for the channel
tests. Expected texts come from the locale files, so a script runs in any shipped language, and
the walk copes with a language the channel pre-selected (Telegram language_code, phone country).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from flows.locale import Locale, load_locales

LOCALES: dict[str, Locale] = load_locales()
RECEIPT = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


class Channel(Protocol):
    """A reporter's phone on some channel: each call sends one message and returns the replies
    as the reporter would read them (text, with choices rendered as that channel shows them)."""

    async def say(self, text: str) -> list[str]: ...

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]: ...

    async def location(self, latitude: float, longitude: float) -> list[str]: ...


@dataclass
class Script:
    category_answer: str = "1"
    category_key: str = "labour"
    description: str = "Men sleeping in the bakery basement, doors locked from outside"
    place: str = "Rue de la Paix 12, Lyon"
    language: str = "en"
    when: str = "Every night since March"
    people: str | None = "Two men, a white van"
    danger: bool = False
    follow_up: bool = False


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


def expect(language: str, key: str) -> str:
    """The longest fixed part of a message (placeholders vary), to look for in replies."""
    pieces = re.split(r"{[^}]*}", LOCALES[language].messages[key])
    return max((p.strip() for p in pieces), key=len)


def word(language: str, name: str) -> str:
    """What a reporter types for a word (DONE, YES, SKIP, ...) in a language."""
    return LOCALES[language].words[name][0]


def shows(replies: list[str], language: str, key: str) -> bool:
    return expect(language, key) in joined(replies)


async def begin_report(channel: Channel, script: Script | None = None) -> list[str]:
    """From the first hello to the category question in the script's language; returns its replies."""
    script = script or Script()
    lang = script.language
    replies = await channel.say("hello")
    shown_in = next((code for code in LOCALES if shows(replies, code, "consent.prompt")), None)
    if shown_in is not None and shown_in != lang:  # the channel pre-selected another language
        replies = await channel.say(word(lang, "language"))
        shown_in = None
    if shown_in is None:
        assert any(shows(replies, code, "language.prompt") for code in LOCALES), joined(replies)
        replies = await channel.say(LOCALES[lang].name)
    assert shows(replies, lang, "consent.prompt"), joined(replies)
    replies = await channel.say(word(lang, "yes"))
    assert shows(replies, lang, "category.prompt"), joined(replies)
    return replies


class Reached(Exception):
    """Raised inside a walk once the step asked for is on screen."""


async def complete_report(channel: Channel, photos: list[bytes], script: Script | None = None,
                          shared_location: tuple[float, float] | None = None, stop_at: str | None = None) -> str:
    """Walk the shipped flow from the first hello to the receipt; return the receipt code.

    With `stop_at` (a step id such as "media"), stop once that step's question is shown and return "".
    """
    script = script or Script()
    lang = script.language
    try:
        await _walk(channel, photos, script, shared_location, stop_at)
    except Reached:
        return ""
    final = await channel.say(word(lang, "yes"))
    assert shows(final, lang, "submitted.prompt"), joined(final)
    found = RECEIPT.search(joined(final))
    assert found is not None, "no receipt code in the final reply"
    return found.group(0)


async def walk_to(channel: Channel, step: str, script: Script | None = None) -> None:
    """Answer the script up to `step`'s question (e.g. "media", "review")."""
    await complete_report(channel, [], script, stop_at=step)


async def _walk(channel: Channel, photos: list[bytes], script: Script,
                shared_location: tuple[float, float] | None, stop_at: str | None) -> None:
    lang = script.language

    def check(replies: list[str], key: str) -> None:
        assert shows(replies, lang, key), f"expected {key!r} in:\n{joined(replies)}"
        if key == f"{stop_at}.prompt":
            raise Reached

    check(await begin_report(channel, script), "category.prompt")
    check(await channel.say(script.category_answer), "description.prompt")
    check(await channel.say(script.description), "messages.more")
    check(await channel.say(word(lang, "done")), "location.prompt")
    if shared_location:
        check(await channel.location(*shared_location), "when.prompt")
    else:
        check(await channel.say(script.place), "when.prompt")
    check(await channel.say(script.when), "people.prompt")
    check(await channel.say(script.people or word(lang, "skip")), "media.prompt")
    for data in photos:
        check(await channel.photo(data), "media.received")
    check(await channel.say(word(lang, "done")), "danger.prompt")
    replies = await channel.say(word(lang, "yes" if script.danger else "no"))
    if script.danger:
        check(replies, "danger_help.prompt")
    check(replies, "follow_up.prompt")
    review = await channel.say(word(lang, "yes" if script.follow_up else "no"))
    check(review, "review.prompt")
    assert script.description in joined(review)

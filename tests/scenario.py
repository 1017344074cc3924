"""The reporter's script for a complete report, written once and driven over any channel.

When the flow file changes, this is the one place that walks it for the channel tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


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


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


async def complete_report(channel: Channel, photos: list[bytes], script: Script | None = None,
                          shared_location: tuple[float, float] | None = None) -> str:
    """Walk the shipped flow from the first hello to the receipt; return the receipt code."""
    script = script or Script()
    assert "What kind of activity" in joined(await channel.say("hello"))
    assert "describe" in joined(await channel.say(script.category_answer))
    assert "Where" in joined(await channel.say(script.description))
    if shared_location:
        assert "photos" in joined(await channel.location(*shared_location))
    else:
        assert "photos" in joined(await channel.say(script.place))
    for data in photos:
        assert "Received" in joined(await channel.photo(data))
    review = joined(await channel.say("done"))
    assert script.description in review
    found = re.search(r"receipt code is ([A-Z0-9-]+)", joined(await channel.say("yes")))
    assert found is not None, "no receipt code in the final reply"
    return found.group(1)

"""What the reporter and the bot say to each other, in the flow's words (no provider details).

The flow produces `Reply` objects and reads `Location`s; adapters render and parse them
(`adapters.base` re-exports these names). They live here so that `flows/` imports nothing of
channels: the data path runs adapters -> bot -> flows, never back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    """A shared location (WhatsApp / Telegram pin, venue) — never derived from the sender's device."""

    latitude: float
    longitude: float
    address: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class Choice:
    """An option offered to the reporter; `key` is what comes back, `label` what is shown."""

    key: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message to the reporter. Adapters render `choices` natively or as numbered text."""

    text: str
    choices: tuple[Choice, ...] = ()
    rtl: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "choices": [[c.key, c.label] for c in self.choices], "rtl": self.rtl}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        return cls(str(data["text"]), tuple(Choice(str(k), str(v)) for k, v in data.get("choices", [])),
                   bool(data.get("rtl", False)))

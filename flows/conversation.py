"""What the flow works on: one reporter's draft (`Conversation`), one message as the flow sees it
(`Said`), and what a step answers (`Outcome`). Plain data, no Redis, no provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flows.said import Location, Reply


@dataclass(eq=False)
class Conversation:
    """One reporter's draft. `eq=False`: transitions keeps models by identity.

    `history` is the steps answered so far (for BACK); `resume` is where to return after an edit
    or a language change; `addendum_to` is the report a receipt code unlocked; `narrowed` the two
    options a "which of these?" question offered (their numbers then mean those two).
    """

    state: str
    language: str = "en"
    answers: dict[str, Any] = field(default_factory=dict)
    media: list[dict[str, Any]] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    resume: str | None = None
    country: str | None = None
    addendum_to: str | None = None
    narrowed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"s": self.state, "l": self.language, "a": self.answers, "m": self.media}
        optional = {"h": self.history, "r": self.resume, "co": self.country, "ad": self.addendum_to,
                    "n": self.narrowed}
        data.update({k: v for k, v in optional.items() if v})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(state=data["s"], language=data.get("l", "en"), answers=data.get("a", {}),
                   media=data.get("m", []), history=data.get("h", []), resume=data.get("r"),
                   country=data.get("co"), addendum_to=data.get("ad"), narrowed=data.get("n", []))


@dataclass(frozen=True)
class Said:
    """What the reporter sent, as the flow sees it (no provider details)."""

    text: str | None = None
    choice: str | None = None
    location: Location | None = None
    media_count: int = 0


@dataclass
class Outcome:
    """Replies to send and how the conversation ends: `end` is None (it goes on), "submit",
    "addendum" or "discard" (wipe the draft). `dropped` lists media a RESTART let go of."""

    replies: list[Reply] = field(default_factory=list)
    end: str | None = None
    dropped: list[dict[str, Any]] = field(default_factory=list)

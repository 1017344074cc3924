"""The report conversation: a shared `transitions` state machine built from a flow file.

`ReportFlow.step` takes one reporter message for one conversation and returns the replies and
what must happen next (file the report, wipe the draft). It is pure: no Redis, no network, no
provider; the bot's engine persists the `Conversation` it mutates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from adapters.base import Choice, Location, Reply
from flows.locale import Locale, load_locales, match_option
from flows.spec import FlowSpec, Step, load_flow


@dataclass(eq=False)
class Conversation:
    """One reporter's draft. `eq=False`: transitions keeps models by identity."""

    state: str
    language: str = "en"
    answers: dict[str, Any] = field(default_factory=dict)
    media: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"s": self.state, "l": self.language, "a": self.answers, "m": self.media}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(state=data["s"], language=data.get("l", "en"), answers=data.get("a", {}),
                   media=data.get("m", []))


@dataclass(frozen=True)
class Said:
    """What the reporter sent, as the flow sees it (no provider details)."""

    text: str | None = None
    choice: str | None = None
    location: Location | None = None
    media_count: int = 0


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    submit: bool = False
    wipe: bool = False
    finished: bool = False


class ReportFlow:
    """A flow file and its translations, with one machine shared by every conversation."""

    def __init__(self, spec: FlowSpec | None = None, locales: dict[str, Locale] | None = None) -> None:
        self.spec = spec or load_flow()
        self.locales = locales or load_locales()
        transitions = [
            {"trigger": "advance", "source": step.id, "dest": step.next}
            for step in self.spec.steps.values()
            if step.next
        ]
        transitions.append({"trigger": "restart", "source": "*", "dest": self.spec.start})
        self.machine = Machine(
            model=None,
            states=list(self.spec.steps),
            transitions=transitions,
            initial=self.spec.start,
            auto_transitions=False,
        )

    def locale(self, conversation: Conversation) -> Locale:
        return self.locales.get(conversation.language) or self.locales["en"]

    def new_conversation(self, language: str = "en") -> Conversation:
        return Conversation(state=self.spec.start, language=language if language in self.locales else "en")

    def begin(self, conversation: Conversation) -> list[Reply]:
        locale = self.locale(conversation)
        return [Reply(locale.text("welcome"), rtl=locale.rtl), self.prompt(conversation)]

    def options(self, step: Step, locale: Locale) -> list[tuple[str, str]]:
        return [(key, locale.text(f"{step.id}.option.{key}")) for key in step.options]

    def prompt(self, conversation: Conversation, key: str | None = None, **values: object) -> Reply:
        step = self.spec.step(conversation.state)
        locale = self.locale(conversation)
        if step.kind == "review" and key is None:
            values = {"summary": self.summary(conversation), **values}
        text = locale.text(key or step.prompt, **values)
        choices: tuple[Choice, ...] = ()
        if step.kind == "choice":
            choices = tuple(Choice(k, label) for k, label in self.options(step, locale))
        return Reply(text, choices=choices, rtl=locale.rtl)

    def summary(self, conversation: Conversation) -> str:
        locale = self.locale(conversation)
        lines = []
        for step in self.spec.steps.values():
            if not step.store or step.store not in conversation.answers:
                continue
            value = conversation.answers[step.store]
            if step.kind == "choice":
                value = locale.text(f"{step.id}.option.{value}")
            elif step.kind == "location" and isinstance(value, dict) and "latitude" in value:
                value = value.get("address") or locale.text("review.location_shared")
            lines.append(f"- {locale.text(f'review.field.{step.store}')}: {value}")
        lines.append(f"- {locale.text('review.field.media')}: {len(conversation.media)}")
        return "\n".join(lines)

    def _go(self, conversation: Conversation, trigger: str) -> None:
        self.machine.add_model(conversation, initial=conversation.state)
        try:
            conversation.trigger(trigger)  # type: ignore[attr-defined]
        finally:
            self.machine.remove_model(conversation)

    def step(self, conversation: Conversation, said: Said) -> Outcome:
        """Apply one message to the conversation and say what to answer and do."""
        locale = self.locale(conversation)
        step = self.spec.step(conversation.state)
        text = said.text or ""
        if step.kind == "final":
            return Outcome(replies=[Reply(locale.text("finished"), rtl=locale.rtl)], finished=True)
        if text and locale.is_word(text, "cancel"):
            return Outcome(replies=[Reply(locale.text("cancelled"), rtl=locale.rtl)], wipe=True)
        if text and locale.is_word(text, "restart"):
            conversation.answers.clear()
            self._go(conversation, "restart")
            return Outcome(replies=[Reply(locale.text("restarted"), rtl=locale.rtl), self.prompt(conversation)])

        if step.kind == "choice":
            key = said.choice if said.choice in step.options else match_option(text, self.options(step, locale))
            if key is None:
                if said.media_count and not text:
                    return Outcome(replies=[self._received(conversation), self.prompt(conversation)])
                listing = "\n".join(f"{i}. {label}" for i, (_, label) in enumerate(self.options(step, locale), 1))
                return Outcome(replies=[self.prompt(conversation, "reprompt.choice", options=listing)])
            self._store(conversation, step, key)
        elif step.kind == "text":
            if not text.strip():
                if said.media_count:
                    return Outcome(replies=[self._received(conversation)])
                return Outcome(replies=[Reply(locale.text("reprompt.text"), rtl=locale.rtl)])
            self._store(conversation, step, text.strip())
        elif step.kind == "location":
            if said.location is not None:
                loc = said.location
                value: Any = {"latitude": loc.latitude, "longitude": loc.longitude}
                if loc.address:
                    value["address"] = loc.address
                if loc.label:
                    value["label"] = loc.label
                self._store(conversation, step, value)
            elif text.strip():
                self._store(conversation, step, text.strip())
            elif said.media_count:
                return Outcome(replies=[self._received(conversation)])
            else:
                return Outcome(replies=[Reply(locale.text("reprompt.location"), rtl=locale.rtl)])
        elif step.kind == "media":
            if said.media_count and not locale.is_word(text, "done"):
                return Outcome(replies=[self._received(conversation)])
            if not locale.is_word(text, "done"):
                return Outcome(replies=[self.prompt(conversation)])
        elif step.kind == "review":
            if not locale.is_word(text, "yes"):
                if said.media_count:
                    return Outcome(replies=[self._received(conversation), self.prompt(conversation)])
                return Outcome(replies=[Reply(locale.text("reprompt.review"), rtl=locale.rtl)])
            self._go(conversation, "advance")
            return Outcome(submit=True)

        self._go(conversation, "advance")
        return Outcome(replies=[self.prompt(conversation)])

    def _received(self, conversation: Conversation) -> Reply:
        locale = self.locale(conversation)
        return Reply(locale.text("media.received", count=len(conversation.media)), rtl=locale.rtl)

    def _store(self, conversation: Conversation, step: Step, value: Any) -> None:
        if step.store:
            conversation.answers[step.store] = value

    def receipt_reply(self, conversation: Conversation, receipt: str) -> Reply:
        locale = self.locale(conversation)
        return Reply(locale.text("submitted.message", receipt=receipt), rtl=locale.rtl)

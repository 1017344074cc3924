"""The report conversation: one shared `transitions` state machine built from a flow file.

`ReportFlow.step` takes one reporter message for one conversation and returns the replies and
how the conversation ends, if it does (file the report, file an addendum, or discard the draft).
It is pure: no Redis, no network, no provider; the bot's engine persists the `Conversation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from flows.helplines import helpline_for
from flows.locale import MAX_WORD_CHARS, Locale, load_locales, match_option, normalise, typo_of
from flows.said import Choice, Location, Reply
from flows.spec import FlowSpec, Step, load_flow, reachable

GLOBAL_WORDS = ("delete", "cancel", "restart", "back", "help", "language")
HISTORY_LIMIT = 24
SUMMARY_CHARS = 80


@dataclass(eq=False)
class Conversation:
    """One reporter's draft. `eq=False`: transitions keeps models by identity.

    `history` is the steps answered so far (for BACK); `resume` is where to return after an edit
    or a language change; `addendum_to` is the report a receipt code unlocked.
    """

    state: str
    language: str = "en"
    answers: dict[str, Any] = field(default_factory=dict)
    media: list[dict[str, Any]] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    resume: str | None = None
    country: str | None = None
    addendum_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"s": self.state, "l": self.language, "a": self.answers, "m": self.media}
        optional = {"h": self.history, "r": self.resume, "co": self.country, "ad": self.addendum_to}
        data.update({k: v for k, v in optional.items() if v})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(state=data["s"], language=data.get("l", "en"), answers=data.get("a", {}),
                   media=data.get("m", []), history=data.get("h", []), resume=data.get("r"),
                   country=data.get("co"), addendum_to=data.get("ad"))


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


class ReportFlow:
    """A flow file and its translations, with one machine shared by every conversation."""

    def __init__(self, spec: FlowSpec | None = None, locales: dict[str, Locale] | None = None,
                 default_country: str | None = None) -> None:
        self.spec = spec or load_flow()
        self.locales = locales or load_locales()
        self.default_country = default_country
        self.language_order = ["en", *sorted(code for code in self.locales if code != "en")]
        self.language_step = next((s.id for s in self.spec.steps.values() if s.kind == "language"), None)
        self.machine = Machine(
            model=None,
            states=list(self.spec.steps),
            transitions=self._transitions(),
            initial=self.spec.start,
            auto_transitions=False,
        )
        self._global_words = {code: self._global_forms(code) for code in self.locales}

    def _global_forms(self, language: str) -> dict[str, str]:
        """Folded form -> global word, for one language: its own forms, English's, and LANGUAGE in any."""
        table: dict[str, str] = {}
        for word in reversed(GLOBAL_WORDS):  # earlier words win a shared form
            forms = [*self.locales[language].words.get(word, ()), *self.locales["en"].words.get(word, ())]
            if word == "language":
                forms = [form for other in self.locales.values() for form in other.words.get(word, ())]
            table.update({normalise(form): word for form in forms if normalise(form)})
        return table

    def _transitions(self) -> list[dict[str, Any]]:
        moves: list[dict[str, Any]] = []
        for step in self.spec.steps.values():
            if step.next:
                moves.append({"trigger": "advance", "source": step.id, "dest": step.next})
            for answer, dest in step.branch.items():
                moves.append({"trigger": f"answer_{answer}", "source": step.id, "dest": dest})
            if step.kind == "review":
                for target in self.spec.fields():
                    moves.append({"trigger": f"edit_{target.id}", "source": step.id, "dest": target.id})
        live = [s.id for s in self.spec.steps.values() if s.kind != "final"]
        after = self._after_restart()
        moves.append({"trigger": "restart", "source": [s for s in live if s in after], "dest": self.spec.restart})
        before = [s for s in live if s not in after]
        if before:
            moves.append({"trigger": "restart", "source": before, "dest": self.spec.start})
        if self.language_step:
            moves.append({"trigger": "change_language", "source": live, "dest": self.language_step})
        return moves

    # -- what the reporter sees -------------------------------------------------------------

    def locale(self, conversation: Conversation) -> Locale:
        return self.locales.get(conversation.language) or self.locales["en"]

    def pick_language(self, language_hint: str | None, country_hint: str | None) -> str | None:
        """The language a channel's hints point to (Telegram language_code, phone country), if any."""
        if language_hint:
            code = language_hint.replace("_", "-").split("-")[0].lower()
            if code in self.locales:
                return code
        if country_hint:
            for code in self.language_order:
                if country_hint.upper() in self.locales[code].countries:
                    return code
        return None

    def new_conversation(self, language: str | None = None, country: str | None = None) -> Conversation:
        """A fresh draft; with a known `language` the language question is skipped (LANGUAGE changes it)."""
        conversation = Conversation(state=self.spec.start, language=language or "en", country=country)
        if language in self.locales and self.spec.step(self.spec.start).kind == "language":
            self._go(conversation, "advance")
        return conversation

    def begin(self, conversation: Conversation) -> list[Reply]:
        return [self._say(conversation, "welcome"), *self._arrive(conversation).replies]

    def erase_offer(self, conversation: Conversation, key: str) -> Reply:
        """The offer, at the end, to erase the whole conversation from the reporter's chat."""
        locale = self.locale(conversation)
        return Reply(locale.text("erase.offer"), choices=(Choice(key, locale.text("erase.button")),), rtl=locale.rtl)

    def message(self, conversation: Conversation, key: str, **values: object) -> Reply:
        """A message of the locale files in the reporter's language (for notices the engine gives)."""
        return self._say(conversation, key, **values)

    def _say(self, conversation: Conversation, key: str, **values: object) -> Reply:
        locale = self.locale(conversation)
        return Reply(locale.text(key, **values), rtl=locale.rtl)

    def options(self, step: Step, locale: Locale) -> list[tuple[str, str]]:
        if step.kind == "language":
            return [(code, self.locales[code].name) for code in self.language_order]
        if step.kind == "yes_no":
            return [("yes", locale.text("common.yes")), ("no", locale.text("common.no"))]
        return [(key, locale.text(f"{step.id}.option.{key}")) for key in step.options]

    def prompt(self, conversation: Conversation, key: str | None = None, **values: object) -> Reply:
        """The current step's question (or `key`), with its choices."""
        step = self.spec.step(conversation.state)
        locale = self.locale(conversation)
        if step.kind == "review" and key is None:
            values = {"summary": self.summary(conversation), **values}
        if step.kind == "notice" and key is None:
            values = {**self._helplines(conversation), **values}
        text = locale.text(key or step.prompt, **values)
        choices: tuple[Choice, ...] = ()
        if step.kind in ("choice", "yes_no", "language"):
            choices = tuple(Choice(k, label) for k, label in self.options(step, locale))
        return Reply(text, choices=choices, rtl=locale.rtl)

    def _helplines(self, conversation: Conversation) -> dict[str, str]:
        numbers = helpline_for(conversation.country or self.default_country)
        helpline = ""
        if numbers.helpline:
            helpline = self.locale(conversation).text("danger_help.helpline", number=numbers.helpline,
                                                      name=numbers.helpline_name)
        return {"emergency": numbers.emergency, "helpline": helpline}

    def display(self, conversation: Conversation, step: Step) -> str:
        """One stored answer as the reporter would recognise it."""
        locale = self.locale(conversation)
        value = conversation.answers.get(step.store or "")
        if value is None or value == [] or value == "":
            return locale.text("review.none")
        if step.kind == "choice":
            return locale.text(f"{step.id}.option.{value}")
        if step.kind == "yes_no":
            return locale.text("common.yes" if value else "common.no")
        if isinstance(value, dict):
            return str(value.get("address") or value.get("label") or locale.text("review.location_shared"))
        text = " ".join(value) if isinstance(value, list) else str(value)
        return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"

    def summary(self, conversation: Conversation) -> str:
        locale = self.locale(conversation)
        lines = [f"{i}. {locale.text(f'review.field.{step.store}')}: {self.display(conversation, step)}"
                 for i, step in enumerate(self.spec.fields(), 1)]
        lines.append(f"{locale.text('review.field.media')}: {len(conversation.media)}")
        return "\n".join(lines)

    def closing(self, conversation: Conversation, **values: object) -> Reply:
        """The final step's message (e.g. the receipt code once the engine has made one)."""
        return self._say(conversation, self.spec.step(conversation.state).prompt, **values)

    # -- moving -------------------------------------------------------------------------------

    def _go(self, conversation: Conversation, trigger: str) -> None:
        """Fire `trigger` for this conversation on the shared machine. The event works on any model
        that carries a `state`, so no per-message add_model/remove_model (which costs ~0.1 ms)."""
        self.machine.events[trigger].trigger(conversation)

    def _forward(self, conversation: Conversation, step: Step, answer: str | None = None) -> Outcome:
        """Leave `step` (answered), by its branch for `answer` or its `next`, and show what comes."""
        trigger = f"answer_{answer}" if answer in step.branch else "advance"
        resume = conversation.resume
        if not resume:
            conversation.history = [*conversation.history, step.id][-HISTORY_LIMIT:]
        if resume and resume != step.id:
            conversation.resume = None
            self._go(conversation, trigger)
            notices = self._notices(conversation)
            conversation.state = resume
            return Outcome(replies=[*notices, self.prompt(conversation)])
        self._go(conversation, trigger)
        return self._arrive(conversation)

    def _notices(self, conversation: Conversation) -> list[Reply]:
        replies = []
        while self.spec.step(conversation.state).kind == "notice":
            replies.append(self.prompt(conversation))
            self._go(conversation, "advance")
        return replies

    def _arrive(self, conversation: Conversation) -> Outcome:
        replies = self._notices(conversation)
        step = self.spec.step(conversation.state)
        if step.kind == "final":
            if step.end == "submit":
                return Outcome(replies=replies, end="submit")
            return Outcome(replies=[*replies, self.closing(conversation)], end=step.end)
        return Outcome(replies=[*replies, self.prompt(conversation)])

    def enter_addendum(self, conversation: Conversation, report_id: str) -> list[Reply]:
        """A valid receipt code was sent: collect an addition to that report."""
        assert self.spec.addendum is not None
        conversation.state = self.spec.addendum
        conversation.addendum_to = report_id
        conversation.answers.clear()
        conversation.history.clear()
        return [self.prompt(conversation)]

    # -- one message ----------------------------------------------------------------------------

    def global_word(self, conversation: Conversation, text: str) -> str | None:
        """The global word `text` is, if any: in the reporter's language or in English; LANGUAGE in any.

        Forgives case, accents and a small typo in words of four letters or more."""
        folded = normalise(text)
        if not folded or len(folded) > MAX_WORD_CHARS:
            return None
        table = self._global_words.get(conversation.language) or self._global_words["en"]
        form = folded if folded in table else typo_of(folded, table)
        return table[form] if form else None

    def step(self, conversation: Conversation, said: Said) -> Outcome:
        """Apply one message to the conversation and say what to answer and do."""
        step = self.spec.step(conversation.state)
        text = (said.text or "").strip()
        if step.kind == "final":
            return Outcome(replies=[self.closing(conversation)], end=step.end)
        word = self.global_word(conversation, text) if text and said.choice is None else None
        if word:
            return self._global(conversation, step, word)
        kept: list[Reply] = []
        if said.media_count and step.kind != "media":
            kept = [self._say(conversation, "media.kept", count=len(conversation.media))]
            if not text and said.location is None and said.choice is None:
                return Outcome(replies=kept)
        outcome = self._answer(conversation, step, said, text)
        outcome.replies[:0] = kept
        return outcome

    def _global(self, conversation: Conversation, step: Step, word: str) -> Outcome:
        if word in ("delete", "cancel"):
            key = "deleted" if word == "delete" else "cancelled"
            return Outcome(replies=[self._say(conversation, key)], end="discard")
        if word == "help":
            return Outcome(replies=[self._say(conversation, "help.message"), self.prompt(conversation)])
        if word == "restart":
            dropped, after = conversation.media, self._after_restart()
            if step.id not in after:
                after = set(self.spec.steps)
            conversation.answers = {s.store: conversation.answers[s.store] for s in self.spec.steps.values()
                                    if s.store in conversation.answers and s.id not in after}
            conversation.media, conversation.resume, conversation.addendum_to = [], None, None
            conversation.history = [h for h in conversation.history if h not in after]
            self._go(conversation, "restart")
            return Outcome(replies=[self._say(conversation, "restarted"), self.prompt(conversation)],
                           dropped=dropped)
        if word == "language" and self.language_step:
            if step.id != self.language_step:
                conversation.resume = conversation.resume or step.id
                self._go(conversation, "change_language")
            return Outcome(replies=[self.prompt(conversation)])
        # back
        history = [h for h in conversation.history if self.spec.step(h).kind != "notice"]
        if step.id == self.spec.addendum or not history:
            return Outcome(replies=[self._say(conversation, "back.none"), self.prompt(conversation)])
        conversation.state = history[-1]
        conversation.history = conversation.history[: conversation.history.index(history[-1])]
        conversation.resume = None
        return Outcome(replies=[self.prompt(conversation)])

    def _after_restart(self) -> set[str]:
        return reachable([self.spec.restart], self.spec.forward())

    def _answer(self, conversation: Conversation, step: Step, said: Said, text: str) -> Outcome:
        locale = self.locale(conversation)
        if step.kind in ("choice", "yes_no", "language"):
            options = self.options(step, locale)
            keys = [k for k, _ in options]
            key = said.choice if said.choice in keys else match_option(text, options)
            if key is None and step.kind == "yes_no":
                key = "yes" if locale.is_word(text, "yes") else "no" if locale.is_word(text, "no") else None
            if key is None and step.kind == "language":
                folded = normalise(text)
                key = next((c for c, other in self.locales.items()
                            if folded in {normalise(a) for a in other.words.get("this_language", ())}), None)
            if key is None:
                return Outcome(replies=[self.prompt(conversation, "reprompt.choice")])
            if step.kind == "language":
                conversation.language = key
                return self._forward(conversation, step)
            value: Any = key == "yes" if step.kind == "yes_no" else key
            self._store(conversation, step, value)
            return self._forward(conversation, step, key)
        if step.kind == "review":
            if text.isdigit() and 1 <= int(text) <= len(self.spec.fields()):
                target = self.spec.fields()[int(text) - 1]
                conversation.resume = step.id
                if target.kind == "messages" and target.store:
                    conversation.answers.pop(target.store, None)
                self._go(conversation, f"edit_{target.id}")
                return Outcome(replies=[self.prompt(conversation)])
            if locale.is_word(text, "yes"):
                return self._forward(conversation, step)
            return Outcome(replies=[self._say(conversation, "reprompt.review")])
        skip = step.optional and bool(text) and locale.is_word(text, "skip")
        if skip:
            if step.store:
                conversation.answers.pop(step.store, None)
            return self._forward(conversation, step)
        if step.kind == "media":
            if said.media_count and not text:
                return Outcome(replies=[self._say(conversation, "media.received", count=len(conversation.media))])
            if locale.is_word(text, "done") or locale.is_word(text, "skip") or locale.is_word(text, "no"):
                return self._forward(conversation, step)
            return Outcome(replies=[self._say(conversation, "reprompt.media")])
        if step.kind == "messages":
            stored: list[str] = list(conversation.answers.get(step.store or "", []))
            if locale.is_word(text, "done"):
                if stored or step.optional or conversation.media:
                    return self._forward(conversation, step)
                return Outcome(replies=[self._say(conversation, "reprompt.messages")])
            if not text:
                return Outcome(replies=[self._say(conversation, "reprompt.messages")])
            if sum(map(len, stored)) + len(text) > step.max_chars:
                return Outcome(replies=[self._say(conversation, "reprompt.too_long", max=step.max_chars)])
            self._store(conversation, step, [*stored, text])
            return Outcome(replies=[self._say(conversation, "messages.more")])
        if step.kind == "location" and said.location is not None:
            loc = said.location
            place: dict[str, Any] = {"latitude": loc.latitude, "longitude": loc.longitude}
            place.update({k: v for k, v in (("address", loc.address), ("label", loc.label)) if v})
            self._store(conversation, step, place)
            return self._forward(conversation, step)
        if not text:
            key = "reprompt.location" if step.kind == "location" else "reprompt.text"
            return Outcome(replies=[self._say(conversation, key)])
        if len(text) > step.max_chars:
            return Outcome(replies=[self._say(conversation, "reprompt.too_long", max=step.max_chars)])
        self._store(conversation, step, text)
        return self._forward(conversation, step)

    def _store(self, conversation: Conversation, step: Step, value: Any) -> None:
        if step.store:
            conversation.answers[step.store] = value

"""Kinds where the reporter picks: the language, one of several options, yes or no."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flows.conversation import Conversation, Outcome, Said
from flows.kinds.base import StepKind, kind
from flows.locale import match_option, normalise
from flows.said import Choice, Reply

if TYPE_CHECKING:
    from flows.locale import Locale
    from flows.machine import ReportFlow
    from flows.spec import Step

CLEAR_LEAD = 2.0
"""A category read from words is taken only when it scores this many times the next one."""


def picked(flow: ReportFlow, conversation: Conversation, step: Step, said: Said, text: str,
           options: list[tuple[str, str]]) -> str | None:
    """The option a button, a number, a label or a close misspelling of one names."""
    keys = [k for k, _ in options]
    if said.choice in keys:
        return said.choice
    return match_option(text, options)


@kind
class LanguageStep(StepKind):
    name = "language"
    chooses = True

    def options(self, flow: ReportFlow, step: Step, locale: Locale) -> list[tuple[str, str]]:
        return [(code, flow.locales[code].name) for code in flow.language_order]

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        key = picked(flow, conversation, step, said, text, self.options(flow, step, flow.locale(conversation)))
        if key is None:
            folded = normalise(text)
            key = next((code for code, other in flow.locales.items()
                        if folded in {normalise(a) for a in other.words.get("this_language", ())}), None)
        if key is None:
            return Outcome(replies=[flow.prompt(conversation, "reprompt.choice")])
        conversation.language = key
        return flow.forward(conversation, step)


@kind
class ChoiceStep(StepKind):
    """One of several options; also understood from words, by the examples `<step>.<option>`.
    When two options are close, the reporter is asked which of the two (never a silent guess)."""

    name = "choice"
    chooses = True
    stores = True

    def keys(self, step: Step) -> tuple[str, ...]:
        """The option keys (from the flow file's `options`)."""
        return step.options

    def answers(self, step: Step) -> tuple[str, ...]:
        return self.keys(step)

    def check(self, step_id: str, data: dict[str, Any], bad: Callable[[str, str], Exception]) -> None:
        options = data.get("options") or []
        if not isinstance(options, list) or len(options) < 2 or not all(
                isinstance(o, str) and o.isidentifier() for o in options):
            raise bad("options", f"step {step_id!r}: a choice needs at least two `options` (plain names)")

    def messages(self, step: Step) -> list[str]:
        return [step.prompt, *(f"{step.id}.option.{option}" for option in self.keys(step))]

    def options(self, flow: ReportFlow, step: Step, locale: Locale) -> list[tuple[str, str]]:
        return [(key, locale.text(f"{step.id}.option.{key}")) for key in self.keys(step)]

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        key, asked = self.choose(flow, conversation, step, said, text)
        if asked is not None:
            return Outcome(replies=[asked])
        if key is None:
            return Outcome(replies=[flow.prompt(conversation, "reprompt.choice")])
        flow.store(conversation, step, key)
        return flow.forward(conversation, step, key)

    def choose(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
               text: str) -> tuple[str | None, Reply | None]:
        """The option picked or clearly meant; or the question "which of these two?"."""
        locale = flow.locale(conversation)
        options = self.options(flow, step, locale)
        narrowed = [option for option in options if option[0] in conversation.narrowed]
        conversation.narrowed = []
        key = None
        if narrowed and said.choice is None:
            key = match_option(text, narrowed)
        if key is None:
            key = picked(flow, conversation, step, said, text, options)
        if key is None:
            close = self.read(flow, conversation, step, text)
            if len(close) == 2:
                conversation.narrowed = close
                labels = dict(options)
                return None, Reply(locale.text("reprompt.which", first=labels[close[0]], second=labels[close[1]]),
                                   choices=tuple(Choice(k, labels[k]) for k in close), rtl=locale.rtl)
            key = close[0] if close else None
        return key, None

    def read(self, flow: ReportFlow, conversation: Conversation, step: Step, text: str) -> list[str]:
        """The option the words clearly mean ([key]), the two it may mean, or none."""
        understanding = flow.understanding(conversation)
        meanings = {f"{step.id}.{option}": option for option in self.keys(step)}
        reading = understanding.read(text)
        ranked = understanding.rank(reading, meanings)
        if not ranked or ranked[0][1] < 1.0:
            return []
        # "a mi prima la tienen de sirvienta sin sueldo": the runner-up's own word (a whole example,
        # "sirvienta") is not overruled by the leader's ("sin sueldo"): the reporter is asked
        named = len(ranked) > 1 and ranked[1][1] >= 1.0 and any(
            match.end - match.start == 1 for match in understanding.find(reading, (ranked[1][0],)))
        if len(ranked) > 1 and (ranked[1][1] * CLEAR_LEAD > ranked[0][1] or named):
            return [meanings[ranked[0][0]], meanings[ranked[1][0]]]
        return [meanings[ranked[0][0]]]

    def display(self, flow: ReportFlow, conversation: Conversation, step: Step, value: Any) -> str:
        return flow.locale(conversation).text(f"{step.id}.option.{value}")


@kind
class YesNoStep(StepKind):
    """Yes or no, from a button, a number, a word, or a natural reply ("no, ahora mismo no")."""

    name = "yes_no"
    chooses = True
    stores = True

    def answers(self, step: Step) -> tuple[str, ...]:
        return ("yes", "no")

    def options(self, flow: ReportFlow, step: Step, locale: Locale) -> list[tuple[str, str]]:
        return [("yes", locale.text("common.yes")), ("no", locale.text("common.no"))]

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        key = picked(flow, conversation, step, said, text, self.options(flow, step, flow.locale(conversation)))
        if key is None:
            key = flow.yes_no(conversation, text)
        if key is None:
            return Outcome(replies=[flow.prompt(conversation, "reprompt.choice")])
        flow.store(conversation, step, key == "yes")
        return flow.forward(conversation, step, key)

    def display(self, flow: ReportFlow, conversation: Conversation, step: Step, value: Any) -> str:
        return flow.locale(conversation).text("common.yes" if value else "common.no")


@kind
class OfferAdditionStep(ChoiceStep):
    """Just after filing, a new message from the same reporter: add it to the report just sent, or
    start a new report? (The message waits, as the addition's first part, until they choose.)"""

    name = "offer_addition"
    stores = False
    OPTIONS = ("add", "new")

    def keys(self, step: Step) -> tuple[str, ...]:
        return self.OPTIONS

    def check(self, step_id: str, data: dict[str, Any], bad: Callable[[str, str], Exception]) -> None:
        StepKind.check(self, step_id, data, bad)

    def messages(self, step: Step) -> list[str]:
        return [*super().messages(step), f"{step.id}.added"]

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        key, asked = self.choose(flow, conversation, step, said, text)
        if asked is not None:
            return Outcome(replies=[asked])
        if key == "add" and flow.spec.addendum:
            conversation.state = flow.spec.addendum
            return Outcome(replies=[flow.message(conversation, f"{step.id}.added")])
        if key == "new":
            conversation.answers.clear()
            conversation.addendum_to = None
            return flow.forward(conversation, step)
        return Outcome(replies=[flow.prompt(conversation, "reprompt.choice")])

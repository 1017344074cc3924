"""The step-kind interface: what every kind of step owns, and the registry of kinds by name.

A kind owns its prompt (and the values filled into it), its options, how it understands a
message, how its stored answer reads in the review, and what the flow file may say about it.
Adding a kind is one class here (decorated with `@kind`) plus its locale keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from flows.conversation import Conversation, Outcome, Said
from flows.said import Choice, Reply

if TYPE_CHECKING:
    from flows.locale import Locale
    from flows.machine import ReportFlow
    from flows.spec import Step

KINDS: dict[str, StepKind] = {}


class StepKind:
    """Base of every step kind; the defaults suit a step that shows a question and takes text."""

    name: ClassVar[str] = ""
    stores: ClassVar[bool] = False
    """The step may name a `store` (an answer the report keeps)."""
    chooses: ClassVar[bool] = False
    """The reporter picks from options (buttons on Telegram, numbers on SMS/WhatsApp)."""
    final: ClassVar[bool] = False
    """The step ends the conversation (`end:` instead of `next:`)."""
    aside_free: ClassVar[bool] = False
    """Messages here are never taken as questions or pauses (nothing is asked here)."""
    takes_pin: ClassVar[bool] = False
    """A shared location answers this step (elsewhere a pin is kept as a place of the report)."""

    def passes(self, flow: ReportFlow, conversation: Conversation) -> bool:
        """True when this conversation has nothing to be asked here: the step is passed by."""
        return False

    def answers(self, step: Step) -> tuple[str, ...]:
        """Answer keys `branch:` may name."""
        return ()

    def check(self, step_id: str, data: dict[str, Any], bad: Callable[[str, str], Exception]) -> None:
        """Kind-specific checks of a step's fields in the flow file; raise `bad(field, message)`."""
        if data.get("options"):
            raise bad("options", f"step {step_id!r}: only a choice has `options`")

    def messages(self, step: Step) -> list[str]:
        """Locale message keys the step needs."""
        return [step.prompt]

    def options(self, flow: ReportFlow, step: Step, locale: Locale) -> list[tuple[str, str]]:
        return []

    def prompt_values(self, flow: ReportFlow, conversation: Conversation) -> dict[str, object]:
        return {}

    def prompt(self, flow: ReportFlow, conversation: Conversation, step: Step, key: str | None = None,
               **values: object) -> Reply:
        """The step's question (or message `key`), with its options as choices."""
        locale = flow.locale(conversation)
        if key is None:
            values = {**self.prompt_values(flow, conversation), **values}
        choices = tuple(Choice(k, label) for k, label in self.options(flow, step, locale)) if self.chooses else ()
        return Reply(locale.text(key or step.prompt, **values), choices=choices, rtl=locale.rtl)

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        raise NotImplementedError

    def display(self, flow: ReportFlow, conversation: Conversation, step: Step, value: Any) -> str:
        """A stored (non-empty) answer as the reporter would recognise it in the review."""
        text = " ".join(value) if isinstance(value, list) else str(value)
        return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


SUMMARY_CHARS = 80


def kind(cls: type[StepKind]) -> type[StepKind]:
    """Register a step kind under its `name`."""
    KINDS[cls.name] = cls()
    return cls

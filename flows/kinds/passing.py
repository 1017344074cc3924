"""Kinds that ask nothing to be typed: a notice, the review, the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flows.conversation import Conversation, Outcome, Said
from flows.kinds.base import StepKind, kind

if TYPE_CHECKING:
    from flows.machine import ReportFlow
    from flows.spec import Step

ENDS = ("submit", "discard", "addendum")


@kind
class NoticeStep(StepKind):
    """Says something (e.g. the helplines after "someone is in danger") and moves on at once."""

    name = "notice"
    aside_free = True

    def prompt_values(self, flow: ReportFlow, conversation: Conversation) -> dict[str, object]:
        return dict(flow.helplines(conversation))

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        return flow.forward(conversation, step)


@kind
class ReviewStep(StepKind):
    """The report so far, numbered: YES sends it, a number edits that answer."""

    name = "review"

    def prompt_values(self, flow: ReportFlow, conversation: Conversation) -> dict[str, object]:
        return {"summary": flow.summary(conversation)}

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        fields = flow.spec.fields()
        number = text.strip().rstrip(".")
        if number.isdigit() and 1 <= int(number) <= len(fields):
            return flow.edit(conversation, step, fields[int(number) - 1])
        if flow.yes_no(conversation, text) == "yes":
            return flow.forward(conversation, step)
        return Outcome(replies=[flow.message(conversation, "reprompt.review")])


@kind
class FinalStep(StepKind):
    """The end: `end:` says whether the report is filed (submit), an addition filed, or the draft
    discarded."""

    name = "final"
    final = True
    aside_free = True

    def check(self, step_id: str, data: dict[str, Any], bad: Callable[[str, str], Exception]) -> None:
        super().check(step_id, data, bad)
        if data.get("next") is not None:
            raise bad("next", f"step {step_id!r}: a final step has no `next`")
        if data.get("end") not in ENDS:
            raise bad("end", f"step {step_id!r}: a final step needs `end`: one of {', '.join(ENDS)}")

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        return Outcome(replies=[flow.closing(conversation)], end=step.end)

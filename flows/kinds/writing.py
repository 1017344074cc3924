"""Kinds where the reporter writes or sends: one text, several messages, a place, files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows.conversation import Conversation, Outcome, Said
from flows.kinds.base import StepKind, kind

if TYPE_CHECKING:
    from flows.machine import ReportFlow
    from flows.spec import Step

MEDIA_NO = 8
"""At the files step, a "no" of at most this many words goes on ("i dont have any photos sorry")."""
MEDIA_ENDS = 12
"""At the files step, a message of at most this many words ending with DONE goes on ("ok thats the 2
pics of the van, done"): nothing typed there is kept, so saying what was sent is no answer to lose."""


def too_long(flow: ReportFlow, conversation: Conversation, size: int, step: Step) -> Outcome | None:
    if size > step.max_chars:
        return Outcome(replies=[flow.message(conversation, "reprompt.too_long", max=step.max_chars)])
    return None


@kind
class TextStep(StepKind):
    """One answer in words; an optional one is skipped by SKIP, "none", "no", "i didn't see anyone"."""

    name = "text"
    stores = True
    empty = "reprompt.text"
    """The message that asks again for an answer in words."""

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        if step.optional and flow.skips(conversation, text):
            if step.store:
                conversation.answers.pop(step.store, None)
            return flow.forward(conversation, step)
        if not text:
            return Outcome(replies=[flow.message(conversation, self.empty)])
        refused = too_long(flow, conversation, len(text), step)
        if refused:
            return refused
        flow.store(conversation, step, text)
        return flow.forward(conversation, step)


@kind
class MessagesStep(StepKind):
    """Several messages, kept in order, until DONE ("that's all", "é só isso", "asta e tot")."""

    name = "messages"
    stores = True

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        stored: list[str] = list(conversation.answers.get(step.store or "", []))
        if text and flow.finished(conversation, text, bool(stored)):
            if stored or step.optional or conversation.media:
                return flow.forward(conversation, step)
            return Outcome(replies=[flow.message(conversation, "reprompt.messages")])
        if not text:
            return Outcome(replies=[flow.message(conversation, "reprompt.messages")])
        refused = too_long(flow, conversation, sum(map(len, stored)) + len(text), step)
        if refused:
            return refused
        flow.store(conversation, step, [*stored, text])
        return Outcome(replies=[flow.message(conversation, "messages.more")])


@kind
class LocationStep(TextStep):
    """A place in words or a shared pin (a pin may also arrive at any other step)."""

    name = "location"
    takes_pin = True
    empty = "reprompt.location"

    def passes(self, flow: ReportFlow, conversation: Conversation) -> bool:
        """A pin shared at an earlier step is the place already: "where?" is not asked again (the
        review shows it, and editing it there still asks)."""
        return isinstance(conversation.answers.get(flow.location_store or ""), dict)

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        if said.location is not None:
            flow.store(conversation, step, flow.place(said))
            return flow.forward(conversation, step)
        return super().understand(flow, conversation, step, said, text)

    def display(self, flow: ReportFlow, conversation: Conversation, step: Step, value: Any) -> str:
        if isinstance(value, dict):
            return str(value.get("address") or value.get("label")
                       or flow.locale(conversation).text("review.location_shared"))
        return super().display(flow, conversation, step, value)


@kind
class MediaStep(StepKind):
    """Files, then DONE; "no photos", "i have none", "not now" go on too."""

    name = "media"

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        if said.media_count and not text:
            return Outcome(replies=[flow.message(conversation, "media.received", count=len(conversation.media))])
        if flow.finished(conversation, text, True) or flow.skips(conversation, text) or flow.declines(
                conversation, text, MEDIA_NO) or flow.ends_sending(conversation, text, MEDIA_ENDS):
            return flow.forward(conversation, step)
        return Outcome(replies=[flow.message(conversation, "reprompt.media")])

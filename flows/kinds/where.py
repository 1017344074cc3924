"""The reporter's own country, asked only when someone is in danger and it is not known."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.conversation import Conversation, Outcome, Said
from flows.country import country_at, country_name, country_named
from flows.kinds.base import StepKind, kind

if TYPE_CHECKING:
    from flows.machine import ReportFlow
    from flows.spec import Step


@kind
class CountryStep(StepKind):
    """Which country the reporter is in: a name in any of the flow's languages, or a shared pin,
    resolved on this machine (`flows.country`). Answers with that country's emergency and
    helpline numbers. Passed by when the country is already known (the phone number's); a pin
    given here is used only to find the country and is not kept. SKIP, "no", "I don't know" go on."""

    name = "country"
    takes_pin = True

    def passes(self, flow: ReportFlow, conversation: Conversation) -> bool:
        return conversation.country is not None

    def messages(self, step: Step) -> list[str]:
        return [step.prompt, "country.numbers", "reprompt.country"]

    def understand(self, flow: ReportFlow, conversation: Conversation, step: Step, said: Said,
                   text: str) -> Outcome:
        if said.location is not None:
            found = country_at(said.location.latitude, said.location.longitude)
        else:
            found = country_named(text, flow.locales) if text else None
        if found is None:
            if text and flow.skips(conversation, text):
                return flow.forward(conversation, step)
            return Outcome(replies=[flow.message(conversation, "reprompt.country")])
        conversation.country = found
        numbers = flow.message(conversation, "country.numbers",
                               country=country_name(found, conversation.language), **flow.helplines(conversation))
        outcome = flow.forward(conversation, step)
        outcome.replies.insert(0, numbers)
        return outcome

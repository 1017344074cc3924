"""`ReportFlow.step` on its own: no Redis, no web app, no worker. Each step kind understands
natural replies, answers questions and pauses without storing them, and keeps pins anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.base import Location
from flows.kinds import KINDS
from flows.locale import load_locales, locale_problems
from flows.machine import Conversation, ReportFlow, Said

FLOW = ReportFlow()


def at(state: str, language: str = "en", **answers: Any) -> Conversation:
    return Conversation(state=state, language=language, answers=dict(answers))


def test_every_kind_of_the_flow_file_is_a_registered_class() -> None:
    assert {"language", "choice", "yes_no", "text", "messages", "location", "media", "notice", "review",
            "final"} <= set(KINDS)
    assert {step.kind for step in FLOW.spec.steps.values()} <= set(KINDS)


@pytest.mark.parametrize(("language", "text", "expected"), [
    ("en", "dont think so", False), ("en", "not right now", False), ("es", "no, ahora mismo no", False),
    ("es", "si, por whatsapp mejor", True), ("fr", "pas pour l'instant", False), ("pt", "acho que não", False),
    ("ar", "la2 mesh delwa2ti", False), ("ro", "nu cred", False), ("ar", "مش", False), ("en", "👍", True),
    ("en", "no problem", True), ("ar", "ايوه", True),
])
def test_natural_yes_and_no(language: str, text: str, expected: bool) -> None:
    conversation = at("follow_up", language)
    FLOW.step(conversation, Said(text=text))
    assert conversation.answers["follow_up"] is expected
    assert conversation.state == "review"


@pytest.mark.parametrize("text", ["yes no", "not sure", "i dont know", "yes. no wait, no"])
def test_unsure_or_contradictory_replies_are_asked_again_with_the_options(text: str) -> None:
    conversation = at("danger")
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.state == "danger" and "danger" not in conversation.answers
    assert [c.key for c in outcome.replies[-1].choices] == ["yes", "no"]


@pytest.mark.parametrize(("language", "state", "text"), [
    ("es", "location", "¿es anónimo?"), ("ar", "location", "انتظر"), ("en", "location", "will the police come?"),
    ("en", "when", "wait"), ("fr", "people", "qui va lire ça ?"), ("en", "description", "is this anonymous?"),
    ("pt", "consent", "é anônimo?"), ("en", "location", "what is this?"),
])
def test_questions_and_pauses_are_answered_and_the_step_asked_again(language: str, state: str, text: str) -> None:
    conversation = at(state, language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.state == state and conversation.answers == {}
    assert outcome.replies[-1].text == FLOW.prompt(conversation).text
    assert len(outcome.replies) == 2


def test_a_long_description_with_a_question_is_kept_as_the_description() -> None:
    text = "the men at the car wash sleep in the back, their boss took their papers, is that even legal?"
    conversation = at("description")
    FLOW.step(conversation, Said(text=text))
    assert conversation.answers["description"] == [text]


@pytest.mark.parametrize(("language", "state", "text", "after"), [
    ("en", "media", "no photos", "danger"), ("en", "media", "i have no pictures", "danger"),
    ("pt", "description", "é só isso", "location"), ("ro", "description", "asta e tot", "location"),
    ("en", "people", "didnt see anyone", "media"),
])
def test_done_and_skip_in_words(language: str, state: str, text: str, after: str) -> None:
    conversation = at(state, language, description=["something happened"])
    FLOW.step(conversation, Said(text=text))
    assert conversation.state == after
    assert conversation.answers.get("description") == ["something happened"]


@pytest.mark.parametrize(("language", "text", "key"), [
    ("en", "they make them work for no money", "labour"), ("es", "trabajo forzado en el campo", "labour"),
    ("fr", "des filles forcées à se prostituer", "sexual"), ("ar", "اطفال يشحذوا عند الاشارة", "begging"),
])
def test_a_category_in_words(language: str, text: str, key: str) -> None:
    conversation = at("category", language)
    FLOW.step(conversation, Said(text=text))
    assert conversation.answers["category"] == key


def test_two_close_categories_are_asked_about_never_guessed() -> None:
    conversation = at("category")
    outcome = FLOW.step(conversation, Said(text="begging and stealing"))
    assert "category" not in conversation.answers
    keys = [c.key for c in outcome.replies[-1].choices]
    assert sorted(keys) == ["begging", "crime"]
    FLOW.step(conversation, Said(text="2"))
    assert conversation.answers["category"] == keys[1]


def test_a_pin_at_any_step_is_kept_and_acknowledged() -> None:
    conversation = at("description")
    pin = Location(latitude=51.5, longitude=-0.1)
    outcome = FLOW.step(conversation, Said(location=pin))
    assert conversation.answers["location"] == {"latitude": 51.5, "longitude": -0.1}
    assert outcome.replies[0].text == FLOW.message(conversation, "location.kept").text
    assert conversation.state == "description"
    FLOW.step(conversation, Said(location=Location(latitude=1.0, longitude=2.0)))
    assert conversation.answers["places"] == [{"latitude": 1.0, "longitude": 2.0}]


def test_a_pin_shared_before_where_is_the_place_and_where_is_not_asked() -> None:
    conversation = at("description")
    FLOW.step(conversation, Said(text="they keep the workers in a container behind the garage"))
    FLOW.step(conversation, Said(location=Location(latitude=51.5, longitude=-0.1)))
    outcome = FLOW.step(conversation, Said(text="done"))
    assert conversation.state == "when", "the pin answered 'where?' already"
    assert outcome.replies[-1].text == FLOW.prompt(conversation).text
    typed = at("description")
    FLOW.step(typed, Said(text="they keep the workers in a container behind the garage"))
    FLOW.step(typed, Said(text="done"))
    assert typed.state == "location", "without a pin, 'where?' is asked"


def test_flows_check_demands_examples_and_faq_in_every_locale(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "flows" / "locales"
    for name in ("en.yaml", "es.yaml"):
        (tmp_path / name).write_text((source / name).read_text())
    spanish = (tmp_path / "es.yaml").read_text()
    spanish = "\n".join(line for line in spanish.splitlines()
                        if not line.startswith(("    faq.next:", "  faq.danger:", "  questions:")))
    spanish = spanish.replace('"tal vez", ', '"tal vez", "vale sí", ')
    (tmp_path / "es.yaml").write_text(spanish)
    problems = locale_problems(load_locales(tmp_path))
    assert "es: meaning 'faq.next' has 0 example(s), needs 3" in problems
    assert "es: message 'faq.danger' is not translated" in problems
    assert "es: `understanding.questions` is empty" in problems
    assert "es: 'vale sí' is an example of both 'unsure' and 'yes'" in problems


def test_a_caption_is_kept_with_its_file_and_shown_in_the_review() -> None:
    conversation = at("media")
    conversation.media.append({"id": "a" * 32, "ref": {}})
    outcome = FLOW.step(conversation, Said(text="the van they use", media_count=1))
    assert conversation.media[0]["caption"] == "the van they use"
    assert conversation.state == "media" and "File and its caption kept" in outcome.replies[0].text
    assert "Files: 1 (the van they use)" in FLOW.summary(conversation)


def test_a_caption_that_picks_an_option_also_answers_it() -> None:
    conversation = at("category")
    conversation.media.append({"id": "b" * 32, "ref": {}})
    FLOW.step(conversation, Said(text="2", media_count=1))
    assert conversation.answers["category"] == "sexual" and conversation.media[0]["caption"] == "2"

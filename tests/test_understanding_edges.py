"""Failure classes the held-out corpus (tests/replies_heldout/) found, each checked on its own:
`ReportFlow.step` and the matcher, no Redis, no web app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.locale import LocaleError, load_locales
from flows.machine import Conversation, ReportFlow, Said
from flows.understand import Understanding, bag_key

FLOW = ReportFlow()


def at(state: str, language: str = "en", **answers: Any) -> Conversation:
    return Conversation(state=state, language=language, answers=dict(answers))


def answer(state: str, language: str, text: str) -> Conversation:
    conversation = at(state, language)
    FLOW.step(conversation, Said(text=text))
    return conversation


def test_yaml_no_and_on_in_a_locale_file_are_words_not_booleans(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(
        "language: en\nmessages: {a: b}\nunderstanding:\n  negations: [no, nu, off]\n  common: [on, yes]\n",
        encoding="utf-8")
    locale = load_locales(tmp_path)["en"]
    assert locale.negations == ("no", "nu", "off") and locale.common == ("on", "yes")
    (tmp_path / "en.yaml").write_text("language: en\nmessages: {a: b}\nunderstanding: {negations: [true]}\n",
                                      encoding="utf-8")
    with pytest.raises(LocaleError, match="negations"):
        load_locales(tmp_path)


def test_the_shipped_locales_keep_no_as_a_negation() -> None:
    assert "no" in FLOW.locales["es"].negations and "no" in FLOW.locales["en"].negations


@pytest.mark.parametrize(("language", "text"), [
    ("en", "not ok"), ("ro", "nu e ok"), ("en", "ok no thanks"), ("es", "ya no"), ("es", "no, ya se fueron"),
    ("en", "yes... actually no"), ("en", "no, yes I mean no"), ("ro", "da, adica nu"),
    ("pt", "sim quer dizer não"), ("fr", "oui enfin non"), ("es", "claro que no"), ("fr", "bien sûr que non"),
])
def test_a_no_that_contains_yes_words_is_no(language: str, text: str) -> None:
    assert answer("follow_up", language, text).answers["follow_up"] is False


@pytest.mark.parametrize(("language", "text"), [
    ("en", "i dont mind"), ("es", "no me molesta"), ("fr", "ça me dérange pas"), ("pt", "não me importo"),
    ("ro", "nu ma deranjeaza"), ("en", "no problem"), ("en", "ok"),
])
def test_a_yes_said_with_a_negation_is_yes(language: str, text: str) -> None:
    assert answer("follow_up", language, text).answers["follow_up"] is True


@pytest.mark.parametrize("text", ["no... actually yes", "no, yes", "yes. no wait, no"])
def test_a_correction_never_turns_no_into_yes(text: str) -> None:
    conversation = answer("danger", "en", text)
    assert conversation.state == "danger" and "danger" not in conversation.answers


def test_arabic_dialect_verb_prefixes_share_one_stem() -> None:
    assert bag_key("حيقرا") == bag_key("هيقرا") == bag_key("بيقرا") == bag_key("يقرا")
    assert bag_key("بيت") == "بيت"


def test_a_typo_is_never_corrected_into_a_filler() -> None:
    assert FLOW.understanding(at("consent", "ar")).canonical("الكلام") != "السلام"


@pytest.mark.parametrize(("language", "state", "text", "topic"), [
    ("ar", "location", "مين حيقرا الكلام ده؟", "faq.who_reads"),
    ("en", "consent", "wait who will see this", "faq.who_reads"),
    ("fr", "description", "attends c'est anonyme ?", "faq.anonymous"),
])
def test_a_question_is_answered_from_the_faq(language: str, state: str, text: str, topic: str) -> None:
    conversation = at(state, language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.state == state and conversation.answers == {}
    assert outcome.replies[0].text == FLOW.message(conversation, topic, **FLOW.helplines(conversation)).text


@pytest.mark.parametrize(("language", "state", "text"), [
    ("fr", "location", "il se passe quoi après ?"), ("ro", "location", "o sa afle cineva ca eu am scris?"),
    ("ar", "when", "حدا رح يعرف اني انا؟"), ("es", "people", "le van a decir a ellos que fui yo?"),
])
def test_a_question_without_a_leading_question_word_is_never_stored(language: str, state: str, text: str) -> None:
    conversation = at(state, language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.state == state and conversation.answers == {}
    assert outcome.replies[-1].text == FLOW.prompt(conversation).text


@pytest.mark.parametrize(("state", "text"), [("location", "near the church?"), ("when", "tuesday i think?")])
def test_a_short_answer_with_a_question_mark_is_still_an_answer(state: str, text: str) -> None:
    assert answer(state, "en", text).answers[state] == text


@pytest.mark.parametrize(("language", "text"), [
    ("en", "hold on someone is coming"), ("fr", "deux sec"), ("pt", "calma ai"), ("es", "espera tantito"),
])
def test_a_pause_is_acknowledged_and_nothing_stored(language: str, text: str) -> None:
    conversation = at("description", language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.answers == {} and outcome.replies[0].text == FLOW.message(conversation, "pause.ack").text


def test_a_category_with_mixed_evidence_is_asked_about_not_taken() -> None:
    conversation = at("category", "es")
    FLOW.step(conversation, Said(text="trabajan en una maquila todo el dia sin paga y no los dejan salir"))
    assert "category" not in conversation.answers and "labour" in conversation.narrowed


def test_english_words_that_mean_something_else_locally_are_not_borrowed() -> None:
    english = Understanding.build({"yes": ["yes", "ya"], "no": ["no", "no thanks"]}, negations=["no", "not"])
    polish_like = Understanding.build({"yes": ["tak"], "no": ["nie"]}, negations=["nie"], fillers=["no"])
    spanish_like = Understanding.build({"yes": ["si"], "no": ["nop"]}, negations=["no"], common=["ya"])
    polish = polish_like.with_core(english)
    assert "no" not in polish.negations and polish.yes_no(polish.read("no")) is None
    assert polish.yes_no(polish.read("not")) == "no"
    spanish = spanish_like.with_core(english)
    assert spanish.yes_no(spanish.read("ya")) is None and spanish.yes_no(spanish.read("yes")) == "yes"
    assert spanish.yes_no(spanish.read("no thanks")) == "no"

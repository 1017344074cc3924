"""Translations: complete, same placeholders, short enough for SMS, never using STOP."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.locale import LOCALES_DIR, load_locales, locale_problems, normalise
from flows.machine import Conversation, ReportFlow
from flows.sms import segments

FLOW = ReportFlow()
LANGUAGES = FLOW.language_order
MAX_SEGMENTS = 3
MAX_REVIEW_SEGMENTS = 4  # the review template before any answers; answers add to it


def test_six_languages_ship_including_a_right_to_left_one() -> None:
    assert {"en", "es", "fr", "pt", "ar", "ro"} <= set(LANGUAGES)
    assert FLOW.locales["ar"].rtl and not FLOW.locales["en"].rtl


def test_every_message_is_translated_with_the_same_placeholders() -> None:
    assert locale_problems(FLOW.locales) == []


def test_a_missing_translation_or_placeholder_is_caught(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "flows" / "locales"
    for name in ("en.yaml", "es.yaml"):
        (tmp_path / name).write_text((source / name).read_text())
    spanish = (tmp_path / "es.yaml").read_text()
    spanish = spanish.replace("Su código: {receipt}.", "Su código.")
    spanish = "\n".join(line for line in spanish.splitlines() if not line.startswith("  back.none:"))
    (tmp_path / "es.yaml").write_text(spanish)
    problems = locale_problems(load_locales(tmp_path))
    assert "es: message 'back.none' is not translated" in problems
    assert "es: message 'submitted.prompt' has placeholders [], en has ['receipt']" in problems


def test_stop_is_never_a_word_or_an_instruction() -> None:
    """STOP is the carrier opt-out word on SMS: the bot never asks for it nor reacts to it."""
    for locale in FLOW.locales.values():
        for forms in locale.words.values():
            assert "stop" not in {normalise(f) for f in forms}
        for text in locale.messages.values():
            assert "STOP" not in text.upper().replace("STOPPED", "")
    assert FLOW.global_word(Conversation(state="category"), "STOP") is None


def sms_text(language: str, step_id: str) -> str:
    conversation = Conversation(state=step_id, language=language)
    step = FLOW.spec.step(step_id)
    reply = FLOW.closing(conversation, receipt="ABCD-EFGH-JKLM") if step.kind == "final" else FLOW.prompt(conversation)
    return reply.text + "".join(f"\n{i}. {choice.label}" for i, choice in enumerate(reply.choices, 1))


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_prompt_fits_in_few_sms_segments(language: str) -> None:
    for step in FLOW.spec.steps.values():
        cap = MAX_REVIEW_SEGMENTS if step.kind == "review" else MAX_SEGMENTS
        assert segments(sms_text(language, step.id)) <= cap, (language, step.id)
    for key, text in FLOW.locales[language].messages.items():
        if not key.startswith(("category.option", "review.field")):
            assert segments(text) <= MAX_SEGMENTS, (language, key)


def test_segment_counting_follows_gsm_and_ucs2_rules() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension characters count twice
    assert segments("é" * 160) == 1  # é is in the GSM alphabet
    assert segments("á" * 70) == 1 and segments("á" * 71) == 2 and segments("á" * 134) == 2  # UCS-2


@pytest.mark.parametrize(("language_hint", "country_hint", "expected"), [
    ("es", None, "es"), ("pt-BR", None, "pt"), ("ar", None, "ar"), (None, "RO", "ro"), (None, "MD", "ro"),
    (None, "MX", "es"), (None, "FR", "fr"), (None, "MA", "ar"), (None, "GB", "en"), ("xx", "ZZ", None),
    (None, None, None), ("de", "BR", "pt"),
])
def test_language_is_preselected_from_channel_hints(language_hint: str | None, country_hint: str | None,
                                                    expected: str | None) -> None:
    assert FLOW.pick_language(language_hint, country_hint) == expected


def test_words_forgive_case_accents_and_small_typos() -> None:
    spanish = Conversation(state="category", language="es")
    assert FLOW.global_word(spanish, "ATRAS") == "back"
    assert FLOW.global_word(spanish, "borar") == "delete"
    assert FLOW.global_word(spanish, "Delete") == "delete"  # English works everywhere
    assert FLOW.global_word(spanish, "langue") == "language"  # LANGUAGE in any language
    assert FLOW.global_word(Conversation(state="category", language="ro"), "sterge") == "delete"
    assert FLOW.global_word(spanish, "un hombre borracho") is None


NEW_LANGUAGES = ("sq", "vi", "uk", "pl")


@pytest.mark.parametrize("language", NEW_LANGUAGES)
def test_new_languages_cover_the_whole_catalogue_and_await_a_native_speakers_review(language: str) -> None:
    english, locale = FLOW.locales["en"], FLOW.locales[language]
    assert set(locale.messages) == set(english.messages)
    assert {word for word, forms in locale.words.items() if forms} >= set(english.words)
    data = yaml.safe_load((LOCALES_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    assert set(data["understanding"]["examples"]) == set(
        yaml.safe_load((LOCALES_DIR / "en.yaml").read_text(encoding="utf-8"))["understanding"]["examples"])
    assert str(data["review"]).startswith("pending"), "marked for review by a native speaker before launch"

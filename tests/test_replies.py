"""The corpus of natural replies (`tests/replies/*.yaml`) run against `ReportFlow.step`: prints the
rate per language and kind; at least 95 % per language, and none of the worst kind (a question or
pause stored as an answer, a "no" or unsure reply read as "yes", a category taken wrongly)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from bot.app import make_app
from config.settings import Settings
from flows.machine import Conversation, Outcome, ReportFlow, Said
from tests.chat import Phone
from tests.scenario import LOCALES, Script, joined, shows, walk_to

FLOW = ReportFlow()
CORPUS = Path(__file__).parent / "replies"
BAR = 0.95
SENT_BEFORE = ["a man keeps workers in a shed"]


@dataclass(frozen=True)
class Case:
    language: str
    step: str
    text: str
    expected: str

    @property
    def kind(self) -> str:
        return self.expected.split(":")[0]


def corpus() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for step, text, expected in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(Case(path.stem, str(step), str(text), str(expected)))
    return cases


def handled(case: Case) -> str:
    """What the flow did with the reply, in the corpus's terms."""
    conversation = Conversation(state=case.step, language=case.language,
                                answers={"description": list(SENT_BEFORE)})
    outcome = FLOW.step(conversation, Said(text=case.text))
    return describe(case.step, conversation, outcome)


def describe(step_id: str, conversation: Conversation, outcome: Outcome) -> str:
    step = FLOW.spec.step(step_id)
    texts = [reply.text for reply in outcome.replies]
    for topic in FLOW.faq_topics:
        if FLOW.message(conversation, topic, **FLOW.helplines(conversation)).text in texts:
            return topic.replace("faq.", "faq:")
    if FLOW.message(conversation, "faq.unknown").text in texts:
        return "faq:unknown"
    if FLOW.message(conversation, "pause.ack").text in texts:
        return "pause"
    if conversation.narrowed:
        return "which:" + ",".join(sorted(conversation.narrowed))
    stored = conversation.answers.get(step.store or "")
    if step.kind == "yes_no" and isinstance(stored, bool):
        return "yes" if stored else "no"
    if step.kind == "choice" and stored:
        return f"category:{stored}"
    if step.kind == "messages":
        if stored != SENT_BEFORE:
            return "store"
        return "done" if conversation.state != step_id else "ask"
    if stored:
        return "store"
    if conversation.state != step_id:
        return "done" if step.kind == "media" else "skip"
    return "ask"


def worst(case: Case, got: str) -> bool:
    """A question or pause stored as an answer, a "no" or unsure read as "yes", a wrong category."""
    if case.kind in ("faq", "pause"):
        return got in ("store", "yes", "no", "skip", "done") or got.startswith("category:")
    if case.expected in ("no", "ask") and got == "yes":
        return True
    return case.kind == "category" and got.startswith("category:") and got != case.expected


CASES = corpus()


def test_the_corpus_is_large_enough_in_every_language() -> None:
    per_language: dict[str, int] = defaultdict(int)
    for case in CASES:
        per_language[case.language] += 1
    assert set(per_language) >= {"en", "es", "fr", "pt", "ar", "ro", "sq", "vi", "uk", "pl"}
    assert min(per_language.values()) >= 40


def test_natural_replies_are_understood() -> None:
    results: dict[tuple[str, str], list[bool]] = defaultdict(list)
    misses, worst_cases = [], []
    for case in CASES:
        got = handled(case)
        results[(case.language, case.kind)].append(got == case.expected)
        if got != case.expected:
            misses.append(f"  {case.language} {case.step}: {case.text!r} expected {case.expected}, got {got}")
        if worst(case, got):
            worst_cases.append(misses[-1])
    rates = print_rates(results)
    print("misses:\n" + "\n".join(misses))
    assert worst_cases == [], "\n".join(worst_cases)
    assert all(rate >= BAR for rate in rates.values()), rates


def print_rates(results: dict[tuple[str, str], list[bool]]) -> dict[str, float]:
    """Print how many replies were handled as expected per language and kind (one table, also
    used by the held-out corpus's test); return the rate per language."""
    languages = sorted({language for language, _ in results})
    kinds = sorted({kind for _, kind in results})
    print("\nlanguage " + " ".join(f"{k:>9}" for k in kinds) + "      all")
    rates = {}
    for language in languages:
        cells = []
        for kind in kinds:
            got = results.get((language, kind), [])
            cells.append(f"{sum(got)}/{len(got)}".rjust(9) if got else " " * 9)
        every = [ok for (lang, _), oks in results.items() if lang == language for ok in oks]
        rates[language] = sum(every) / len(every)
        print(f"{language:<8} " + " ".join(cells) + f"  {rates[language]:6.1%}")
    return rates


@pytest.mark.parametrize("case", [c for c in CASES if c.kind in ("faq", "pause")][:12],
                         ids=lambda c: f"{c.language}-{c.step}")
def test_a_question_is_never_stored(case: Case) -> None:
    assert handled(case) not in ("store", "yes", "no", "skip", "done")


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


def sample() -> list[Case]:
    """Per language, the first reply of each of these (step, expected) shapes."""
    wanted = {("follow_up", "yes"), ("follow_up", "no"), ("description", "done"), ("location", "pause")}
    picked: dict[tuple[str, str, str], Case] = {}
    for case in CASES:
        shape = (case.step, case.expected if case.kind != "faq" else "faq")
        if shape in wanted or (case.step == "location" and case.kind == "faq"):
            picked.setdefault((case.language, *shape), case)
    return list(picked.values())


async def test_a_sample_of_the_corpus_end_to_end_through_the_web_app(client: TestClient[Any, Any]) -> None:
    cases = sample()
    assert len(cases) >= 5 * 6
    for case in cases:
        language = case.language
        phone = Phone(client)
        script = Script(language=language, category_answer="1")
        await walk_to(phone, case.step, script)
        if case.step == "description":
            await phone.say(SENT_BEFORE[0])
        replies = await phone.say(case.text)
        prompt = f"{case.step}.prompt"
        if case.kind in ("faq", "pause"):
            key = "pause.ack" if case.kind == "pause" else case.expected.replace(":", ".")
            assert shows(replies, language, key) and shows(replies, language, prompt), (case, replies)
        elif case.step == "description":
            assert shows(replies, language, "location.prompt"), (case, replies)
        else:
            locale = LOCALES[language]
            line = f"{locale.text('review.field.follow_up')}: {locale.text(f'common.{case.expected}')}"
            assert line in joined(replies), (case, replies)

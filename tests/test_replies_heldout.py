"""A held-out corpus (`tests/replies_heldout/*.yaml`), written apart from `tests/replies/` and never
tuned against phrase by phrase, run against `ReportFlow.step` the same way: prints the rate per
language and kind; at least 95 % in each language issue 9 names (en es fr pt ar ro; the rates of the
others are printed), and none of the worst kind in any (a question or pause
stored as an answer, a "no" or unsure reply read as "yes", a category taken wrongly).

An expected value may list alternatives ("faq:safety|faq:anonymous") where a person could fairly
expect either; a category in words also counts as handled when the bot asks which of two options
it means and one of them is the expected one."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from tests.test_replies import BAR, FLOW, Case, handled, print_rates, worst

CORPUS = Path(__file__).parent / "replies_heldout"
LANGUAGES = {"en", "es", "fr", "pt", "ar", "ro"}


def corpus() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for step, text, expected in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(Case(path.stem.split(".")[0], str(step), str(text), str(expected)))
    return cases


ALL_CASES = corpus()
CASES = [case for case in ALL_CASES if case.language in FLOW.locales]
"""Replies in languages this build has a locale for (sq vi uk pl arrive with their locales)."""


def outcome_of(case: Case) -> tuple[str, bool, bool]:
    """What the flow did, whether that is what a person expects, and whether it is of the worst kind."""
    got = handled(case)
    alternatives = [Case(case.language, case.step, case.text, e) for e in case.expected.split("|")]
    ok = any(got == alternative.expected or asks_between(alternative, got) for alternative in alternatives)
    return got, ok, not ok and all(worst(alternative, got) for alternative in alternatives)


def asks_between(case: Case, got: str) -> bool:
    """A category in words answered with "which of these two?" that offers the right one: the issue
    allows this ("or the bot asks which of the two closest it means")."""
    key = case.expected.partition(":")[2]
    return case.kind == "category" and got.startswith("which:") and key in got.partition(":")[2].split(",")


def table(cases: list[Case]) -> tuple[dict[str, float], list[str]]:
    """Print the rate per language and kind and the misses; return the rates and the worst cases."""
    results: dict[tuple[str, str], list[bool]] = defaultdict(list)
    misses, worst_cases = [], []
    for case in cases:
        got, ok, bad = outcome_of(case)
        results[(case.language, case.kind)].append(ok)
        if not ok:
            misses.append(f"  {'WORST ' if bad else ''}{case.language} {case.step}: {case.text!r} "
                          f"expected {case.expected}, got {got}")
        if bad:
            worst_cases.append(misses[-1])
    rates = print_rates(results)
    print(f"worst kind: {len(worst_cases)}")
    print("misses:\n" + "\n".join(misses))
    return rates, worst_cases


def test_the_held_out_corpus_covers_every_language() -> None:
    per_language: dict[str, int] = defaultdict(int)
    for case in CASES:
        per_language[case.language] += 1
    assert set(per_language) >= LANGUAGES
    assert min(per_language.values()) >= 25


def test_held_out_replies_are_understood_and_never_of_the_worst_kind() -> None:
    rates, worst_cases = table(CASES)
    print("not measured (no locale):", sorted({c.language for c in ALL_CASES} - set(FLOW.locales)) or "none")
    assert worst_cases == [], "\n".join(worst_cases)
    assert all(rates[language] >= BAR for language in LANGUAGES), rates

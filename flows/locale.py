"""Translations and the words reporters type, loaded from `flows/locales/*.yaml`.

Matching forgives case, accents, zero-width characters and small typos, because reporters type
fast, on small phones, sometimes in a second language.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from config.errors import TiplineError
from flows.sms import reserved_in
from flows.understand import LETTERS_WITHOUT_ACCENTS, Understanding, words_of

LOCALES_DIR = Path(__file__).parent / "locales"
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


class _WordsLoader(yaml.SafeLoader):
    """YAML 1.1 reads `no`, `yes`, `on`, `off` as booleans; in a locale file they are words
    (Spanish "no", Portuguese "no", Polish "on"). Only `true` and `false` stay booleans."""


_WordsLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WordsLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile("^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))


class LocaleError(TiplineError, ValueError):
    """A locale file is missing a message, has a different placeholder, or is malformed."""


def normalise(text: str) -> str:
    """Fold text for matching: no invisible marks, accents, case or surrounding punctuation."""
    text = _INVISIBLE.sub("", text).translate(LETTERS_WITHOUT_ACCENTS)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().strip(string.punctuation + " \t\r\n").split())


@dataclass(frozen=True)
class Locale:
    language: str
    name: str
    rtl: bool
    messages: dict[str, str]
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    countries: tuple[str, ...] = ()
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Natural ways to say each meaning (yes, no, unsure, done, skip, wait, faq.<topic>, <step>.<option>)."""
    negations: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    fillers: tuple[str, ...] = ()
    common: tuple[str, ...] = ()
    corrections: tuple[str, ...] = ()
    """Words that take back what came before ("i mean", "o sea"): optional."""
    contrasts: tuple[str, ...] = ()
    """Words that bring a condition ("but", "only", "pero", "nomás"): optional."""
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Word -> the short or dialect spellings people type for it ("không": [ko, k]): optional."""
    tails: tuple[str, ...] = ()
    """Phrases that close a question typed with no "?" ("or not", "ou pas"), or an opening and a closing
    around one ("có ... không"): optional."""

    @cached_property
    def understanding(self) -> Understanding:
        """The examples indexed for reading (the `words` yes/no/done/skip count as examples too)."""
        examples = {m: tuple(e) for m, e in self.examples.items()}
        for meaning in ("yes", "no", "done", "skip"):
            examples[meaning] = (*self.words.get(meaning, ()), *examples.get(meaning, ()))
        return Understanding.build(examples, self.negations, self.questions, self.fillers, self.common,
                                   self.corrections, self.contrasts, self.spellings, self.tails)

    def text(self, key: str, **values: object) -> str:
        template = self.messages[key]
        return template.format(**values) if values else template

    @cached_property
    def folded_words(self) -> dict[str, tuple[str, ...]]:
        """Each word's forms, folded once (matching runs on every message)."""
        return {word: tuple(normalise(form) for form in forms) for word, forms in self.words.items()}

    def is_word(self, text: str, word: str) -> bool:
        """True if `text` is one of the localised forms of a word (e.g. restart), forgiving case,
        accents and a small typo in words of four letters or more."""
        folded = normalise(text)
        if not folded or len(folded) > MAX_WORD_CHARS:
            return False
        forms = self.folded_words.get(word, ())
        return folded in forms or typo_of(folded, forms) is not None


MAX_WORD_CHARS = 40
"""Longer texts are answers, never words."""


def typo_of(folded: str, forms: Iterable[str]) -> str | None:
    """The form (of four letters or more) that `folded` is a small typo of (similarity >= 0.8: twice the
    longest common subsequence over both lengths; rapidfuzz's C, as difflib's ratio but ~20x faster on
    the hot path, where every message is checked against the global words)."""
    size = len(folded)
    # a form can reach the 0.8 similarity cutoff only if the lengths allow it (2*min/sum >= 0.8)
    near = [f for f in forms if len(f) >= 4 and 2 * min(size, len(f)) >= 0.8 * (size + len(f))]
    best = process.extractOne(folded, near, scorer=fuzz.ratio, score_cutoff=80) if near else None
    return best[0] if best else None


def load_locales(directory: Path = LOCALES_DIR) -> dict[str, Locale]:
    locales: dict[str, Locale] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_WordsLoader)  # noqa: S506
        except yaml.YAMLError as exc:
            raise LocaleError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("messages"), dict):
            raise LocaleError(f"{path}: a locale file needs `language` and `messages`")
        language = str(data.get("language") or path.stem)
        words = _lists(data.get("words"), path, "words")
        understanding = data.get("understanding") or {}
        if not isinstance(understanding, dict):
            raise LocaleError(f"{path}: `understanding` is a mapping (negations, questions, fillers, examples)")
        locales[language] = Locale(
            language=language,
            name=str(data.get("name") or language),
            rtl=data.get("direction") == "rtl",
            messages={str(k): str(v) for k, v in data["messages"].items()},
            words=words,
            countries=tuple(str(c).upper() for c in data.get("countries") or ()),
            examples=_lists(understanding.get("examples"), path, "understanding.examples"),
            negations=_strings(understanding.get("negations"), path, "negations"),
            questions=_strings(understanding.get("questions"), path, "questions"),
            fillers=_strings(understanding.get("fillers"), path, "fillers"),
            common=_strings(understanding.get("common"), path, "common"),
            corrections=_strings(understanding.get("corrections"), path, "corrections"),
            contrasts=_strings(understanding.get("contrasts"), path, "contrasts"),
            spellings=_lists(understanding.get("spellings"), path, "spellings"),
            tails=_strings(understanding.get("tails"), path, "tails"),
        )
    if "en" not in locales:
        raise LocaleError(f"{directory}: the English locale (en.yaml) is required as the reference")
    return locales


def _strings(value: Any, path: Path, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise LocaleError(f"{path}: `{name}` is a list of words")
    if not all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in value):
        raise LocaleError(f"{path}: `{name}` is a list of words (quote true/false, and no lists or mappings)")
    return tuple(str(item) for item in value)


def _lists(value: Any, path: Path, name: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LocaleError(f"{path}: `{name}` maps names to lists")
    return {str(key): _strings(items, path, f"{name}.{key}") for key, items in value.items()}


_FIELD = re.compile(r"{(\w*)[^}]*}")


def placeholders(template: str) -> set[str]:
    return set(_FIELD.findall(template))


def locale_problems(locales: dict[str, Locale]) -> list[str]:
    """Every way a locale differs from English: missing or extra messages, different placeholders,
    missing words; and any message that asks for a word SMS carriers reserve. Empty when all is well."""
    reference = locales["en"]
    problems: list[str] = []
    for code, locale in sorted(locales.items()):
        for key in sorted(set(reference.messages) - set(locale.messages)):
            problems.append(f"{code}: message {key!r} is not translated")
        for key in sorted(set(locale.messages) - set(reference.messages)):
            problems.append(f"{code}: message {key!r} is not in en.yaml")
        for key in sorted(set(reference.messages) & set(locale.messages)):
            want, got = placeholders(reference.messages[key]), placeholders(locale.messages[key])
            if want != got:
                problems.append(f"{code}: message {key!r} has placeholders {sorted(got)}, en has {sorted(want)}")
        for word in sorted(set(reference.words) - {w for w, forms in locale.words.items() if forms}):
            problems.append(f"{code}: word {word!r} has no forms")
        for key, text in sorted(locale.messages.items()):
            problems.extend(f"{code}: message {key!r} asks for {word}, which SMS carriers reserve (an opt-out "
                            f"or their own help reply): choose another word" for word in reserved_in(text))
        problems.extend(understanding_problems(code, locale, reference))
    return problems


MIN_EXAMPLES = 3
"""Each meaning needs at least this many examples in every language."""


def understanding_problems(code: str, locale: Locale, reference: Locale) -> list[str]:
    """Missing meanings, too few examples, one phrase under two meanings, a FAQ topic without its
    answer, missing negation or question words, a filler phrase with a whole yes or no in it ("так
    от" made "так", yes, a filler), a tail that is not words, a contrast or spelling that is not one
    word, one spelling for two words."""
    problems: list[str] = []
    for meaning in sorted(reference.examples):
        count = len(locale.examples.get(meaning, ()))
        if count < MIN_EXAMPLES:
            problems.append(f"{code}: meaning {meaning!r} has {count} example(s), needs {MIN_EXAMPLES}")
    for meaning in sorted(set(locale.examples) - set(reference.examples)):
        problems.append(f"{code}: meaning {meaning!r} is not in en.yaml")
    for meaning in sorted(m for m in reference.examples if m.startswith("faq.")):
        if meaning not in reference.messages:
            problems.append(f"en: FAQ topic {meaning!r} has examples but no answer (message {meaning!r})")
    for name in ("negations", "questions"):
        if not getattr(locale, name):
            problems.append(f"{code}: `understanding.{name}` is empty")
    problems.extend(f"{code}: tail {tail!r} is not words, or words ... words" for tail in locale.tails
                    if tail.count("...") > 1 or not all(words_of(part) for part in tail.split("...")))
    answers = {" ".join(words_of(example)) for meaning in ("yes", "no")
               for example in locale.understanding.examples.get(meaning, ())}
    problems.extend(f"{code}: filler {filler!r} makes {word!r}, a whole yes or no, a filler (each of its words is one)"
                    for filler in locale.fillers if len(words_of(filler)) > 1
                    for word in words_of(filler) if word in answers)
    problems.extend(f"{code}: contrast {word!r} is not one word" for word in locale.contrasts
                    if len(words_of(word)) != 1)
    spelled: dict[str, str] = {}
    for word, variants in sorted(locale.spellings.items()):
        if not words_of(word):
            problems.append(f"{code}: spellings of {word!r} stand for no word")
        for variant in variants:
            form = words_of(variant)
            if len(form) != 1:
                problems.append(f"{code}: spelling {variant!r} of {word!r} is not one word")
            elif spelled.setdefault(form[0], word) != word:
                problems.append(f"{code}: spelling {variant!r} stands for both {spelled[form[0]]!r} and {word!r}")
    seen: dict[tuple[str, str], str] = {}
    for meaning, examples in sorted(locale.understanding.examples.items()):
        for example in examples:
            folded = (rival_group(meaning), " ".join(words_of(example)))
            if not folded[1]:
                problems.append(f"{code}: meaning {meaning!r} has an example with no words: {example!r}")
            elif seen.get(folded, meaning) != meaning:
                problems.append(f"{code}: {example!r} is an example of both {seen[folded]!r} and {meaning!r}")
            seen.setdefault(folded, meaning)
    return problems


def rival_group(meaning: str) -> str:
    """Meanings that may be read at the same step: a choice step's options compete with each other;
    the common meanings (yes, no, done, wait...) with the FAQ topics."""
    group, dot, _ = meaning.partition(".")
    return group if dot and group != "faq" else "common"


def match_option(text: str, options: list[tuple[str, str]]) -> str | None:
    """Return the key of the option `text` names: by number, key, label, or a close misspelling."""
    folded = normalise(text)
    if not folded:
        return None
    if folded.isdigit():
        index = int(folded) - 1
        return options[index][0] if 0 <= index < len(options) else None
    candidates: dict[str, str] = {}
    for key, label in options:
        candidates[normalise(key)] = key
        candidates[normalise(label)] = key
    if folded in candidates:
        return candidates[folded]
    best = process.extractOne(folded, list(candidates), scorer=fuzz.ratio, score_cutoff=75)
    return candidates[best[0]] if best else None

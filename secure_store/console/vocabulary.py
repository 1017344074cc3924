"""How answers are named: English labels for fields, and each language's words for choice options."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Vocabulary:
    """Given by the caller (from the flow's translations) so this package needs nothing of flows.

    `fields`: answer key -> English label; `options`: language -> answer key -> value -> text;
    `languages`: code -> the language's own name."""

    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)

    def label(self, key: str) -> str:
        """The English label of an answer; an unknown key reads as words (`follow_up` -> `Follow up`)."""
        return self.fields.get(key) or key.replace("_", " ").capitalize()

    def option(self, language: str, key: str, value: str) -> str | None:
        """A choice as the reporter saw it, in their language; None if the value is not a known option."""
        return self.options.get(language, {}).get(key, {}).get(value)

    def option_in_english(self, key: str, value: str) -> str:
        return self.option("en", key, value) or value

    def language_name(self, code: str) -> str:
        return self.languages.get(code, code or "-")

"""HTML of the workspace: plain server-rendered pages, no script, every value escaped.

Reporter text is shown with `dir="auto"` and its language, so Arabic reads right to left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

from secure_store.console.vocabulary import Vocabulary

NAV = (("/", "Inbox"), ("/insights", "Insights"), ("/map", "Map"), ("/export", "Export"))


def e(value: object) -> str:
    return escape(str(value), quote=True)


def href(path: str, query: Mapping[str, str] | None = None) -> str:
    return e(path + ("?" + urlencode(query) if query else ""))


def layout(title: str, body: str, *, here: str = "/", notices: Iterable[str] = ()) -> str:
    links = "".join(f'<a href="{p}"{" aria-current=page" if p == here else ""}>{e(t)}</a>' for p, t in NAV)
    shown = "".join(f'<p class="notice" role="status">{e(n)}</p>' for n in notices)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="referrer" content="same-origin">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · tipline console</title>"
        '<link rel="stylesheet" href="/static/console.css"></head><body>'
        f'<header><strong>tipline console</strong><nav>{links}</nav>'
        '<form method="post" action="/refresh"><button>Refresh</button></form></header>'
        f"<main>{shown}{body}</main></body></html>"
    )


def select(name: str, label: str, current: str, options: Iterable[tuple[str, str]]) -> str:
    items = "".join(f'<option value="{e(v)}"{" selected" if v == current else ""}>{e(t)}</option>'
                    for v, t in [("", "any"), *options])
    return f'<label>{e(label)} <select name="{e(name)}">{items}</select></label>'


def reporter_text(text: str, language: str) -> str:
    """Text as the reporter wrote it, in its own direction."""
    return f'<span class="said" lang="{e(language)}" dir="auto">{e(text)}</span>'


def answer_html(key: str, value: Any, language: str, vocabulary: Vocabulary, country: str = "") -> str:
    """One answer in the reporter's language; choices also in English, a shared pin with its country."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "" or value == []:
        return '<span class="none">-</span>'
    if isinstance(value, list):
        return "".join(f"<div>{answer_html(key, item, language, vocabulary)}</div>" for item in value)
    if isinstance(value, dict):
        parts = []
        place = value.get("address") or value.get("label")
        if place:
            parts.append(reporter_text(str(place), language))
        if "latitude" in value and "longitude" in value:
            parts.append(f'<span class="coords">{e(value["latitude"])}, {e(value["longitude"])}</span>'
                         " (shared location)")
        if country:
            parts.append(f'<span class="country">{e(country)}</span>')
        return "<br>".join(parts) or e(value)
    text = str(value)
    shown = vocabulary.option(language, key, text)
    if shown is not None:
        english = vocabulary.option_in_english(key, text)
        same = shown == english
        return reporter_text(shown, language) + ("" if same else f' <span class="en">({e(english)})</span>')
    return reporter_text(text, language)


def answers_table(answers: Mapping[str, Any], language: str, vocabulary: Vocabulary, country: str = "") -> str:
    """Every answer, in the flow's order (the vocabulary's) then any others, each with its English label."""
    order = [k for k in vocabulary.fields if k in answers] + sorted(k for k in answers if k not in vocabulary.fields)
    rows = "".join(
        f"<tr><th scope=row>{e(vocabulary.label(k))}</th>"
        f"<td>{answer_html(k, answers[k], language, vocabulary, country if k == 'location' else '')}</td></tr>"
        for k in order
    )
    return f'<table class="answers">{rows}</table>'

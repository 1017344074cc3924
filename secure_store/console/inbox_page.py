"""The inbox page: filter form, search box, one row per report (additions folded into their report)."""

from __future__ import annotations

from secure_store.console.inbox import PAGE_SIZE, Filters, choices, inbox
from secure_store.console.library import Entry, Library
from secure_store.console.pages import e, href, layout, select
from secure_store.console.triage import STATUSES
from secure_store.console.vocabulary import Vocabulary


def filter_form(f: Filters, library: Library, vocabulary: Vocabulary, action: str = "/") -> str:
    present = choices(library)
    fields = [
        select("status", "Status", f.status, [(s, s) for s in STATUSES]),
        select("category", "Category", f.category,
               [(c, vocabulary.option_in_english("category", c)) for c in present["category"]]),
        select("language", "Language", f.language, [(c, vocabulary.language_name(c)) for c in present["language"]]),
        select("channel", "Channel", f.channel, [(c, c) for c in present["channel"]]),
        select("country", "Country", f.country, [(c, c) for c in present["country"]]),
        f'<label>From <input type="date" name="since" value="{e(f.since)}"></label>',
        f'<label>To <input type="date" name="until" value="{e(f.until)}"></label>',
        select("media", "Has files", f.media, [("yes", "yes"), ("no", "no")]),
        select("urgent", "Urgent", f.urgent, [("yes", "yes"), ("no", "no")]),
        '<label>Order <select name="sort">' + "".join(
            f'<option value="{v}"{" selected" if f.sort == v else ""}>{t}</option>'
            for v, t in (("urgent", "urgent first, then newest"), ("newest", "newest first"))) + "</select></label>",
    ]
    return (f'<form class="filters" method="get" action="{e(action)}">'
            f'<label class="search">Search <input type="search" name="q" value="{e(f.q)}" '
            f'placeholder="words in answers, additions, notes"></label>{"".join(fields)}'
            f'<button>Apply</button> <a href="{e(action)}">Clear</a></form>')


def _row(entry: Entry, library: Library, vocabulary: Vocabulary) -> str:
    rid = e(entry.report_id)
    new = '<span class="badge new">new</span>' if entry.new else ""
    if entry.report is None:
        return (f'<tr class="damaged"><td>{new}<span class="badge damaged">DAMAGED</span></td>'
                f'<td colspan="8"><a href="/report/{rid}">{rid}</a>: {e(entry.error)}</td></tr>')
    r = entry.report
    state = library.triage(entry.report_id)
    category = r["answers"].get("category")
    urgent = '<span class="badge urgent">URGENT</span>' if entry.urgent else ""
    text = entry.answers.get("description") or entry.answers.get("addition") or ""
    snippet = " ".join(text) if isinstance(text, list) else str(text)
    files = len([m for m in r["media"] if m.get("status") == "stored"])
    files += sum(len((library.entries[a].report or {}).get("media", [])) for a in entry.additions)
    extra = f' <span class="badge">+{len(entry.additions)} addition(s)</span>' if entry.additions else ""
    if entry.addendum_to:
        extra += ' <span class="badge">addition to a report not readable here</span>'
    return (
        f'<tr data-report="{rid}"><td>{new}{urgent}</td>'
        f'<td><a href="/report/{rid}">{e(r["submitted_at"][:16].replace("T", " "))}</a></td>'
        f'<td>{e(vocabulary.option_in_english("category", category) if isinstance(category, str) else "-")}</td>'
        f'<td>{e(r["language"])}</td><td>{e(r["channel"])}</td><td>{e(entry.country or "-")}</td>'
        f'<td>{files}</td><td class="status">{e(state.status)}</td>'
        f'<td><span dir="auto">{e(snippet[:120])}</span>{extra}'
        f'{"".join(f" <span class=tag>{e(t)}</span>" for t in state.tags)}</td></tr>'
    )


def inbox_page(library: Library, vocabulary: Vocabulary, f: Filters, notices: list[str]) -> str:
    chosen = inbox(library, f)
    start = (f.page - 1) * PAGE_SIZE
    shown = chosen[start:start + PAGE_SIZE]
    rows = "".join(_row(entry, library, vocabulary) for entry in shown)
    new = sum(1 for entry in chosen if entry.new)
    pages = []
    if f.page > 1:
        pages.append(f'<a href="{href("/", f.query(page=f.page - 1))}">previous</a>')
    if start + PAGE_SIZE < len(chosen):
        pages.append(f'<a href="{href("/", f.query(page=f.page + 1))}">next</a>')
    exports = (f'Export these: <a href="{href("/export.csv", f.query(page=1))}">CSV</a> · '
               f'<a href="{href("/export.jsonl", f.query(page=1))}">JSONL</a>')
    body = (
        f"<h1>Inbox</h1>{filter_form(f, library, vocabulary)}"
        f'<p class="count"><span id="count">{len(chosen)}</span> report(s), {new} new since your last visit; '
        f"showing {start + 1 if shown else 0} to {start + len(shown)}. {exports}</p>"
        '<table class="inbox"><thead><tr><th></th><th>Submitted (UTC)</th><th>Category</th><th>Language</th>'
        "<th>Channel</th><th>Country</th><th>Files</th><th>Status</th><th>What happened</th></tr></thead>"
        f'<tbody>{rows}</tbody></table><nav class="pages">{" ".join(pages)}</nav>'
        '<form method="post" action="/refresh"><input type="hidden" name="recheck" value="1">'
        "<button>Check every report in the store again</button> (reports already opened are kept in a cache "
        "sealed to your key; this fetches and verifies each one anew)</form>"
    )
    return layout("Inbox", body, here="/", notices=notices)

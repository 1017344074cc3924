"""Which reports the inbox shows, in what order: filters from the page's query, full-text search."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date

from secure_store.console.library import Entry, Library, fold
from secure_store.console.triage import STATUSES

PAGE_SIZE = 100
YES_NO = ("", "yes", "no")


@dataclass
class Filters:
    """Every field is a query parameter of the inbox (and of insights and exports, which use the same)."""

    status: str = ""
    category: str = ""
    language: str = ""
    channel: str = ""
    country: str = ""
    since: str = ""
    until: str = ""
    media: str = ""
    urgent: str = ""
    q: str = ""
    sort: str = "urgent"
    page: int = 1

    def query(self, **changes: object) -> dict[str, str]:
        """The non-default fields as query parameters (with `changes`), for links that keep the filters."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        defaults = Filters()
        return {k: str(v) for k, v in values.items() if v != getattr(defaults, k)}


def parse_filters(query: Mapping[str, str]) -> tuple[Filters, list[str]]:
    """Filters from a query string; a malformed value is dropped with a message saying so (never an error page)."""
    problems: list[str] = []
    found = Filters()
    for name in ("status", "category", "language", "channel", "country", "since", "until", "media", "urgent", "q"):
        setattr(found, name, query.get(name, "").strip()[:200])
    if found.status and found.status not in STATUSES:
        problems.append(f"unknown status {found.status!r} ignored")
        found.status = ""
    for name in ("media", "urgent"):
        if getattr(found, name) not in YES_NO:
            problems.append(f"{name} must be yes or no; ignored")
            setattr(found, name, "")
    for name in ("since", "until"):
        value = getattr(found, name)
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                problems.append(f"{name} must be a date like 2026-01-31; ignored")
                setattr(found, name, "")
    found.sort = "newest" if query.get("sort") == "newest" else "urgent"
    try:
        found.page = max(1, min(10_000, int(query.get("page", "1"))))
    except ValueError:
        found.page = 1
    return found, problems


def _matches(entry: Entry, library: Library, f: Filters, terms: list[str]) -> bool:
    if entry.report is None:
        return not (f.status or f.category or f.language or f.channel or f.country or f.media or f.urgent or terms)
    report = entry.report
    state = library.triage(entry.report_id)
    day = entry.submitted[:10]
    checks = (
        not f.status or state.status == f.status,
        not f.category or report["answers"].get("category") == f.category,
        not f.language or report["language"] == f.language,
        not f.channel or report["channel"] == f.channel,
        not f.country or entry.country == f.country,
        not f.since or day >= f.since,
        not f.until or day <= f.until,
        not f.media or (f.media == "yes") == _has_media(entry, library),
        not f.urgent or (f.urgent == "yes") == entry.urgent,
    )
    if not all(checks):
        return False
    if not terms:
        return True
    text = _text(entry, library)
    return all(term in text for term in terms)


def _has_media(entry: Entry, library: Library) -> bool:
    reports = [entry.report] + [library.entries[a].report for a in entry.additions]
    return any(m.get("status") == "stored" for r in reports if r for m in r["media"])


def _text(entry: Entry, library: Library) -> str:
    """The report's answers, its additions, and the team's notes and tags, folded for search."""
    parts = [entry.text, entry.report_id, fold(entry.country)]
    parts += [library.entries[a].text for a in entry.additions]
    state = library.triage(entry.report_id)
    parts += [fold(n.get("value", "")) for n in state.notes] + [fold(t) for t in state.tags]
    return "\n".join(parts)


def inbox(library: Library, f: Filters) -> list[Entry]:
    """Reports (not additions that have their original here), damaged ones included, in the asked order."""
    terms = [fold(t) for t in f.q.split() if t]
    chosen = [e for e in library.entries.values()
              if not (e.addendum_to and e.addendum_to in library.entries) and _matches(e, library, f, terms)]
    chosen.sort(key=lambda e: e.submitted, reverse=True)
    if f.sort == "urgent":
        chosen.sort(key=lambda e: (e.report is not None, not e.urgent))
    else:
        chosen.sort(key=lambda e: e.report is not None)
    return chosen


def choices(library: Library) -> dict[str, list[str]]:
    """The values present in the store, for the filter menus."""
    seen: dict[str, set[str]] = {"category": set(), "language": set(), "channel": set(), "country": set()}
    for entry in library.entries.values():
        if entry.report is None:
            continue
        category = entry.answers.get("category")
        if isinstance(category, str):
            seen["category"].add(category)
        seen["language"].add(entry.report["language"])
        seen["channel"].add(entry.report["channel"])
        if entry.country:
            seen["country"].add(entry.country)
    return {k: sorted(v) for k, v in seen.items()}

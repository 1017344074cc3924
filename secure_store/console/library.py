"""Every report this analyst can open, kept decrypted in memory and refreshed incrementally.

The store is listed on each refresh; only names not yet opened are fetched and decrypted (side by
side, since S3 round trips dominate), then the local cache is resealed. A report that cannot be
opened is kept as damaged with its reason and shown, never skipped; objects sealed to other keys
only are not this analyst's to see.
"""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from secure_store.backends import Store, StoreError
from secure_store.console import cache, triage
from secure_store.console.places import Places
from secure_store.console.triage import Triage
from secure_store.filing import each_at_once
from secure_store.keys import Recipient, key_id
from secure_store.report import media_name, report_name, validate_report
from secure_store.seal import NotForThisKey, SealError, open_sealed, read_header

FETCH_AT_ONCE = 16


@dataclass
class Entry:
    """One report as the workspace shows it. `report` is None when it is damaged (`error` says why)."""

    report_id: str
    report: dict[str, Any] | None
    error: str | None = None
    new: bool = False
    country: str = ""
    additions: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def answers(self) -> dict[str, Any]:
        answers: dict[str, Any] = (self.report or {}).get("answers", {})
        return answers

    @property
    def submitted(self) -> str:
        return str((self.report or {}).get("submitted_at", ""))

    @cached_property
    def day(self) -> date:
        """The UTC day it was submitted (reports carry UTC times)."""
        return date.fromisoformat(self.submitted[:10])

    @cached_property
    def week(self) -> date:
        """The Monday of its week, for weekly counts."""
        return self.day - timedelta(days=self.day.weekday())

    @property
    def urgent(self) -> bool:
        return bool((self.report or {}).get("urgent"))

    @property
    def addendum_to(self) -> str | None:
        value = (self.report or {}).get("addendum_to")
        return str(value) if value else None


@dataclass
class Refreshed:
    opened: int
    damaged: int
    seconds: float


_MARKS = re.compile("[\u0300-\u036f\u064b-\u065f\u0670\u200b-\u200f\ufeff]")
"""Latin accents, Arabic vowel marks and invisible characters: what search ignores."""


def fold(text: str) -> str:
    """Text as search compares it: no accents or vowel marks, no case."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()


def _words(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _words(item)
    elif isinstance(value, list):
        for item in value:
            yield from _words(item)
    elif isinstance(value, str):
        yield value


def location_of(report: dict[str, Any]) -> tuple[float, float] | None:
    """A shared pin's (latitude, longitude), if the reporter shared one."""
    place = report.get("answers", {}).get("location")
    if isinstance(place, dict):
        try:
            return float(place["latitude"]), float(place["longitude"])
        except (KeyError, TypeError, ValueError):
            return None
    return None


class Library:
    """The analyst's view of one store. Changes (refresh, record) run one at a time under a lock, off
    the web loop; pages read `entries` and `triage()` meanwhile and see either the old or the new state."""

    def __init__(self, store: Store, key: PrivateKey, store_url: str, *, team: list[Recipient],
                 places: Places | None = None, cache_file: Path | None = None) -> None:
        self.store = store
        self.key = key
        self.store_url = store_url
        self.me = key_id(key.public_key)
        self.team = team
        self.places = places
        self.cache_file = cache_file
        self.entries: dict[str, Entry] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.damaged_events: dict[str, str] = {}
        self.states: dict[str, Triage] = {}
        self._events_opened = False
        self._changing = threading.Lock()
        self.notices: list[str] = []
        self._state = cache.empty()
        if cache_file is not None:
            self._state, notice = cache.load(cache_file, key)
            if notice:
                self.notices.append(notice)
        self._known = set(self._state["reports"])

    def refresh(self, recheck: bool = False) -> Refreshed:
        """Open what is new in the store; damaged objects are retried on every refresh. With `recheck`,
        every report is fetched and verified again, so damage done after it was cached shows too."""
        with self._changing:
            return self._refresh(recheck)

    def _refresh(self, recheck: bool) -> Refreshed:
        started = time.perf_counter()
        reports: dict[str, Any] = self._state["reports"]
        if recheck:
            reports.clear()
            self._state["others"] = {}
        names = [n.rsplit("/", 1)[-1] for n in self.store.names("reports/")]
        present = set(names)
        gone = set(reports) - present
        for report_id in gone:
            del reports[report_id]
        gone_any = bool(gone)
        others: dict[str, int] = self._state.setdefault("others", {})
        fresh = [n for n in names if n not in reports and n not in others]
        damaged: dict[str, str] = {}
        kids: set[str] = set(self._state.setdefault("kids", []))
        for report_id, (outcome, sealed_to) in zip(fresh, each_at_once(self._open_report, fresh, FETCH_AT_ONCE),
                                                   strict=True):
            kids.update(sealed_to)
            if isinstance(outcome, dict):
                reports[report_id] = outcome
            elif outcome is None:
                others[report_id] = 1
            else:
                damaged[report_id] = outcome
        self._state["kids"] = sorted(kids)
        self._warn_about_team(kids)
        self._refresh_events()
        self._rebuild(reports, damaged)
        if self.cache_file is not None and (fresh or gone_any or self._events_opened or not self.cache_file.exists()):
            cache.save(self.cache_file, self.key, self._state)
        return Refreshed(len(fresh) - len(damaged), len(damaged), time.perf_counter() - started)

    def _open_report(self, report_id: str) -> tuple[dict[str, Any] | str | None, list[str]]:
        """(the report, or why it cannot be trusted, or None if it is sealed to other keys only;
        the key ids it is sealed to)."""
        sealed_to: list[str] = []
        try:
            blob = self.store.get(report_name(report_id))
            sealed_to = [str(to.get("kid")) for to in read_header(blob)[0].get("to", []) if isinstance(to, dict)]
            kind, plaintext = open_sealed(blob, self.key)
            if kind != "report":
                return "the object is not a report", sealed_to
            report: dict[str, Any] = json.loads(plaintext)
            validate_report(report)
            if report.get("report_id") != report_id:
                return "the report inside belongs to another name", sealed_to
            return report, sealed_to
        except NotForThisKey:
            return None, sealed_to
        except (SealError, StoreError, ValueError) as exc:
            return str(exc), sealed_to

    def _warn_about_team(self, kids: set[str]) -> None:
        """Reports sealed to analyst keys the triage team leaves out: their holders would not see triage."""
        missing = kids - {r.kid for r in self.team}
        notice = (f"reports are also sealed to {len(missing)} analyst key(s) not in your team list "
                  f"({', '.join(sorted(missing))}): they will not see the triage you record")
        self.notices = [n for n in self.notices if "not in your team list" not in n]
        if missing:
            self.notices.append(notice)

    def _open_event(self, name: str) -> dict[str, Any] | str | None:
        try:
            kind, plaintext = open_sealed(self.store.get(name), self.key)
            if kind != triage.KIND:
                return "the object is not a triage event"
            return triage.parse(plaintext, name)
        except NotForThisKey:
            return None
        except (SealError, StoreError) as exc:
            return str(exc)

    def _refresh_events(self) -> None:
        self.damaged_events = {}
        self.events = self._state["triage"]
        self._open_events(list(self.store.names(triage.PREFIX)))
        self.states = self._folded({triage.report_of(n) for n in self.events} |
                                   {triage.report_of(n) for n in self.damaged_events})

    def _open_events(self, names: list[str]) -> None:
        fresh = [n for n in names if n not in self.events]
        self._events_opened = bool(fresh)
        for name, outcome in zip(fresh, each_at_once(self._open_event, fresh, FETCH_AT_ONCE), strict=True):
            if isinstance(outcome, dict):
                self.events[name] = outcome
                self.damaged_events.pop(name, None)
            elif outcome is not None:
                self.damaged_events[name] = outcome

    def refresh_triage(self, report_id: str) -> None:
        """Fetch the team's newest triage of one report (one listing): a report page is always current."""
        with self._changing:
            self._open_events(list(self.store.names(f"{triage.PREFIX}{report_id}/")))
            self.states.update(self._folded([report_id]))

    def _country(self, report_id: str, report: dict[str, Any]) -> str:
        told = report.get("answers", {}).get("country")
        if isinstance(told, str) and told.strip():
            return told.strip()
        countries: dict[str, str] = self._state["countries"]
        if report_id not in countries:
            pin = location_of(report)
            countries[report_id] = (self.places.country_at(*pin) or "") if pin and self.places else ""
        return countries[report_id]

    def _rebuild(self, reports: dict[str, Any], damaged: dict[str, str]) -> None:
        entries: dict[str, Entry] = {}
        for report_id, report in reports.items():
            previous = self.entries.get(report_id)
            text = previous.text if previous else fold("\n".join(_words(report.get("answers", {}))))
            entries[report_id] = Entry(report_id, report, new=report_id not in self._known,
                                       country=self._country(report_id, report), text=text)
        for report_id, error in damaged.items():
            entries[report_id] = Entry(report_id, None, error=error, new=True)
        for entry in sorted(entries.values(), key=lambda e: e.submitted):
            original = entries.get(entry.addendum_to or "")
            if original is not None:
                original.additions.append(entry.report_id)
        self.entries = entries

    def record(self, report_id: str, action: str, value: str = "", by: str | None = None) -> dict[str, Any]:
        """Write one triage event for the team and apply it here at once; raises TriageError, StoreError."""
        item = triage.event(report_id, by or self.me, action, value)
        with self._changing:
            name = triage.write(self.store, self.team, item)
            self.events[name] = item
            self.states.update(self._folded([report_id]))
        return item

    def triage(self, report_id: str) -> Triage:
        """The team's triage of one report (status "new" and an empty history when nobody acted)."""
        return self.states.get(report_id) or Triage()

    def _folded(self, report_ids: Iterable[str]) -> dict[str, Triage]:
        wanted = set(report_ids)
        grouped: dict[str, list[dict[str, Any]]] = {r: [] for r in wanted}
        for name, item in self.events.items():
            report_id = triage.report_of(name)
            if report_id in wanted:
                grouped[report_id].append(item)
        states: dict[str, Triage] = {}
        for report_id, items in grouped.items():
            state = triage.fold(items)
            state.damaged = [f"{n}: {e}" for n, e in self.damaged_events.items() if triage.report_of(n) == report_id]
            states[report_id] = state
        return states

    def media(self, media_id: str) -> bytes:
        """Decrypt one media object (never cached on disk); raises SealError / StoreError."""
        kind, plaintext = open_sealed(self.store.get(media_name(media_id)), self.key)
        if kind != "media":
            raise SealError(f"object for media {media_id} is not media")
        return plaintext

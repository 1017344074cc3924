"""Exports for the tools analysts already use (spreadsheets, i2, Maltego): JSONL and CSV.

CSV has one column per answer, headed by its English label, then the follow-up, the additions, the
team's triage and every file with its sha256. Cells that a spreadsheet would run as a formula are
prefixed with an apostrophe. Follow-up addresses are included only when asked for (and logged).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from secure_store.console.library import Entry, Library, location_of
from secure_store.console.vocabulary import Vocabulary
from secure_store.report import EXTENSIONS

FIXED = ["report_id", "submitted_at", "filed_at", "started_at", "report_status", "urgent", "channel", "language",
         "country", "latitude", "longitude"]
AFTER = ["follow_up", "follow_up_channel", "follow_up_address", "additions", "addition_ids", "triage_status",
         "tags", "notes", "media"]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def file_name(item: dict[str, Any]) -> str:
    """The name a file gets on download, in exports and in `--media-dir`: its media id and an extension
    of our own list; never a name the sender chose."""
    return str(item.get("id", "")) + EXTENSIONS.get(str(item.get("content_type")), ".bin")


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (a plain number such as a longitude stays as it is)."""
    return "'" + value if value.startswith(FORMULA) and not _NUMBER.fullmatch(value) else value


def _plain(key: str, value: Any, vocabulary: Vocabulary) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_plain(key, v, vocabulary) for v in value)
    if isinstance(value, dict):
        place = str(value.get("address") or value.get("label") or "")
        if "latitude" in value:
            place = f"{place} ({value['latitude']}, {value['longitude']})".strip()
        return place
    return vocabulary.option_in_english(key, str(value)) if vocabulary.option("en", key, str(value)) else str(value)


def answer_keys(entries: list[Entry], vocabulary: Vocabulary) -> list[str]:
    present = {k for entry in entries for k in entry.answers}
    return [k for k in vocabulary.fields if k in present] + sorted(present - set(vocabulary.fields))


def _media(entry: Entry, library: Library) -> list[dict[str, Any]]:
    reports = [entry] + [library.entries[a] for a in entry.additions]
    return [{**m, "file": file_name(m), "report_id": r.report_id}
            for r in reports for m in (r.report or {}).get("media", [])]


def csv_lines(entries: list[Entry], library: Library, vocabulary: Vocabulary, follow_up: bool) -> Iterator[str]:
    """The CSV, a line at a time (10,000 reports stream without building one big string)."""
    readable = [e for e in entries if e.report is not None]
    keys = answer_keys(readable, vocabulary)
    labels = [vocabulary.label(k) for k in keys]
    header = FIXED + [label if labels.count(label) == 1 else f"{label} ({key})"
                      for key, label in zip(keys, labels, strict=True)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header + AFTER)
    for entry in readable:
        r = entry.report or {}
        pin = location_of(r)
        state = library.triage(entry.report_id)
        additions = [library.entries[a] for a in entry.additions]
        agreed = r.get("follow_up") or {}
        row = [entry.report_id, r["submitted_at"], r["filed_at"], r.get("started_at") or "", r["status"],
               "yes" if entry.urgent else "no", r["channel"], r["language"], entry.country,
               pin[0] if pin else "", pin[1] if pin else ""]
        row += [_plain(k, entry.answers.get(k), vocabulary) for k in keys]
        row += ["yes" if agreed else "no", agreed.get("channel", ""), agreed.get("address", "") if follow_up else "",
                " | ".join(f"{a.submitted}: {_plain('addition', a.answers.get('addition'), vocabulary)}"
                           for a in additions),
                " ".join(a.report_id for a in additions), state.status, ";".join(state.tags),
                " | ".join(f"{n.get('by', '')}: {n.get('value', '')}" for n in state.notes),
                "; ".join(f"{m['file']} {m.get('kind', '')} {m['status']} sha256={m.get('sha256', '')}"
                          for m in _media(entry, library))]
        writer.writerow([_cell(str(v)) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def jsonl_lines(entries: list[Entry], library: Library, follow_up: bool) -> Iterator[str]:
    """One JSON object a line: the report as filed, its country, additions, triage and files."""
    for entry in entries:
        if entry.report is None:
            continue
        report = dict(entry.report)
        if not follow_up and report.get("follow_up"):
            report["follow_up"] = {"channel": report["follow_up"].get("channel", ""), "address": "(hidden)"}
        state = library.triage(entry.report_id)
        line = {"report": report, "country": entry.country,
                "additions": [library.entries[a].report for a in entry.additions],
                "triage": {"status": state.status, "tags": state.tags, "notes": state.notes,
                           "history": state.history},
                "files": [{"file": m["file"], "report_id": m["report_id"], "sha256": m.get("sha256"),
                           "status": m["status"]} for m in _media(entry, library)]}
        yield json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"

"""Patterns across reports, for the insights page: counts per week by a dimension, urgent share,
time from first message to filing, files per report. Pure functions of the chosen entries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta

from secure_store.console.charts import bars, stacked_bars
from secure_store.console.library import Entry
from secure_store.console.vocabulary import Vocabulary

MAX_WEEKS = 52
TOP_VALUES = 6
DELAYS = ((5, "<5 min"), (15, "5-15 min"), (30, "15-30 min"), (60, "30-60 min"), (180, "1-3 h"),
          (720, "3-12 h"), (1440, "12-24 h"), (float("inf"), ">1 day"))


def weeks(entries: list[Entry]) -> list[date]:
    """Every week (Mondays) from the first report's to the last one's, at most the last 52."""
    if not entries:
        return []
    first, last = min(e.week for e in entries), max(e.week for e in entries)
    first = max(first, last - timedelta(weeks=MAX_WEEKS - 1))
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def per_week(entries: list[Entry], value: Callable[[Entry], str]) -> tuple[list[str], dict[str, list[int]]]:
    """Counts per week and value; values past the six most common are counted as "other"."""
    columns = weeks(entries)
    index = {w: i for i, w in enumerate(columns)}
    placed = [(index.get(entry.week), value(entry)) for entry in entries]
    common = [v for v, _ in Counter(name for _, name in placed).most_common(TOP_VALUES)]
    series: dict[str, list[int]] = {v: [0] * len(columns) for v in common}
    for i, name in placed:
        if i is not None:
            series.setdefault(name if name in series else "other", [0] * len(columns))[i] += 1
    return [w.strftime("%d %b") for w in columns], series


def urgent_share(entries: list[Entry]) -> tuple[list[str], list[float]]:
    labels, series = per_week(entries, lambda e: "urgent" if e.urgent else "not")
    urgent, other = series.get("urgent", [0] * len(labels)), series.get("not", [0] * len(labels))
    return labels, [100 * u / (u + o) if u + o else 0 for u, o in zip(urgent, other, strict=True)]


def filing_delays(entries: list[Entry]) -> list[int]:
    counts = [0] * len(DELAYS)
    for entry in entries:
        report = entry.report or {}
        if not report.get("started_at"):
            continue
        minutes = (datetime.fromisoformat(report["filed_at"]) - datetime.fromisoformat(report["started_at"])
                   ).total_seconds() / 60
        counts[next(i for i, (limit, _) in enumerate(DELAYS) if minutes < limit)] += 1
    return counts


def files_per_report(entries: list[Entry]) -> tuple[list[str], list[int]]:
    counts = Counter(min(5, sum(1 for m in (e.report or {}).get("media", []) if m.get("status") == "stored"))
                     for e in entries)
    return ["0", "1", "2", "3", "4", "5+"], [counts.get(n, 0) for n in range(6)]


def charts(entries: list[Entry], vocabulary: Vocabulary) -> list[str]:
    """Every chart of the insights page, as SVG, for these entries (damaged ones are left out)."""
    readable = [e for e in entries if e.report is not None]
    category = per_week(readable, lambda e: vocabulary.option_in_english("category",
                                                                         str(e.answers.get("category", "-"))))
    language = per_week(readable, lambda e: vocabulary.language_name(str((e.report or {}).get("language", ""))))
    channel = per_week(readable, lambda e: str((e.report or {}).get("channel", "")).split(":")[0])
    country = per_week(readable, lambda e: e.country or "unknown")
    share = urgent_share(readable)
    files = files_per_report(readable)
    return [
        stacked_bars("Reports per week by category", *category),
        stacked_bars("Reports per week by language", *language),
        stacked_bars("Reports per week by channel", *channel),
        stacked_bars("Reports per week by country", *country),
        bars("Urgent share per week", share[0], share[1], "%"),
        bars("First message to filing", [label for _, label in DELAYS], filing_delays(readable)),
        bars("Files per report", files[0], files[1]),
    ]

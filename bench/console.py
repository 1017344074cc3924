"""The analysts' workspace with 10,000 reports: how long until the inbox is open, cold (every report
fetched and decrypted) and warm (the local cache sealed to the analyst's key, plus what is new), and
what the pages cost. Run: `.venv/bin/python -m bench.console [REPORTS]`.

The store is a file store; reports are shaped like real ones (answers, a shared pin for a third,
media entries for some) and sealed exactly as the worker seals them."""

from __future__ import annotations

import base64
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from bot.cli_analyst import boundary_places, flow_vocabulary
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from secure_store.console.export import csv_lines
from secure_store.console.inbox import inbox, parse_filters
from secure_store.console.inbox_page import inbox_page
from secure_store.console.insights import charts
from secure_store.console.library import Library
from secure_store.keys import generate_keypair, parse_public_keys
from secure_store.report import SCHEMA_ID, report_name
from secure_store.seal import seal

CATEGORIES = ("labour", "sexual", "domestic", "begging", "crime", "other")
LANGUAGES = ("en", "es", "fr", "pt", "ar", "ro")
CHANNELS = ("whatsapp", "sms", "telegram")
WORDS = ["men", "women", "van", "bakery", "basement", "locked", "farm", "night", "passport", "debt", "hotel",
         "car", "phone", "boss"]


def fake_report(rng: random.Random, at: datetime) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "consent": True, "category": rng.choice(CATEGORIES),
        "description": [" ".join(rng.choices(WORDS, k=rng.randint(8, 40))) for _ in range(rng.randint(1, 3))],
        "when": "every night", "danger": rng.random() < 0.15, "follow_up": rng.random() < 0.3,
    }
    if rng.random() < 0.33:
        answers["location"] = {"latitude": rng.uniform(35, 60), "longitude": rng.uniform(-10, 30)}
    else:
        answers["location"] = " ".join(rng.choices(WORDS, k=4))
    media = [{"id": os.urandom(16).hex(), "kind": "photo", "status": "stored", "content_type": "image/jpeg",
              "size": 1000, "sha256": os.urandom(32).hex(), "metadata": "removed"} for _ in range(rng.randint(0, 3))]
    return {"schema": SCHEMA_ID, "report_id": os.urandom(16).hex(), "status": "complete",
            "urgent": answers["danger"], "channel": rng.choice(CHANNELS), "language": rng.choice(LANGUAGES),
            "started_at": (at - timedelta(minutes=rng.randint(2, 400))).isoformat(),
            "submitted_at": at.isoformat(), "filed_at": (at + timedelta(seconds=3)).isoformat(),
            "answers": answers, "receipt_hash": None, "follow_up": None, "notes": [], "addendum_to": None,
            "media": media}


def file_many(store: FileStore, recipients: Any, count: int, rng: random.Random) -> None:
    """Seal as the worker does; written without fsync (setting up, not what is measured)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    (store.root / "reports").mkdir(parents=True, exist_ok=True)
    for _ in range(count):
        report = fake_report(rng, start + timedelta(minutes=rng.randint(0, 60 * 24 * 320)))
        sealed = seal(json.dumps(report, sort_keys=True).encode(), recipients, "report")
        (store.root / report_name(report["report_id"])).write_bytes(sealed)


def timed(label: str, work: Any) -> Any:
    started = time.perf_counter()
    result = work()
    print(f"  {label:<52} {time.perf_counter() - started:8.3f} s")
    return result


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rng = random.Random(7)
    public, content = generate_keypair()
    key = PrivateKey(base64.b64decode(json.loads(content)["secret"]))
    recipients = parse_public_keys([public])
    places, vocabulary = boundary_places(), flow_vocabulary()
    with tempfile.TemporaryDirectory(prefix="tl-bench-console-") as folder:
        store = FileStore(Path(folder) / "store")
        timed(f"seal and write {count} reports (set-up)", lambda: file_many(store, recipients, count, rng))
        cache_file = Path(folder) / "cache" / "console.sealed"
        print(f"tipline console with {count} reports (file store, one analyst key)")

        def library() -> Library:
            return Library(store, key, "bench", team=recipients, places=places, cache_file=cache_file)

        old = timed("before: `reports list` decrypts everything (each run)", lambda: list_reports(store, key))
        cold_library = library()
        cold = timed("cold open: fetch + decrypt all, write the sealed cache", cold_library.refresh)
        assert len(cold_library.entries) == len(old) == count
        warm_library = timed("warm start: read the sealed cache", library)
        warm = timed("warm refresh: list the store, nothing new", warm_library.refresh)
        file_many(store, recipients, 100, rng)
        more = timed("incremental refresh: 100 new reports", warm_library.refresh)
        assert more.opened == 100
        filters = parse_filters({})[0]
        timed("inbox page (first 100 rows of all, urgent first)", lambda: inbox_page(warm_library, vocabulary,
                                                                                      filters, []))
        found = timed("full-text search, two words", lambda: inbox(warm_library, parse_filters(
            {"q": "bakery passport"})[0]))
        timed("filter: category + language + has files", lambda: inbox(warm_library, parse_filters(
            {"category": "labour", "language": "es", "media": "yes"})[0]))
        timed("insights: 7 charts", lambda: charts(inbox(warm_library, filters), vocabulary))
        timed("CSV export of everything", lambda: sum(len(line) for line in csv_lines(
            inbox(warm_library, filters), warm_library, vocabulary, False)))
        size = cache_file.stat().st_size
        print(f"  search matched {len(found)}; sealed cache {size / 1e6:.1f} MB")
        cold_seconds = cold.seconds
        warm_seconds = warm.seconds
        print(f"  cold open {cold_seconds:.2f} s; warm refresh {warm_seconds:.3f} s "
              f"({cold_seconds / max(warm_seconds, 1e-6):.0f}x faster)")


if __name__ == "__main__":
    main()

"""The workspace's reading and triage, on a file store and on S3 over HTTP (moto's server): the team
shares triage, a third key sees nothing, damage is shown (never skipped), and the local cache is
sealed, used, and marks what is new since the last visit."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from secure_store.backends import FileStore, Store, open_store
from secure_store.console import cache
from secure_store.console.export import csv_lines
from secure_store.console.inbox import inbox, parse_filters
from secure_store.console.library import Library
from secure_store.console.places import load_places
from secure_store.console.triage import TriageError
from secure_store.console.vocabulary import Vocabulary
from secure_store.filing import file_report
from secure_store.keys import parse_public_keys
from secure_store.report import report_name
from tests.conftest import AnalystKey, make_analyst_key
from tests.console_reports import file_samples, jpeg, report
from tests.test_s3_store import BUCKET, s3, s3_endpoint  # noqa: F401  (fixtures)

COUNTRIES = Path(__file__).resolve().parent.parent / "flows" / "countries" / "countries-50m.json"


def library(store: Store, analyst: AnalystKey, team: list[AnalystKey], cache_file: Path | None = None) -> Library:
    return Library(store, analyst.load(), "test-store", team=parse_public_keys([k.public for k in team]),
                   places=load_places(COUNTRIES), cache_file=cache_file)


@pytest.fixture(params=["file", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "file":
        return FileStore(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    request.getfixturevalue("s3")
    return open_store(f"s3://{BUCKET}/tips", endpoint)


def ids_of(entries: list[Any]) -> list[str]:
    return [e.report_id for e in entries]


def test_the_team_reads_and_triages_together_and_a_third_key_sees_nothing(any_store: Store, tmp_path: Path) -> None:
    first, second, third = (make_analyst_key(tmp_path / n, n) for n in ("first", "second", "third"))
    team = [first, second]
    ids = file_samples(any_store, parse_public_keys([k.public for k in team]))

    mine = library(any_store, first, team)
    mine.refresh()
    shown = inbox(mine, parse_filters({})[0])
    assert ids_of(shown) == [ids["spanish"], ids["english"], ids["arabic"]]  # urgent first, then newest
    spanish = mine.entries[ids["spanish"]]
    assert spanish.additions == [ids["addition"]] and mine.entries[ids["addition"]].addendum_to == ids["spanish"]
    assert spanish.country == "France" and spanish.new
    photo = (spanish.report or {})["media"][0]
    assert mine.media(photo["id"]) == jpeg()

    mine.record(ids["spanish"], "status", "in review")
    mine.record(ids["spanish"], "note", "Called the labour inspectorate")
    mine.record(ids["spanish"], "tag", "bakery")
    with pytest.raises(TriageError):
        mine.record(ids["spanish"], "status", "lost")

    theirs = library(any_store, second, team)
    theirs.refresh()
    state = theirs.triage(ids["spanish"])
    assert state.status == "in review" and state.tags == ["bakery"]
    assert [n["value"] for n in state.notes] == ["Called the labour inspectorate"]
    assert [h["action"] for h in state.history] == ["status", "note", "tag"]
    assert ids_of(inbox(theirs, parse_filters({"status": "in review"})[0])) == [ids["spanish"]]
    assert ids_of(inbox(theirs, parse_filters({"q": "INSPECTORATE"})[0])) == [ids["spanish"]]
    assert ids_of(inbox(theirs, parse_filters({"q": "furgoneta manana"})[0])) == [ids["spanish"]]  # addition, no accent

    assert not [n for n in theirs.notices if "team" in n]
    alone = library(any_store, second, [second])
    alone.refresh()
    assert [n for n in alone.notices if "1 analyst key(s) not in your team list" in n]

    stranger = library(any_store, third, [third])
    stranger.refresh()
    assert stranger.entries == {} and stranger.events == {} and stranger.damaged_events == {}


def test_filters_each_narrow_the_inbox(tmp_path: Path, analyst_key: AnalystKey) -> None:
    store = FileStore(tmp_path / "store")
    ids = file_samples(store, parse_public_keys([analyst_key.public]))
    mine = library(store, analyst_key, [analyst_key])
    mine.refresh()

    def pick(**query: str) -> list[str]:
        return ids_of(inbox(mine, parse_filters(query)[0]))

    assert pick(category="sexual") == [ids["english"]]
    assert pick(language="ar") == [ids["arabic"]]
    assert pick(channel="telegram") == [ids["spanish"]]
    assert pick(country="France") == [ids["spanish"]]
    assert pick(media="yes") == [ids["spanish"]] and len(pick(media="no")) == 2
    assert pick(urgent="no") == [ids["english"], ids["arabic"]]
    assert pick(since="2026-11-10", until="2026-11-12") == [ids["english"]]
    assert pick(sort="newest")[0] == ids["spanish"]
    assert pick(q="عاملة") == [ids["arabic"]]
    filters, problems = parse_filters({"since": "last tuesday", "status": "bogus", "urgent": "maybe"})
    assert len(problems) == 3 and filters.since == filters.status == filters.urgent == ""


def test_a_tampered_report_and_a_tampered_triage_event_are_shown_as_damaged(
    tmp_path: Path, analyst_key: AnalystKey
) -> None:
    store = FileStore(tmp_path / "store")
    ids = file_samples(store, parse_public_keys([analyst_key.public]))
    writer = library(store, analyst_key, [analyst_key])
    writer.refresh()
    writer.record(ids["english"], "note", "seen")
    path = store.root / report_name(ids["arabic"])
    flipped = bytearray(path.read_bytes())
    flipped[-20] ^= 0x40
    path.write_bytes(bytes(flipped))
    [event] = (store.root / "triage" / ids["english"]).iterdir()
    event.write_bytes(event.read_bytes()[:-1])

    reader = library(store, analyst_key, [analyst_key])
    done = reader.refresh()
    assert done.damaged == 1
    damaged = reader.entries[ids["arabic"]]
    assert damaged.report is None and "tampered" in (damaged.error or "")
    assert ids_of(inbox(reader, parse_filters({})[0]))[0] == ids["arabic"]  # damaged first, never skipped
    state = reader.triage(ids["english"])
    assert state.notes == [] and len(state.damaged) == 1 and "damaged" in state.damaged[0]


def test_the_cache_is_sealed_spares_the_store_and_knows_what_is_new(tmp_path: Path, analyst_key: AnalystKey) -> None:
    store = CountingStore(tmp_path / "store")
    team = parse_public_keys([analyst_key.public])
    ids = file_samples(store, team)
    cache_file = tmp_path / "cache" / "c.sealed"
    first = library(store, analyst_key, [analyst_key], cache_file)
    first.refresh()
    assert all(e.new for e in first.entries.values())
    sealed = cache_file.read_bytes()
    assert b"panader" not in sealed and b"furgoneta" not in sealed
    assert oct(cache_file.stat().st_mode)[-3:] == "600"
    stranger = make_analyst_key(tmp_path / "stranger")
    assert cache.load(cache_file, stranger.load())[1] is not None  # another key cannot open it

    late = report({"category": "begging", "description": ["Children at the lights"]}, at=_now())
    file_report(store, team, late)
    store.gets = 0
    second = library(store, analyst_key, [analyst_key], cache_file)
    second.refresh()
    assert store.gets == 1  # only the new report was fetched
    assert [e.report_id for e in second.entries.values() if e.new] == [late["report_id"]]
    assert second.entries[ids["spanish"]].report == first.entries[ids["spanish"]].report

    path = store.root / report_name(ids["english"])
    path.write_bytes(path.read_bytes()[:-3])
    second.refresh()
    assert second.entries[ids["english"]].report is not None  # the verified copy in the cache
    second.refresh(recheck=True)
    assert second.entries[ids["english"]].report is None and "damaged" in (second.entries[ids["english"]].error or "")

    cache_file.write_bytes(b"garbage")
    third = library(store, analyst_key, [analyst_key], cache_file)
    assert third.notices and "starting afresh" in third.notices[0]
    third.refresh()
    assert len(third.entries) == 5


class CountingStore(FileStore):
    """A real file store that counts reads of reports (to show what the cache saves)."""

    gets = 0

    def get(self, name: str) -> bytes:
        if name.startswith("reports/"):
            self.gets += 1
        return super().get(name)


def _now() -> datetime:
    return datetime.now(UTC)


def test_exports_keep_numbers_and_defuse_formulas(tmp_path: Path, analyst_key: AnalystKey) -> None:
    store = FileStore(tmp_path / "store")
    team = parse_public_keys([analyst_key.public])
    hostile = report({"category": "other", "description": ["=HYPERLINK(\"http://evil.example\",\"x\")"],
                      "location": {"latitude": -33.86, "longitude": -70.65}}, at=_now())
    file_report(store, team, hostile)
    mine = library(store, analyst_key, [analyst_key])
    mine.refresh()
    [row] = list(csv.DictReader(io.StringIO("".join(csv_lines(inbox(mine, parse_filters({})[0]), mine,
                                                                Vocabulary(), False)))))
    assert row["Description"].startswith("'=HYPERLINK") and row["latitude"] == "-33.86"
    assert row["country"] == "Chile"

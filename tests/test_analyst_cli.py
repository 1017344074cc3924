"""Analyst commands need only the store's address and the analyst's key: run in an empty folder with
nothing but STORE_URL (or --store), they read reports, write no secrets and no keys (only their cache,
sealed to the analyst's key), and work even where TIPLINE_ENV=production is set for the service.
Additions are listed under their report, and exports carry a column per answer."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
from pathlib import Path

from secure_store.backends import FileStore
from secure_store.filing import file_report
from secure_store.keys import parse_public_keys
from tests.conftest import ROOT, AnalystKey
from tests.console_reports import file_samples
from tests.test_sealed_objects import REPORT_ID, sample_report


def run_tipline(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real `tipline` entry in a clean environment (nothing of the service's settings)."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(cwd),
                               "XDG_CACHE_HOME": str(cwd.parent / "cache"), **env},
                          timeout=60, check=False)


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def test_reports_list_with_only_store_url_reads_and_writes_nothing(tmp_path: Path, analyst_key: AnalystKey) -> None:
    store = FileStore(tmp_path / "store")
    file_report(store, parse_public_keys([analyst_key.public]), sample_report())
    desk = tmp_path / "desk"
    desk.mkdir()
    for env in ({"STORE_URL": f"file://{store.root}"},
                {"STORE_URL": f"file://{store.root}", "TIPLINE_ENV": "production"}):
        result = run_tipline(["reports", "list", "--key", str(analyst_key.path)], desk, env)
        assert result.returncode == 0, result.stderr
        assert REPORT_ID in result.stdout and "URGENT" in result.stdout
        assert files_under(desk) == set(), "an analyst command wrote files"
    result = run_tipline(["reports", "list", "--key", str(analyst_key.path), "--store", f"file://{store.root}"],
                         desk, {"TIPLINE_ENV": "production"})
    assert result.returncode == 0 and REPORT_ID in result.stdout, result.stderr
    assert files_under(desk) == set()
    [cached] = (tmp_path / "cache" / "tipline").iterdir()
    assert b"boarded-up" not in cached.read_bytes() and oct(cached.stat().st_mode)[-3:] == "600"


def test_additions_are_listed_under_their_report_and_exported_with_it(tmp_path: Path, analyst_key: AnalystKey) -> None:
    store = FileStore(tmp_path / "store")
    ids = file_samples(store, parse_public_keys([analyst_key.public]))
    env = {"STORE_URL": f"file://{store.root}"}
    listed = run_tipline(["reports", "list", "--key", str(analyst_key.path)], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == [
        ids["spanish"], ids["english"], ids["arabic"]]
    assert lines[1].startswith(f"  + addition {ids['addition']}")

    media = tmp_path / "media"
    exported = run_tipline(["reports", "export", "--key", str(analyst_key.path), "--format", "csv",
                            "--media-dir", str(media)], tmp_path, env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [r["report_id"] for r in rows] == [ids["spanish"], ids["english"], ids["arabic"]]
    spanish = rows[0]
    assert spanish["Type"] == "Forced labour" and spanish["What happened"].startswith("Hombres")
    assert spanish["follow_up"] == "yes" and spanish["follow_up_address"] == ""  # only with --with-follow-up
    assert "Volvieron" in spanish["additions"] and spanish["addition_ids"] == ids["addition"]
    for listed_file in spanish["media"].split("; "):
        name, sha = listed_file.split()[0], listed_file.split("sha256=")[1]
        assert hashlib.sha256((media / name).read_bytes()).hexdigest() == sha


def test_without_a_store_the_analyst_is_told_what_to_pass(tmp_path: Path, analyst_key: AnalystKey) -> None:
    result = run_tipline(["reports", "list", "--key", str(analyst_key.path)], tmp_path, {})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "tipline: no store given: pass --store URL or set STORE_URL (file://FOLDER or s3://BUCKET/PREFIX)"]

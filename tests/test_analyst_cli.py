"""Analyst commands need only the store's address and the analyst's key: run in an empty folder with
nothing but STORE_URL (or --store), they read reports, write nothing (no secrets, no keys), and work
even where TIPLINE_ENV=production is set for the service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from secure_store.backends import FileStore
from secure_store.filing import file_report
from secure_store.keys import parse_public_keys
from tests.conftest import ROOT, AnalystKey
from tests.test_sealed_objects import REPORT_ID, sample_report


def run_tipline(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real `tipline` entry in a clean environment (nothing of the service's settings)."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(cwd), **env},
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


def test_without_a_store_the_analyst_is_told_what_to_pass(tmp_path: Path, analyst_key: AnalystKey) -> None:
    result = run_tipline(["reports", "list", "--key", str(analyst_key.path)], tmp_path, {})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "tipline: no store given: pass --store URL or set STORE_URL (file://FOLDER or s3://BUCKET/PREFIX)"]

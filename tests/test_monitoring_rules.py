"""The shipped alert rules and dashboard: valid for Prometheus (`promtool`, from Debian's
`prometheus` package that `make system` installs), firing on the situations they name, and
asking only for metrics the service really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app import make_app
from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "tipline.json"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "gauge": ("",), "summary": ("", "_sum", "_count", "_created")}


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: run `make system` (Debian package prometheus)")
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=RULES.parent)


@pytest.fixture
async def exposition(settings: Settings, aiohttp_client: Any) -> str:
    client: TestClient[Any, Any] = await aiohttp_client(make_app(settings))
    response = await client.get("/metrics")
    assert response.status == 200
    return await response.text()


def test_alert_rules_are_valid() -> None:
    done = promtool("check", "rules", RULES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 12 rules found" in done.stdout


def test_alerts_fire_on_a_dead_scheduler_failed_jobs_and_a_stalled_queue_and_only_then() -> None:
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_metrics_page_passes_promtool_s_lint(exposition: str) -> None:
    done = promtool("check", "metrics", stdin=exposition)
    assert done.returncode == 0, done.stdout + done.stderr


def exported_names(exposition: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        if family.name.startswith("tipline_"):
            names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def asked_for(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in re.findall(r"\btipline_[a-z_]+", expr)}


def test_rules_and_dashboard_ask_only_for_exported_metrics(exposition: str) -> None:
    exported = exported_names(exposition)
    rules = [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queries = [target["expr"] for panel in panels for target in panel["targets"]]
    assert asked_for(rules) - exported == set()
    assert asked_for(queries) - exported == set()
    assert {"tipline_scheduler_alive", "tipline_oldest_job_age_seconds", "tipline_jobs_failed",
            "tipline_queue_depth", "tipline_jobs_total"} <= asked_for(rules)


def test_no_metric_uses_the_labels_prometheus_gives_each_target(exposition: str) -> None:
    """A metric labelled `job` or `instance` would be renamed `exported_job` at scrape, and every
    `by (job)` in a rule or panel would silently group by the scrape target instead."""
    clashes = {(family.name, label) for family in text_string_to_metric_families(exposition)
               for sample in family.samples for label in sample.labels if label in ("job", "instance")}
    assert clashes == set()

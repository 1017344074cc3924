"""The deploy bundle runs what the project ships: every process command is a real `tipline` command,
the health check asks a route the app serves, and the Elastic Beanstalk bundle holds what the
platform needs (Procfile, requirements, .ebextensions, executable hooks) besides the project."""

from __future__ import annotations

import configparser
import shlex
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _procfile(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict((part.strip() for part in line.split(":", 1)) for line in lines)  # type: ignore[misc]


def _runs_tipline(command: str) -> None:
    words = shlex.split(command)
    assert Path(words[0]).name == "tipline", command
    build_parser().parse_args(words[1:])  # exits (SystemExit) on an unknown command


def test_procfiles_run_web_worker_and_scheduler_commands_that_exist() -> None:
    eb = _procfile(DEPLOY / "eb" / "Procfile")
    assert list(eb) == ["web", "worker", "scheduler"]
    assert eb == _procfile(ROOT / "Procfile")
    for command in eb.values():
        _runs_tipline(command)


def test_systemd_units_run_tipline_commands_with_the_settings_file() -> None:
    for name in ("tipline-web.service", "tipline-worker@.service", "tipline-scheduler.service"):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str  # type: ignore[assignment,method-assign]
        unit.read(DEPLOY / "systemd" / name)
        service = unit["Service"]
        _runs_tipline(service["ExecStart"])
        assert service["EnvironmentFile"] == "/etc/tipline/tipline.env"
        assert service["User"] == "tipline"
        assert service["ReadWritePaths"] == "/var/lib/tipline"


def test_elastic_beanstalk_settings_check_healthz_and_run_production_mode() -> None:
    config = yaml.safe_load((DEPLOY / "eb" / ".ebextensions" / "01-tipline.config").read_text())
    options = config["option_settings"]
    assert options["aws:elasticbeanstalk:environment:process:default"]["HealthCheckPath"] == "/healthz"
    assert options["aws:elasticbeanstalk:application"]["Application Healthcheck URL"] == "/healthz"
    environment = options["aws:elasticbeanstalk:application:environment"]
    assert environment["TIPLINE_ENV"] == "production"
    assert environment["PORT"] == "8000"
    assert not {"SESSION_KEY", "PSEUDONYM_KEY", "TWILIO_AUTH_TOKEN"} & set(environment), "secrets in the bundle"


def test_redis_settings_turn_on_aof_everysec() -> None:
    lines = {line.split()[0]: line.split()[1:] for line in (DEPLOY / "redis" / "tipline-redis.conf").read_text()
             .splitlines() if line.strip() and not line.startswith("#")}
    assert lines["appendonly"] == ["yes"]
    assert lines["appendfsync"] == ["everysec"]
    assert lines["maxmemory-policy"] == ["noeviction"]


def test_bundle_holds_the_project_and_the_platform_files(tmp_path: Path) -> None:
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.fail("the bundle is built from git; run the tests in a git checkout")
    out = tmp_path / "bundle.zip"
    done = subprocess.run([str(DEPLOY / "eb" / "bundle.sh"), str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as bundle:
        names = set(bundle.namelist())
        hook = bundle.getinfo(".platform/hooks/postdeploy/01-doctor.sh")
        procfile = bundle.read("Procfile").decode()
    for needed in ("Procfile", "requirements.txt", "constraints.txt", "pyproject.toml", "RELEASE",
                   ".ebextensions/01-tipline.config", "bot/cli.py", "flows/report.yaml"):
        assert needed in names, needed
    assert not any(name.startswith(("tests/", "bench/", ".venv/", "var/")) for name in names), "only what runs"
    assert hook.external_attr >> 16 & stat.S_IXUSR, "the hook must stay executable in the bundle"
    assert procfile == (DEPLOY / "eb" / "Procfile").read_text()

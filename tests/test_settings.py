"""Settings: one-line errors for bad values; production refuses unsafe defaults; dev fills its own."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.dev import ensure_dev_settings
from config.settings import SettingsError, load_settings
from tests.conftest import ROOT

KEY = base64.b64encode(os.urandom(32)).decode()


def production_env(**changes: str) -> dict[str, str]:
    env = {
        "TIPLINE_ENV": "production",
        "PUBLIC_BASE_URL": "https://tips.example.org",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "PSEUDONYM_KEY": KEY,
        "SESSION_KEY": KEY,
        "ANALYST_PUBLIC_KEYS": "tipline-pk:" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
        "CHANNELS": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "x" * 32,
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v != ""}


def test_a_complete_production_configuration_loads() -> None:
    settings = load_settings(production_env())
    assert settings.production and settings.channels == ("twilio",)
    local = load_settings(production_env(TELEGRAM_API_BASE="http://127.0.0.1:8081"))  # a local Bot API server
    assert local.telegram_api_base == "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"REDIS_URL": ""}, "REDIS_URL is required"),
        ({"PSEUDONYM_KEY": ""}, "PSEUDONYM_KEY is required"),
        ({"SESSION_KEY": ""}, "SESSION_KEY is required"),
        ({"ANALYST_PUBLIC_KEYS": ""}, "ANALYST_PUBLIC_KEYS is required"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL is required"),
        ({"PUBLIC_BASE_URL": "http://tips.example.org"}, "https"),
        ({"CHANNELS": "simulator,twilio"}, "simulator"),
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
        ({"CHANNELS": "telegram", "TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_WEBHOOK_SECRET": "short"},
         "TELEGRAM_WEBHOOK_SECRET"),
        ({"TELEGRAM_API_BASE": "http://bot-api.example.org"}, "TELEGRAM_API_BASE must use https"),
        ({"TWILIO_API_BASE": "http://api.twilio.com"}, "TWILIO_API_BASE must use https"),
    ],
)
def test_production_refuses_unsafe_defaults(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(production_env(**changes))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a whole number"),
        ({"SESSION_KEY": "not base64!"}, "SESSION_KEY must be 32 bytes in base64"),
        ({"PSEUDONYM_KEY": base64.b64encode(b"short").decode()}, "PSEUDONYM_KEY must be 32 bytes"),
        ({"TIPLINE_ENV": "staging"}, "TIPLINE_ENV must be"),
        ({"SESSION_TTL": "5"}, "SESSION_TTL must be at least"),
        ({"ANALYST_WEBHOOK_URL": "https://cases.example.org/hook"}, "ANALYST_WEBHOOK_SECRET"),
        ({"ANALYST_WEBHOOK_URL": "ftp://cases", "ANALYST_WEBHOOK_SECRET": "s" * 20}, "ANALYST_WEBHOOK_URL must start"),
        ({"TELEGRAM_API_BASE": "api.telegram.org"}, "TELEGRAM_API_BASE must be http"),
        ({"TWILIO_API_BASE": "https://api.twilio.com?x=1"}, "TWILIO_API_BASE must be http"),
    ],
)
def test_malformed_settings_are_one_line_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(env)
    assert "\n" not in str(caught.value)


def test_dev_mode_generates_its_secrets_and_key_pair_once(tmp_path: Path) -> None:
    env = {"TIPLINE_VAR_DIR": str(tmp_path)}
    first = ensure_dev_settings(load_settings(env))
    second = ensure_dev_settings(load_settings(env))
    assert len(first.session_key) == 32 and first.session_key == second.session_key
    assert first.analyst_public_keys == second.analyst_public_keys and first.analyst_public_keys
    assert (tmp_path / "dev-analyst-key.json").stat().st_mode & 0o077 == 0
    assert any("dev analyst key pair" in note for note in first.dev_notes)


@pytest.mark.slow
def test_the_cli_reports_a_configuration_error_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, **production_env(REDIS_URL=""), "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "tipline: configuration error: REDIS_URL is required in production (the embedded Redis is for dev only)"
    )

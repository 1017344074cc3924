"""Sealed reports and keys for follow-up tests: a report filed the way workers file them."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from nacl.public import PrivateKey

from bot.queue import make_queue
from secure_store.backends import Store
from secure_store.filing import file_report
from secure_store.keys import encode_public, parse_public_key
from secure_store.report import SCHEMA_ID, now_iso
from tests.conftest import recover_abandoned_jobs, run_burst_worker
from tests.doubles.telegram_api import TelegramApiDouble
from tests.doubles.twilio_api import TwilioApiDouble
from tests.test_adapter_telegram import SECRET as TELEGRAM_SECRET
from tests.test_adapter_telegram import TOKEN as TELEGRAM_TOKEN
from tests.test_adapter_telegram import telegram_api
from tests.test_adapter_twilio import ACCOUNT_SID, AUTH_TOKEN, PUBLIC, twilio_api


@dataclass(frozen=True)
class FollowUpKeys:
    private: PrivateKey

    @property
    def env(self) -> str:
        """The worker setting `FOLLOWUP_PRIVATE_KEY`."""
        return base64.b64encode(bytes(self.private)).decode()

    @property
    def public(self) -> str:
        """What analysts set as `FOLLOWUP_PUBLIC_KEY`."""
        return encode_public(self.private.public_key)


def new_followup_keys() -> FollowUpKeys:
    return FollowUpKeys(PrivateKey.generate())


def filed_report(store: Store, analyst_public: str, follow_up: dict[str, str] | None,
                 language: str = "en", submitted_at: str | None = None) -> dict[str, Any]:
    """A complete report sealed into `store` for `analyst_public`, with or without a follow-up address."""
    report = {
        "schema": SCHEMA_ID, "report_id": secrets.token_hex(16), "status": "complete", "urgent": False,
        "channel": follow_up["channel"] if follow_up else "sms", "language": language,
        "started_at": now_iso(), "submitted_at": submitted_at or now_iso(), "filed_at": now_iso(),
        "answers": {"category": "labour", "description": ["Men locked in the bakery basement"]},
        "receipt_hash": None, "follow_up": follow_up, "notes": [], "addendum_to": None, "media": [],
    }
    file_report(store, [parse_public_key(analyst_public)], report)
    return report


# One service with every follow-up channel, for the delivery and end-to-end tests: the Twilio and
# Telegram doubles of the adapters' own tests (same credentials), FOLLOWUP_PRIVATE_KEY for workers.
TEMPLATE_EN = "HX" + secrets.token_hex(16)
"""The approved WhatsApp template (English) the service is configured with."""


@pytest.fixture
def keys() -> FollowUpKeys:
    return new_followup_keys()


@pytest.fixture
def service_env(service_env: dict[str, str], twilio_api: TwilioApiDouble, telegram_api: TelegramApiDouble,
                keys: FollowUpKeys) -> dict[str, str]:
    return {
        **service_env, "CHANNELS": "twilio,telegram", "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_BASE": twilio_api.api_base,
        "TWILIO_MEDIA_HOSTS": f"127.0.0.1:{twilio_api.port},localhost:{twilio_api.port}",
        "TWILIO_SEND_INTERVAL_MS": "0",
        "TWILIO_FOLLOWUP_TEMPLATES": f"en:{TEMPLATE_EN}",
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE": telegram_api.base, "FOLLOWUP_PRIVATE_KEY": keys.env,
    }


def work(service_env: dict[str, str], redis_client: redis.Redis) -> str:
    """A worker runs what is due (scheduled polls and retries now); returns its log."""
    recover_abandoned_jobs(make_queue(redis_client, service_env["QUEUE_NAME"]))
    result = run_burst_worker(service_env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


__all__ = ["TEMPLATE_EN", "keys", "service_env", "telegram_api", "twilio_api", "work"]

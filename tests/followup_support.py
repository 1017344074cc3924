"""Sealed reports and keys for follow-up tests: a report filed the way workers file them."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from nacl.public import PrivateKey

from secure_store.backends import Store
from secure_store.filing import file_report
from secure_store.keys import encode_public, parse_public_key
from secure_store.report import SCHEMA_ID, now_iso


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

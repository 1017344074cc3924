"""Reports as the worker files them (same sealing and filing code), for the workspace's tests and bench."""

from __future__ import annotations

import hashlib
import io
import os
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from secure_store.backends import Store
from secure_store.filing import file_media, file_report
from secure_store.keys import Recipient
from secure_store.report import SCHEMA_ID

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


def wav() -> bytes:
    """A short, silent, valid WAV file (browsers can play it)."""
    frames = b"\x00\x00" * 800
    header = b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(frames))
    return header + frames


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def media_entry(store: Store, team: list[Recipient], kind: str, content_type: str, data: bytes,
                metadata: str = "removed") -> dict[str, Any]:
    media_id = os.urandom(16).hex()
    file_media(store, team, media_id, data)
    return {"id": media_id, "kind": kind, "status": "stored", "object": f"media/{media_id}",
            "content_type": content_type, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "metadata": metadata}


def report(answers: dict[str, Any], *, at: datetime, language: str = "en", channel: str = "whatsapp",
           urgent: bool = False, media: list[dict[str, Any]] | None = None, status: str = "complete",
           addendum_to: str | None = None, follow_up: dict[str, str] | None = None) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "report_id": os.urandom(16).hex(), "status": status, "urgent": urgent,
            "channel": channel, "language": language, "started_at": (at - timedelta(minutes=7)).isoformat(),
            "submitted_at": at.isoformat(), "filed_at": (at + timedelta(seconds=2)).isoformat(),
            "answers": answers, "receipt_hash": None, "follow_up": follow_up, "notes": [],
            "addendum_to": addendum_to, "media": media or []}


def file_samples(store: Store, team: list[Recipient]) -> dict[str, str]:
    """Four reports and one addition over three weeks; returns their ids by role."""
    spanish = report(
        {"consent": True, "category": "labour", "description": ["Hombres durmiendo en el sótano de la panadería"],
         "location": {"latitude": 45.7640, "longitude": 4.8357, "address": "Rue de la Paix 12"},
         "when": "Cada noche desde marzo", "people": "Dos hombres, una furgoneta blanca", "danger": True,
         "follow_up": True},
        at=NOW - timedelta(days=1), language="es", channel="telegram", urgent=True,
        media=[media_entry(store, team, "photo", "image/jpeg", jpeg()),
               media_entry(store, team, "voice", "audio/wav", wav(), metadata="kept")],
        follow_up={"channel": "telegram", "address": "telegram:4815162342"})
    english = report({"consent": True, "category": "sexual", "description": ["A massage parlour open all night"],
                      "location": "Station Road, Leeds", "when": "Last week", "danger": False, "follow_up": False},
                     at=NOW - timedelta(days=9))
    arabic = report({"consent": True, "category": "domestic", "description": ["عاملة منزلية لا تخرج أبدا"],
                     "location": "حي الزهور", "when": "منذ شهر", "danger": False, "follow_up": False},
                    at=NOW - timedelta(days=16), language="ar", channel="sms")
    addition = report({"addition": ["Volvieron con la furgoneta esta mañana"]}, at=NOW - timedelta(hours=3),
                      language="es", channel="telegram", status="addendum", addendum_to=spanish["report_id"],
                      media=[media_entry(store, team, "document", "image/svg+xml", SVG, metadata="kept")])
    for item in (spanish, english, arabic, addition):
        file_report(store, team, item)
    return {"spanish": spanish["report_id"], "english": english["report_id"], "arabic": arabic["report_id"],
            "addition": addition["report_id"]}

"""Reading the store on an analyst's own machine, with their private key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nacl.public import PrivateKey

from secure_store.backends import Store
from secure_store.report import media_name, report_name, validate_report
from secure_store.seal import NotForThisKey, SealError, open_sealed


@dataclass
class Opened:
    report: dict[str, Any] | None
    name: str
    error: str | None = None


def open_report(store: Store, key: PrivateKey, report_id: str) -> dict[str, Any]:
    """Decrypt, verify and validate one report; raises SealError / StoreError with a clear message."""
    kind, plaintext = open_sealed(store.get(report_name(report_id)), key)
    if kind != "report":
        raise SealError(f"object for {report_id} is not a report")
    report: dict[str, Any] = json.loads(plaintext)
    validate_report(report)
    return report


def open_media(store: Store, key: PrivateKey, media_id: str) -> bytes:
    kind, plaintext = open_sealed(store.get(media_name(media_id)), key)
    if kind != "media":
        raise SealError(f"object for media {media_id} is not media")
    return plaintext


def list_reports(store: Store, key: PrivateKey) -> list[Opened]:
    """Every report readable with `key`, newest first; damaged ones are listed with their error."""
    opened: list[Opened] = []
    for name in store.names("reports/"):
        report_id = name.rsplit("/", 1)[-1]
        try:
            opened.append(Opened(open_report(store, key, report_id), report_id))
        except NotForThisKey:
            continue
        except (SealError, ValueError) as exc:
            opened.append(Opened(None, report_id, str(exc)))
    opened.sort(key=lambda o: (o.report or {}).get("submitted_at", ""), reverse=True)
    return opened

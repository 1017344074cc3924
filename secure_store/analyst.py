"""Reading the store on an analyst's own machine, with their private key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from secure_store.backends import Store, StoreError, open_store
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


DEV_STORE = Path("var/store")


def analyst_store_url(store: str | None, env: Mapping[str, str]) -> str:
    """Where an analyst reads from: `--store`, else `STORE_URL`, else the dev run's `./var/store`.

    Analysts need nothing else of the service's settings (no secrets, no Redis, no production checks)."""
    url = (store or env.get("STORE_URL", "")).strip()
    if url:
        return url
    if DEV_STORE.is_dir():
        return f"file://{DEV_STORE}"
    raise StoreError("no store given: pass --store URL or set STORE_URL (file://FOLDER or s3://BUCKET/PREFIX)")


def open_analyst_store(store: str | None, env: Mapping[str, str]) -> tuple[Store, str]:
    """The store an analyst reads (see `analyst_store_url`), with `S3_ENDPOINT_URL` for S3-compatible servers."""
    url = analyst_store_url(store, env)
    return open_store(url, env.get("S3_ENDPOINT_URL", "").strip() or None), url

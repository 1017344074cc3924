"""`tipline keys …` and `tipline reports …`: run on an analyst's own machine, decrypting locally.

Every problem is one line on stderr and a non-zero exit: a wrong key, a missing object, a damaged
or tampered object. Damaged reports are named, never silently skipped.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from config.dev import ensure_dev_settings
from config.settings import load_settings
from secure_store.analyst import Opened, list_reports, open_media, open_report
from secure_store.backends import ObjectMissing, Store, StoreError, open_store
from secure_store.keys import KeyFileError, generate_keypair, load_private_key, write_private_key
from secure_store.report import report_name
from secure_store.seal import NotForThisKey, SealError

EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
    "video/mp4": ".mp4", "video/3gpp": ".3gp", "video/quicktime": ".mov", "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/amr": ".amr", "audio/aac": ".aac",
    "audio/wav": ".wav", "application/pdf": ".pdf",
}
CSV_COLUMNS = ["report_id", "submitted_at", "filed_at", "status", "urgent", "channel", "language",
               "category", "answers", "media", "notes", "addendum_to"]


def _fail(message: str) -> int:
    print(f"tipline: {message}", file=sys.stderr)
    return 1


def keys_command(args: argparse.Namespace) -> int:
    if args.keys_command == "secret":
        print(base64.b64encode(os.urandom(32)).decode())
        return 0
    public, content = generate_keypair()
    try:
        write_private_key(Path(args.out), content)
    except FileExistsError:
        return _fail(f"{args.out} exists; refusing to overwrite a private key")
    print(public)
    print(f"private key written to {args.out} (keep it on this machine; add the public key above "
          "to ANALYST_PUBLIC_KEYS)", file=sys.stderr)
    return 0


def _write_media(store: Store, key: PrivateKey, report: dict[str, Any], media_dir: Path) -> None:
    """Decrypt each stored media item to `<media id><extension>`; a damaged one names its report."""
    media_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for item in report.get("media", []):
        if item.get("status") != "stored":
            continue
        try:
            data = open_media(store, key, item["id"])
        except (SealError, StoreError) as exc:
            raise SealError(f"report {report['report_id']}, media {item['id']}: {exc}") from None
        (media_dir / (item["id"] + EXTENSIONS.get(item.get("content_type", ""), ""))).write_bytes(data)


def _show(store: Store, key: PrivateKey, args: argparse.Namespace) -> int:
    try:
        report = open_report(store, key, args.report_id)
    except NotForThisKey:
        return _fail(f"report {args.report_id} is not sealed to this key (wrong --key?)")
    except ObjectMissing:
        return _fail(f"no report {args.report_id} in the store {report_name(args.report_id)!r}")
    except SealError as exc:
        return _fail(f"report {args.report_id} cannot be trusted: {exc}")
    if args.media_dir:
        _write_media(store, key, report, Path(args.media_dir))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _list(opened: list[Opened]) -> int:
    damaged = 0
    for item in opened:
        if item.report is None:
            damaged += 1
            print(f"{item.name}  DAMAGED: {item.error}")
            continue
        r = item.report
        flag = "URGENT " if r.get("urgent") else ""
        print(f"{r['report_id']}  {r['submitted_at']}  {flag}{r['status']}  {r['channel']}  "
              f"{r['answers'].get('category', '-')}  media={len(r['media'])}")
    if not opened:
        print("tipline: no reports in the store are sealed to this key", file=sys.stderr)
    return 1 if damaged else 0


def _moment(text: str) -> datetime:
    """An ISO date or time; without a zone it is UTC, like every time in a report."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return _moment(text)
    except ValueError:
        raise ValueError(f"--since must be an ISO date like 2025-01-31 or 2025-01-31T12:00:00+00:00, "
                         f"got {text!r}") from None


def _export(store: Store, key: PrivateKey, opened: list[Opened], args: argparse.Namespace) -> int:
    since = _since(args.since)
    reports = [o.report for o in opened if o.report is not None]
    if since:
        reports = [r for r in reports if _moment(r["submitted_at"]) >= since]
    if args.media_dir:
        for report in reports:
            _write_media(store, key, report, Path(args.media_dir))
    if args.format == "jsonl":
        for report in reports:
            print(json.dumps(report, ensure_ascii=False, sort_keys=True))
    else:
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_COLUMNS)
        for r in reports:
            writer.writerow([
                r["report_id"], r["submitted_at"], r["filed_at"], r["status"], r["urgent"], r["channel"],
                r["language"], r["answers"].get("category", ""), json.dumps(r["answers"], ensure_ascii=False),
                ";".join(m["id"] + EXTENSIONS.get(m.get("content_type", ""), "")
                         for m in r["media"] if m["status"] == "stored"),
                " | ".join(r.get("notes", [])), r.get("addendum_to") or "",
            ])
    damaged = [o for o in opened if o.report is None]
    for item in damaged:
        print(f"tipline: report {item.name} not exported: {item.error}", file=sys.stderr)
    return 1 if damaged else 0


def reports_command(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(args.key)
        settings = load_settings()
        if not settings.production:
            settings = ensure_dev_settings(settings)
        store = open_store(settings.store_url, settings.s3_endpoint_url)
        if args.reports_command == "show":
            return _show(store, key, args)
        opened = list_reports(store, key)
        if args.reports_command == "list":
            return _list(opened)
        return _export(store, key, opened, args)
    except (KeyFileError, SealError, StoreError, ValueError) as exc:
        return _fail(str(exc))

"""`tipline keys …` and `tipline reports …`: run on an analyst's own machine."""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

from config.dev import ensure_dev_settings
from config.settings import load_settings
from secure_store.analyst import list_reports, open_media, open_report
from secure_store.backends import StoreError, open_store
from secure_store.keys import KeyError_, generate_keypair, load_private_key, write_private_key
from secure_store.seal import SealError


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


def _write_media(store: Any, key: Any, report: dict[str, Any], media_dir: Path) -> None:
    media_dir.mkdir(parents=True, exist_ok=True)
    for item in report.get("media", []):
        if item.get("status") == "stored":
            (media_dir / item["id"]).write_bytes(open_media(store, key, item["id"]))


def reports_command(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(args.key)
        settings = load_settings()
        if not settings.production:
            settings = ensure_dev_settings(settings)
        store = open_store(settings.store_url, settings.s3_endpoint_url)
        if args.reports_command == "show":
            report = open_report(store, key, args.report_id)
            if args.media_dir:
                _write_media(store, key, report, Path(args.media_dir))
            print(json.dumps(report, indent=2, ensure_ascii=False))
            return 0
        opened = list_reports(store, key)
        if args.reports_command == "list":
            for item in opened:
                if item.report is None:
                    print(f"{item.name}  DAMAGED: {item.error}")
                    continue
                r = item.report
                flag = "URGENT " if r.get("urgent") else ""
                print(f"{r['report_id']}  {r['submitted_at']}  {flag}{r['status']}  {r['channel']}  "
                      f"{r['answers'].get('category', '-')}  media={len(r['media'])}")
            return 0
        reports = [o.report for o in opened if o.report is not None]
        if args.since:
            reports = [r for r in reports if r["submitted_at"] >= args.since]
        if args.media_dir:
            for report in reports:
                _write_media(store, key, report, Path(args.media_dir))
        if args.format == "jsonl":
            for report in reports:
                print(json.dumps(report, ensure_ascii=False, sort_keys=True))
        else:
            writer = csv.writer(sys.stdout)
            writer.writerow(["report_id", "submitted_at", "status", "urgent", "channel", "language",
                             "answers", "media"])
            for r in reports:
                writer.writerow([r["report_id"], r["submitted_at"], r["status"], r["urgent"], r["channel"],
                                 r["language"], json.dumps(r["answers"], ensure_ascii=False),
                                 ";".join(m["id"] for m in r["media"])])
        return 0
    except (KeyError_, SealError, StoreError, ValueError) as exc:
        return _fail(str(exc))

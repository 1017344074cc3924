"""`tipline keys …`, `tipline reports …` and `tipline console`: run on an analyst's own machine,
decrypting locally. They read only the store's address (`--store`, `STORE_URL`, `S3_ENDPOINT_URL`)
and the analyst's key: no service settings, and they never write secrets or keys.

Every problem is one line on stderr and a non-zero exit: a wrong key, a missing object, a damaged
or tampered object. Damaged reports are named, never silently skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from secure_store.analyst import Opened, list_reports, open_analyst_store, open_media, open_report
from secure_store.backends import ObjectMissing, Store, StoreError
from secure_store.console.app import Workspace, refresh_library, start
from secure_store.console.cache import cache_path, default_folder
from secure_store.console.library import Library
from secure_store.console.places import Places, load_places
from secure_store.console.vocabulary import Vocabulary
from secure_store.keys import (
    KeyFileError,
    Recipient,
    encode_public,
    generate_keypair,
    load_private_key,
    parse_public_keys,
    write_private_key,
)
from secure_store.report import EXTENSIONS, report_name
from secure_store.seal import NotForThisKey, SealError

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
        store, _ = open_analyst_store(args.store, os.environ)
        if args.reports_command == "show":
            return _show(store, key, args)
        opened = list_reports(store, key)
        if args.reports_command == "list":
            return _list(opened)
        return _export(store, key, opened, args)
    except (KeyFileError, SealError, StoreError, ValueError) as exc:
        return _fail(str(exc))


COUNTRIES = Path(__file__).resolve().parent.parent / "flows" / "countries"


def flow_vocabulary() -> Vocabulary:
    """English labels of the flow's answers and every language's option texts, from the shipped flow."""
    from flows.locale import load_locales
    from flows.spec import load_flow

    spec, locales = load_flow(), load_locales()
    english = locales["en"].messages
    fields = {step.store: english.get(f"review.field.{step.store}") or step.store.replace("_", " ").capitalize()
              for step in spec.steps.values() if step.store}
    choices = [step for step in spec.steps.values() if step.store and step.kind == "choice"]
    options = {code: {step.store or "": {o: locale.messages.get(f"{step.id}.option.{o}", o) for o in step.options}
                      for step in choices} for code, locale in locales.items()}
    return Vocabulary(fields, options, {code: locale.name for code, locale in locales.items()})


def boundary_places() -> Places | None:
    """World boundaries shipped under flows/countries (world-atlas); the coarser file first, for speed."""
    for name in ("countries-110m.json", "countries-50m.json"):
        if (COUNTRIES / name).exists():
            return load_places(COUNTRIES / name)
    return None


def team_keys(key: PrivateKey, team_file: str | None) -> list[Recipient]:
    """Who triage is sealed to: this analyst, plus `--team FILE` (one public key a line) or ANALYST_PUBLIC_KEYS."""
    texts = [encode_public(key.public_key)]
    if team_file:
        try:
            lines = Path(team_file).read_text().splitlines()
        except OSError as exc:
            raise KeyFileError(f"cannot read the team file {team_file}: {exc.strerror}") from None
        texts += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    else:
        texts += [t for t in os.environ.get("ANALYST_PUBLIC_KEYS", "").split(",") if t.strip()]
    return parse_public_keys(texts)


def open_workspace(key: PrivateKey, store: Store, store_url: str, args: argparse.Namespace) -> Workspace:
    team = team_keys(key, args.team)
    cache_file = None if args.no_cache else cache_path(Path(args.cache_dir) if args.cache_dir else default_folder(),
                                                       key, store_url)
    library = Library(store, key, store_url, team=team, places=boundary_places(), cache_file=cache_file)
    workspace = Workspace(library, flow_vocabulary(), author=args.name or "")
    if len(team) == 1:
        workspace.library.notices.append(
            "triage you record is sealed to your key only: pass --team FILE (the team's public keys) to share it")
    return workspace


async def _serve(workspace: Workspace, port: int) -> None:
    runner = await start(workspace, port)
    try:
        await refresh_library(workspace)
        print(f"tipline console: open {workspace.address()}", flush=True)
        print("(the address works once, in one browser; Ctrl-C stops the workspace)", file=sys.stderr, flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def console_command(args: argparse.Namespace) -> int:
    """`tipline console`: the local workspace at 127.0.0.1 until Ctrl-C."""
    try:
        key = load_private_key(args.key)
        store, store_url = open_analyst_store(args.store, os.environ)
        workspace = open_workspace(key, store, store_url, args)
    except (KeyFileError, StoreError, ValueError) as exc:
        return _fail(str(exc))
    try:
        asyncio.run(_serve(workspace, args.port))
    except OSError as exc:
        return _fail(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}")
    return 0

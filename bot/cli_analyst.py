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
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from bot.console_followup import followup_routes, followup_section
from secure_store.analyst import open_analyst_store, open_media, open_report
from secure_store.backends import ObjectMissing, Store, StoreError
from secure_store.console.app import Workspace, refresh_library, start
from secure_store.console.cache import cache_path, default_folder
from secure_store.console.export import csv_lines, file_name, jsonl_lines
from secure_store.console.inbox import Filters, inbox
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
from secure_store.report import report_name
from secure_store.seal import NotForThisKey, SealError


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
        (media_dir / file_name(item)).write_bytes(data)


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


def _reading(store: Store, key: PrivateKey, store_url: str, args: argparse.Namespace) -> Library:
    """Every report this key opens, additions linked to their report, through the same sealed cache
    as `tipline console` (only what is new is fetched and decrypted)."""
    own = parse_public_keys([encode_public(key.public_key)])
    library = Library(store, key, store_url, team=own, places=boundary_places(),
                      cache_file=_cache_file(key, store_url, args))
    for notice in library.notices:
        print(f"tipline: {notice}", file=sys.stderr)
    library.refresh()
    return library


def _cache_file(key: PrivateKey, store_url: str, args: argparse.Namespace) -> Path | None:
    if args.no_cache:
        return None
    return cache_path(Path(args.cache_dir) if args.cache_dir else default_folder(), key, store_url)


def _list(library: Library) -> int:
    """Newest first; each report's additions below it; damaged objects named (exit 1)."""
    entries = inbox(library, Filters(sort="newest"))
    for entry in entries:
        if entry.report is None:
            print(f"{entry.report_id}  DAMAGED: {entry.error}")
            continue
        r = entry.report
        flag = "URGENT " if r.get("urgent") else ""
        orphan = f"  addition to {entry.addendum_to} (not readable with this key)" if entry.addendum_to else ""
        print(f"{r['report_id']}  {r['submitted_at']}  {flag}{r['status']}  {r['channel']}  "
              f"{r['answers'].get('category', '-')}  media={len(r['media'])}{orphan}")
        for addition in (library.entries[a] for a in entry.additions):
            print(f"  + addition {addition.report_id}  {addition.submitted}  "
                  f"media={len((addition.report or {}).get('media', []))}")
    if not entries:
        print("tipline: no reports in the store are sealed to this key", file=sys.stderr)
    return 1 if any(e.report is None for e in entries) else 0


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


def _export(library: Library, args: argparse.Namespace) -> int:
    """The workspace's export (CSV: a column per answer, follow-up, additions, triage, files with sha256;
    or JSONL), of every report or those submitted since `--since`; media to `--media-dir` by the names
    the export lists."""
    since = _since(args.since)
    entries = inbox(library, Filters(sort="newest"))
    damaged = [e for e in entries if e.report is None]
    entries = [e for e in entries if e.report is not None and (not since or _moment(e.submitted) >= since)]
    if args.media_dir:
        for entry in entries:
            for item in (entry, *(library.entries[a] for a in entry.additions)):
                _write_media(library.store, library.key, item.report or {}, Path(args.media_dir))
    lines = (csv_lines(entries, library, flow_vocabulary(), args.with_follow_up) if args.format == "csv"
             else jsonl_lines(entries, library, args.with_follow_up))
    for line in lines:
        sys.stdout.write(line)
    for entry in damaged:
        print(f"tipline: report {entry.report_id} not exported: {entry.error}", file=sys.stderr)
    return 1 if damaged else 0


def reports_command(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(args.key)
        store, store_url = open_analyst_store(args.store, os.environ)
        if args.reports_command == "show":
            return _show(store, key, args)
        library = _reading(store, key, store_url, args)
        if args.reports_command == "list":
            return _list(library)
        return _export(library, args)
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
    """The world borders the flow ships (flows/countries, world-atlas 1:50m), read from the same file."""
    path = COUNTRIES / "countries-50m.json"
    return load_places(path) if path.exists() else None


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
    followup_key = os.environ.get("FOLLOWUP_PUBLIC_KEY", "").strip()
    at = next((i for i, section in enumerate(workspace.sections) if section.name == "triage"), len(workspace.sections))
    workspace.sections.insert(at, followup_section(followup_key))
    workspace.routes.extend(followup_routes(followup_key))
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

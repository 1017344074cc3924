"""`tipline reports ask|thread` and `tipline keys generate-followup`: follow-up questions from an
analyst's own machine. Needs only the store (`STORE_URL`, `S3_ENDPOINT_URL`), the analyst's key file
and the follow-up public key (`FOLLOWUP_PUBLIC_KEY` or `--followup-key`); never the service's secrets.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from typing import Any

from nacl.public import PrivateKey

from flows.followup import question_text, tidy, too_long_for
from flows.locale import load_locales
from secure_store.analyst import list_reports, open_analyst_store, open_report
from secure_store.backends import ObjectMissing, Store, StoreError
from secure_store.followup import (
    MAX_QUESTION_CHARS,
    QuestionRefused,
    Request,
    follow_up_of,
    open_records,
    pending_requests,
    request_name,
    seal_request,
)
from secure_store.keys import KeyFileError, encode_public, load_private_key, parse_public_key
from secure_store.report import now_iso
from secure_store.seal import NotForThisKey, SealError


def _fail(message: str) -> int:
    print(f"tipline: {message}", file=sys.stderr)
    return 1


def generate_followup_keys() -> int:
    """Print a new follow-up key pair: the private half for the workers, the public for analysts."""
    private = PrivateKey.generate()
    print(f"FOLLOWUP_PRIVATE_KEY={base64.b64encode(bytes(private)).decode()}")
    print(f"FOLLOWUP_PUBLIC_KEY={encode_public(private.public_key)}")
    print("Put FOLLOWUP_PRIVATE_KEY in the workers' environment only (a secret); give FOLLOWUP_PUBLIC_KEY to "
          "analysts for `tipline reports ask`.", file=sys.stderr)
    return 0


def build_request(report: dict[str, Any], question: str) -> Request:
    """The request for `question` on `report`, or `QuestionRefused` saying why it cannot be asked."""
    follow_up = follow_up_of(report)
    question = tidy(question)
    if not question:
        raise QuestionRefused("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionRefused(f"the question is too long ({len(question)} characters, at most {MAX_QUESTION_CHARS})")
    locales = load_locales()
    locale = locales.get(report["language"]) or locales["en"]
    reported_at = str(report["submitted_at"])
    problem = too_long_for(follow_up["channel"], question_text(locale, reported_at[:10], question))
    if problem:
        raise QuestionRefused(problem)
    return Request(request_id=secrets.token_hex(16), report_id=report["report_id"], question=question,
                   asked_at=now_iso(), language=locale.language, reported_at=reported_at,
                   channel=follow_up["channel"], adapter=follow_up["adapter"], address=follow_up["address"])


def ask(store: Store, key: PrivateKey, followup_key: str, report_id: str, question: str) -> Request:
    """Seal a question for the workers into the store; raises `QuestionRefused` or a store/seal error."""
    recipient = parse_public_key(followup_key)
    report = open_report(store, key, report_id)
    request = build_request(report, question)
    store.put_once(request_name(request.request_id), seal_request(request, key, recipient.public_key))
    return request


def _ask(store: Store, key: PrivateKey, args: argparse.Namespace) -> int:
    followup_key = (args.followup_key or os.environ.get("FOLLOWUP_PUBLIC_KEY", "")).strip()
    if not followup_key:
        return _fail("FOLLOWUP_PUBLIC_KEY is not set: ask your operator for the follow-up public key "
                     "(from `tipline keys generate-followup`) and set it, or pass --followup-key")
    try:
        request = ask(store, key, followup_key, args.report_id, args.question)
    except QuestionRefused as exc:
        return _fail(f"question not sent: {exc}")
    print(f"question {request.request_id} on report {request.report_id} is waiting for a worker "
          f"(usually under a minute); see `tipline reports thread {request.report_id}`")
    return 0


def thread(store: Store, key: PrivateKey, report_id: str,
           additions: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The report's follow-up, oldest first: questions (with what became of them) and answers.
    `additions` are the report's additions when the caller has them open (else the store is read)."""
    entries: list[dict[str, Any]] = []
    for entry in open_records(store, key):
        if "damaged" in entry:
            entries.append({"at": "", "kind": "damaged", "text": entry["damaged"], "id": entry["request_id"]})
        elif entry.get("report_id") == report_id:
            entries.append({"at": entry["asked_at"], "kind": "question", "id": entry["request_id"],
                            "text": entry["question"], "status": entry["status"], "reason": entry.get("reason")})
    for request in pending_requests(store, key):
        if request.report_id == report_id:
            entries.append({"at": request.asked_at, "kind": "question", "id": request.request_id,
                            "text": request.question, "status": "waiting", "reason": None})
    if additions is None:
        additions = [o.report for o in list_reports(store, key) if o.report is not None]
    for addition in additions:
        if addition.get("addendum_to") == report_id and addition.get("question_id"):
            entries.append({"at": addition["submitted_at"], "kind": "answer", "id": addition["report_id"],
                            "question_id": addition["question_id"], "notes": addition.get("notes", []),
                            "text": "\n".join(addition["answers"].get("answer", [])),
                            "media": len(addition.get("media", []))})
    return sorted(entries, key=lambda entry: str(entry["at"]))


def _thread(store: Store, key: PrivateKey, args: argparse.Namespace) -> int:
    open_report(store, key, args.report_id)  # a clear error for a wrong id or key
    entries = thread(store, key, args.report_id)
    if not entries:
        print(f"no questions on report {args.report_id} yet")
    for entry in entries:
        if entry["kind"] == "question":
            outcome = entry["status"].replace("_", " ") + (f": {entry['reason']}" if entry.get("reason") else "")
            print(f"{entry['at']}  QUESTION {entry['id']}  [{outcome}]\n  {entry['text']}")
        elif entry["kind"] == "answer":
            extra = f"  (+{entry['media']} file(s))" if entry["media"] else ""
            notes = "".join(f"\n  note: {note}" for note in entry["notes"])
            print(f"{entry['at']}  ANSWER {entry['id']}{extra}\n  {entry['text'] or '-'}{notes}")
        else:
            print(f"DAMAGED follow-up record {entry['id']}: {entry['text']}")
    return 0


def followup_command(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(args.key)
        store, _ = open_analyst_store(args.store, os.environ)
        if args.reports_command == "ask":
            return _ask(store, key, args)
        return _thread(store, key, args)
    except NotForThisKey:
        return _fail(f"report {args.report_id} is not sealed to this key (wrong --key?)")
    except ObjectMissing:
        return _fail(f"no report {args.report_id} in the store")
    except (KeyFileError, SealError, StoreError, ValueError) as exc:
        return _fail(str(exc))

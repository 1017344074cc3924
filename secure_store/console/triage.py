"""Triage: status, notes, tags and who did what, as sealed, write-once event objects in the store.

Each change is one object `triage/<report id>/<time>-<random>`, sealed to every analyst key of the
team (so they share it, and the service, holding no private key, cannot read it). The state of a
report is its events folded in time order; the events themselves are its history.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config.errors import Refused
from secure_store.backends import Store
from secure_store.keys import Recipient
from secure_store.seal import SealError, seal

PREFIX = "triage/"
KIND = "triage"
STATUSES = ("new", "in review", "referred", "closed")
ACTIONS = ("status", "note", "tag", "untag", "revealed follow-up", "exported follow-up")
MAX_TEXT = 4000


class TriageError(Refused, ValueError):
    """A triage change is malformed (unknown status or action, empty or overlong text)."""


@dataclass
class Triage:
    """What the team has decided about one report so far."""

    status: str = "new"
    tags: list[str] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)


def event(report_id: str, by: str, action: str, value: str = "") -> dict[str, Any]:
    """A checked triage event, stamped now; raises TriageError for anything a user must fix."""
    value = value.strip()
    if action not in ACTIONS:
        raise TriageError(f"unknown triage action {action!r}")
    if action == "status" and value not in STATUSES:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}")
    if action in ("note", "tag", "untag") and not value:
        raise TriageError(f"a {action} needs some text")
    if len(value) > MAX_TEXT or (action in ("tag", "untag") and len(value) > 60):
        raise TriageError(f"that {action} is too long")
    return {"v": 1, "report_id": report_id, "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "by": by, "action": action, "value": value}


def event_name(item: dict[str, Any]) -> str:
    stamp = datetime.fromisoformat(item["at"]).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{PREFIX}{item['report_id']}/{stamp}-{os.urandom(6).hex()}"


def write(store: Store, team: list[Recipient], item: dict[str, Any]) -> str:
    """Seal one event to the whole team and store it; returns its object name."""
    name = event_name(item)
    payload = json.dumps(item, ensure_ascii=False, sort_keys=True).encode()
    store.put_once(name, seal(payload, team, KIND))
    return name


def parse(plaintext: bytes, name: str) -> dict[str, Any]:
    """An opened event, checked against its object name (an event moved to another report is damage)."""
    try:
        item = json.loads(plaintext)
    except ValueError:
        raise SealError("triage event is not JSON") from None
    if not isinstance(item, dict) or item.get("action") not in ACTIONS or not isinstance(item.get("at"), str):
        raise SealError("triage event is malformed")
    if name.split("/")[1:2] != [item.get("report_id")]:
        raise SealError("triage event belongs to another report")
    return item


def report_of(name: str) -> str:
    return name.split("/")[1] if name.count("/") >= 2 else ""


def fold(events: list[dict[str, Any]]) -> Triage:
    """The state after applying events in time order (ties by author, then value: same on every machine)."""
    state = Triage()
    for item in sorted(events, key=lambda e: (e["at"], e.get("by", ""), e.get("value", ""))):
        state.history.append(item)
        action, value = item["action"], item.get("value", "")
        if action == "status":
            state.status = value
        elif action == "note":
            state.notes.append(item)
        elif action == "tag" and value not in state.tags:
            state.tags.append(value)
        elif action == "untag" and value in state.tags:
            state.tags.remove(value)
    return state

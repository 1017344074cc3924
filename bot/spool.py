"""Messages the web process could not handle yet, kept on disk and handled later, in order.

A message whose conversation stays locked past `LOCK_WAIT_SECONDS` (another process is slow with it),
or that meets Redis still down after `REDIS_RETRY_SECONDS` (a long restart), is not answered 500:
Twilio does not retry a failed webhook (the message would be lost) and Telegram would hold the bot's
other updates back while it retries. It is kept here instead, sealed with `SESSION_KEY`, the provider
is answered 200 with nothing to say, and this process handles it as soon as it can, then sends the
replies through the channel's API (a worker sends them if the provider is down then).

Order: a conversation with messages kept here has its next messages kept too, behind them, and they
are handled one at a time in arrival order. Each web process keeps its own folder
(`TIPLINE_VAR_DIR/spool/<port>`, which must survive a restart of the process); messages of one
conversation kept by two processes during the same outage may be handled in either order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis.exceptions import ConnectionError, LockError, TimeoutError

from adapters.base import Inbound, Location, MediaRef, Reply

log = logging.getLogger("tipline.spool")

NOT_NOW = (LockError, ConnectionError, TimeoutError)
"""What makes a message wait for later: its conversation stays locked, or Redis stays unreachable."""

REPLAY_SECONDS = 0.5
"""How often the web process tries the kept messages again."""

_KEPT, _FAILED = ".msg", ".failed"


def _to_dict(message: Inbound) -> dict[str, Any]:
    data = asdict(message)
    data["media"] = [ref.to_dict() for ref in message.media]
    return data


def _from_dict(data: dict[str, Any]) -> Inbound:
    location = data.get("location")
    return Inbound(**{
        **data,
        "media": tuple(MediaRef.from_dict(ref) for ref in data.get("media") or ()),
        "location": Location(**location) if location else None,
        "provider_message_ids": tuple(data.get("provider_message_ids") or ()),
    })


class Spool:
    """The kept messages of one web process: files named `<arrival ns>-<pseudonym>-<random>.msg`."""

    def __init__(self, folder: Path, session_key: bytes) -> None:
        self.folder = folder
        self.box = SecretBox(session_key)
        self.waiting: frozenset[str] = frozenset()
        """Pseudonyms with messages kept (kept current by `keep` and `pending`)."""
        self._listing = threading.Lock()

    def keep(self, who: str, message: Inbound) -> None:
        """Write the message durably (written, synced, then renamed into place)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{time.time_ns():020d}-{who}-{secrets.token_hex(4)}"
        temporary = self.folder / f".{name}.tmp"
        sealed = self.box.encrypt(json.dumps(_to_dict(message), separators=(",", ":")).encode())
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, sealed)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        with self._listing:  # a listing under way must not forget it
            os.rename(temporary, self.folder / f"{name}{_KEPT}")
            self.waiting = self.waiting | {who}

    def pending(self) -> list[Path]:
        """Kept messages in arrival order (one left half-handled by a crash is handled again: the
        engine's de-duplication makes that harmless, though its replies may then not be sent)."""
        with self._listing:
            if not self.folder.is_dir():
                self.waiting = frozenset()
                return []
            paths = sorted((p for p in self.folder.iterdir() if p.suffix == _KEPT), key=lambda p: p.stem)
            self.waiting = frozenset(who_of(p) for p in paths)
            return paths

    def read(self, path: Path) -> Inbound | None:
        """The message, or None for a file that is not one of ours (set aside, logged)."""
        try:
            return _from_dict(json.loads(self.box.decrypt(path.read_bytes())))
        except (CryptoError, ValueError, TypeError, KeyError):
            log.error("a kept message could not be read; set aside as %s", path.with_suffix(_FAILED).name)
            self.set_aside(path)
            return None

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def set_aside(self, path: Path) -> None:
        """Keep a message the engine fails on (a bug) as `.failed`, so the ones behind it go on."""
        path.rename(path.with_suffix(_FAILED))


def who_of(path: Path) -> str:
    return path.stem.split("-")[1]


Handle = Callable[[Inbound], Awaitable[list[Reply]]]
Deliver = Callable[[str, Inbound, list[Reply]], Awaitable[None]]


async def replay(spool: Spool, handle: Handle, deliver: Deliver) -> int:
    """Handle what can be handled now, in arrival order; a conversation still locked (or Redis
    still down) keeps its messages for the next try. Returns how many were handled."""
    handled = 0
    stuck: set[str] = set()
    for path in await asyncio.to_thread(spool.pending):
        who = who_of(path)
        if who in stuck:
            continue
        message = await asyncio.to_thread(spool.read, path)
        if message is None:
            continue
        try:
            replies = await handle(message)
        except NOT_NOW:
            stuck.add(who)
            continue
        except Exception as exc:
            log.error("a kept message failed (%s); set aside as %s", type(exc).__name__,
                      path.with_suffix(_FAILED).name)
            await asyncio.to_thread(spool.set_aside, path)
            continue
        await asyncio.to_thread(spool.done, path)
        handled += 1
        await deliver(who, message, replies)
    if handled:
        log.info("%d kept message(s) handled", handled)
    await asyncio.to_thread(spool.pending)
    return handled


async def replay_forever(spool: Spool, handle: Handle, deliver: Deliver, every: float = REPLAY_SECONDS) -> None:
    while True:
        try:
            await replay(spool, handle, deliver)
        except Exception as exc:  # a bug must not stop the others from being handled later
            log.error("kept messages not handled this time (%s)", type(exc).__name__)
        await asyncio.sleep(every)

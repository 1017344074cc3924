"""The sessions a web process saved last, in clear, for a short while: so the next message of the same
conversation, if it comes to this process while Redis still holds that very value, skips decrypting and
decompressing it (~25 us, a twentieth of a message's CPU; bot/sessions.py `SessionStore.opened`).

An entry is named by the nonce of the sealed value it was saved as: random for every save, so another
process's save (or an old release's, or a worker's) never matches. Bounded in time (`SECONDS`: a timer
drops stale entries even when no message comes) and in bytes (`MAX_BYTES`; a session larger than
`MAX_ENTRY_BYTES` is not kept). This process holds the key to every session anyway; the bounds keep
what a core dump or swap could hold in clear to a few minutes of the conversations it served.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass

SECONDS = 120.0
MAX_BYTES = 8 << 20
MAX_ENTRY_BYTES = 64 << 10


@dataclass
class Recent:
    """A session as this process last saved it: the nonce of its sealed value in Redis, and its plaintext."""

    nonce: bytes
    plaintext: bytes
    at: float


class RecentSessions:
    """Entries by pseudonym, oldest first. Not thread-safe: one per event loop's `SessionStore`."""

    def __init__(self) -> None:
        self._entries: collections.OrderedDict[str, Recent] = collections.OrderedDict()
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def take(self, who: str) -> Recent | None:
        """`who`'s entry, taken out (its message owns the session now), if still fresh."""
        self.purge()
        return self._drop(who)

    def keep(self, who: str, nonce: bytes, plaintext: bytes) -> None:
        """Remember what was just saved for `who` (replacing what was kept), within the bounds."""
        self._drop(who)
        if len(plaintext) > MAX_ENTRY_BYTES:
            return
        self._entries[who] = Recent(nonce, plaintext, time.monotonic())
        self._bytes += len(plaintext)
        while self._bytes > MAX_BYTES:
            self._drop(next(iter(self._entries)))
        self._purge_later()

    def forget(self, who: str) -> None:
        self._drop(who)

    def purge(self) -> None:
        """Drop every entry older than `SECONDS`."""
        stale = time.monotonic() - SECONDS
        while self._entries and next(iter(self._entries.values())).at < stale:
            self._drop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, who: str) -> Recent | None:
        recent = self._entries.pop(who, None)
        if recent is not None:
            self._bytes -= len(recent.plaintext)
        return recent

    def _purge_later(self) -> None:
        """A timer (one at a time) that purges when the oldest entry goes stale, while any is kept."""
        loop = asyncio.get_running_loop()
        if self._timer is not None and self._timer_loop is loop:
            return
        oldest = next(iter(self._entries.values()), None)
        if oldest is None:
            return
        self._timer_loop = loop
        self._timer = loop.call_later(max(0.0, oldest.at + SECONDS - time.monotonic()) + 0.01, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.purge()
        if self._entries:
            self._purge_later()

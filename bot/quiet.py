"""Quiet conversations: when a reporter stops writing, one reminder, then the draft expires.

Every live conversation sits in one sorted set (the quiet index, bot/keys.py) scored by when it
next needs a look; the engine updates it in the same transaction that saves the session
(`QuietTimer.check_at`). One self-renewing job, the sweeper (`Job.QUIET_SWEEP`, every
`QUIET_SWEEP_SECONDS`), looks at the conversations that are due (`sweep`). A single chain runs at
a time: it holds a claim naming its next job, and a job that finds another name there stops. If
the chain dies, the claim expires and the next message starts one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.constants import SWEEP_BATCH, SWEEPER_CLAIM_SECONDS
from bot.drafts import discarded_draft, report_draft, worth_filing
from bot.jobs import Enqueue, Job
from bot.sessions import Session, SessionStore
from flows.spec import FlowSpec

log = logging.getLogger("tipline.reminders")

Remind = Callable[[Session], Awaitable[None]]
"""Send the reporter of a session the reminder (a courtesy: failures are the sender's to log)."""


class QuietTimer:
    """The engine's side: when a conversation next needs a look, and starting the sweeper that looks."""

    def __init__(self, enqueue: Enqueue, reminder_after: int, draft_expiry: int) -> None:
        self.enqueue = enqueue
        self.reminder_after = reminder_after
        self.draft_expiry = draft_expiry

    def check_at(self, last_message_at: float) -> float:
        """The time the conversation should be looked at if nothing more arrives."""
        return last_message_at + (self.reminder_after or self.draft_expiry)

    def start_sweeper(self, token: str) -> None:
        """Run the first sweep of chain `token` now; each sweep schedules the next one itself."""
        schedule_sweep(self.enqueue, token)


def schedule_sweep(enqueue: Enqueue, token: str, delay: int = 0) -> None:
    """Put the sweep of chain `token` on the queue, now or in `delay` seconds."""
    enqueue(Job.QUIET_SWEEP, token, f"quiet-sweep-{token}", delay)


@dataclass(frozen=True)
class QuietPolicy:
    """What happens to a quiet conversation: settings REMINDER_AFTER (0: no reminder), DRAFT_EXPIRY,
    EXPIRY_POLICY ("file" what the reporter told us as incomplete, or "discard" it), QUIET_SWEEP_SECONDS."""

    reminder_after: int
    draft_expiry: int
    expiry_policy: str
    sweep_every: int
    spec: FlowSpec
    session_key: bytes
    enqueue: Enqueue


async def sweep(sessions: SessionStore, token: str, policy: QuietPolicy, remind: Remind) -> str:
    """One sweep of chain `token`: remind or expire the conversations that are due, then schedule
    the next sweep. A sweep of a replaced chain does nothing."""
    if await sessions.sweeper_holder() != token:
        return "stale chain"
    outcomes = await look_at_quiet(sessions, time.time(), policy, remind)
    following = secrets.token_hex(8)
    await sessions.pass_sweeper(following, policy.sweep_every + SWEEPER_CLAIM_SECONDS)
    await asyncio.to_thread(schedule_sweep, policy.enqueue, following, policy.sweep_every)
    return f"looked at {len(outcomes)}: " + ", ".join(f"{o}={outcomes.count(o)}" for o in sorted(set(outcomes)))


async def look_at_quiet(sessions: SessionStore, now: float, policy: QuietPolicy, remind: Remind) -> list[str]:
    """Remind or expire the conversations due by `now` (wall-clock seconds: tests pass a time
    instead of waiting for it); one outcome each."""
    due = await sessions.due(now, SWEEP_BATCH)
    return [await look(sessions, who, policy, remind, now) for who in due]


async def look(sessions: SessionStore, who: str, policy: QuietPolicy, remind: Remind, now: float) -> str:
    """Remind once per quiet spell, expire at the end of it; otherwise just re-index."""
    async with sessions.lock(who):
        session = await sessions.load(who)
        if session is None:
            await sessions.unindex(who)
            return "gone"
        last = session.last_message_at
        quiet_for = now - last
        if quiet_for >= policy.draft_expiry:
            await asyncio.to_thread(expire, session, policy)
            await sessions.end(who)
            return "expired"
        reminded = session.reminded_at == session.messages
        if policy.reminder_after and quiet_for >= policy.reminder_after and not reminded:
            await remind(session)
            session.reminded_at = session.messages
            await sessions.save(who, session, quiet_check_at=last + policy.draft_expiry)
            return "reminded"
        wait = policy.draft_expiry if reminded or not policy.reminder_after else policy.reminder_after
        await sessions.check_quiet_at(who, last + wait)
        return "not yet"


def expire(session: Session, policy: QuietPolicy) -> None:
    """File what the reporter typed as an incomplete report (or an addendum), or discard it."""
    step = session.conversation.state
    if policy.expiry_policy == "file" and worth_filing(session, policy.spec):
        addendum = session.conversation.addendum_to is not None
        note = f"not confirmed by the reporter: the conversation went quiet at step '{step}' and expired"
        draft = report_draft(session, policy.spec, "addendum" if addendum else "incomplete", notes=(note,))
        policy.enqueue(Job.FILE_REPORT, draft.seal(policy.session_key), f"file-{session.report_id}")
        log.info("expired draft filed as incomplete (media=%d)", len(draft.media))
    elif session.conversation.media or session.provider_messages:
        discard = discarded_draft(session, session.conversation.media, whole=True)
        policy.enqueue(Job.DISCARD_DRAFT, discard.seal(policy.session_key), f"discard-{session.report_id}")
        log.info("expired draft discarded (media=%d)", len(session.conversation.media))

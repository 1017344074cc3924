"""Quiet conversations: when a reporter stops writing, one reminder, then the draft expires.

The engine asks `QuietTimer.check_at` when to look again after each message and starts the
sweeper chain (`Job.QUIET_SWEEP`, run by `workers.reminders.sweep`) when none is running.
"""

from __future__ import annotations

from bot.jobs import Enqueue, Job


class QuietTimer:
    """When a conversation next needs a look, and starting the sweeper that looks."""

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

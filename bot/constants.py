"""Every fixed time and limit of the conversation side, one line each (settings hold what operators tune)."""

from __future__ import annotations

KEY_PREFIX = "tl"
"""The default first part of every Redis key tipline writes (see bot/keys.py)."""

DEDUPE_TTL = 7 * 24 * 3600
"""Handled-message marks outlive the session, so a provider retry after the end starts nothing."""

RECEIPT_TTL = 90 * 24 * 3600
"""How long a receipt code can find its report to add to it."""

LOCK_SECONDS = 5
"""A conversation's lock frees itself this many seconds after its holder died (a killed web
process); a live holder renews it every third of this (`LOCK_SECONDS` in settings overrides)."""

LOCK_WAIT = 10
"""How long a message waits for its conversation's lock before giving up: with a dead holder's
lock lapsing within LOCK_SECONDS, a webhook still answers well within Twilio's 15 s."""

SWEEPER_CLAIM_SECONDS = 120
"""The quiet sweeper's claim outlives its sweep interval by this much; then a new chain may start."""

SWEEP_BATCH = 200
"""Conversations one sweep looks at, at most (the rest wait for the next sweep)."""

ERASABLE_TTL = 47 * 3600
"""Message ids kept for "erase this chat" (Telegram lets bots delete messages younger than 48 h)."""

MAX_ERASABLE = 500
"""Message ids kept for "erase this chat", at most (the latest)."""

MEDIA_STATUS_TTL = 30 * 24 * 3600
"""What a worker learned about one media item is kept this long, or until the report is filed."""

MAX_MEDIA_PER_REPORT = 30
"""Files one report may carry; more are refused with a notice to the reporter."""

JOB_RETRY_INTERVALS = (2, 5, 10, 20, 30, 60, 120, 300, 900, 1800, 3600, 3600, 3600, 3600)
"""Seconds between a failed job's retries: six within two minutes (a killed worker, a Redis restart or
a short S3 outage costs seconds, not minutes), then backing off to hourly, over about five hours."""

JOB_TIMEOUT = 300
"""A job running longer than this is stopped and counted as failed (then retried)."""

JOB_FAILURE_TTL = 90 * 24 * 3600
"""A job that used up its retries stays this long for `tipline jobs retry`."""

SWEEP_FAILURE_TTL = 24 * 3600
"""A failed quiet sweep is kept this long (the next message starts a new chain)."""

RECEIPT_GUESSES_PER_SENDER = 5
"""Receipt codes one sender may try per RECEIPT_GUESS_WINDOW seconds; more are taken as plain text."""

RECEIPT_GUESS_WINDOW = 600

RECEIPT_GUESSES_PER_MINUTE = 120
"""Receipt codes everyone together may try per minute (many senders guessing at once)."""

OUTBOX_TTL = 24 * 3600
"""Replies waiting for a worker are kept this long (longer than the send job's retries, about five hours)."""

OUTBOX_CLAIM_SECONDS = 120
"""A worker sending a conversation's waiting replies holds them this long at most (a killed worker)."""

DELETED_MARK_TTL = 24 * 3600
"""How long a DELETE stops replies queued before it (longer than their retries, about five hours)."""

QUESTION_RETRY_INTERVALS = (10, 60, 300, 900)
"""Seconds between retries of an analyst's question during a provider outage (then the analyst is told)."""

FOLLOWUP_OPTED_OUT_TTL = 365 * 24 * 3600
"""A reporter who sent DELETE to a question is not asked again for this long."""

FOLLOWUP_CLAIM_TTL = 3600
"""An analyst's question claimed by the poll is not enqueued again for this long."""

FOLLOWUP_DELIVERED_TTL = 90 * 24 * 3600
"""A delivered question's id is remembered this long, so a copied or replayed request sends nothing."""

FOLLOWUP_POLL_GRACE = 120
"""The follow-up poll's claim outlives its interval by this much; then a new chain may start."""

FOLLOWUP_MAX_AGE = 7 * 24 * 3600
"""A question that waited longer than this for a worker is not sent: the moment has passed."""

FOLLOWUP_POLL_BATCH = 100
"""Questions one poll enqueues, at most (the rest wait for the next poll)."""

"""The one error tree: every error tipline raises on purpose is a `TiplineError`.

Its message is one line, safe to log and to show an operator: never message content, an address
or a secret. Two branches say what a caller may do about it:

- `Transient`: something outside (a provider, the store, a receiver) cannot take the request now;
  the same call may succeed later. Jobs let it propagate and RQ retries them with backoff.
- `Refused`: the input is not acceptable (a file, a form, a report, a key); trying again with the
  same input will not help. The caller answers politely (a reporter), with a 4xx (a provider or
  client) or with the one line (an operator or analyst).

Settings, flow and locale errors stop the service at start-up; they sit directly under `TiplineError`.
This module imports nothing of ours, so every room (even `flows/` and `secure_store/`) may raise these.
"""

from __future__ import annotations


class TiplineError(Exception):
    """Anything tipline raises on purpose; the message is one line, safe to log."""


class Transient(TiplineError):
    """Unavailable for now; retrying later may succeed (workers' jobs are retried with backoff)."""


class Refused(TiplineError):
    """Not acceptable input; retrying the same will not help."""

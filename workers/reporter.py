"""What a worker says to a reporter on its own (a reminder, a refused file): one message, as a
courtesy, through the conversation's channel. A failure is logged, never retried or fatal."""

from __future__ import annotations

import logging

from adapters.base import Reply
from bot.sessions import Session
from workers.context import WorkerContext

log = logging.getLogger("tipline.worker")


async def tell(context: WorkerContext, session: Session, reply: Reply, what: str) -> None:
    """Send `reply` to the reporter of `session`; `what` names it in log lines (no content)."""
    adapter = context.adapters.get(session.adapter)
    if adapter is None:
        log.warning("no adapter %s: %s not sent", session.adapter, what)
        return
    try:
        await adapter.send(session.address, [reply])
    except Exception as exc:  # a courtesy message; what it accompanies goes on regardless
        log.warning("%s not sent: %s", what, type(exc).__name__)

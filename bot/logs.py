"""How the service logs: plain lines, or with `LOG_FORMAT=json` one JSON object per line.

Each line carries the request id of the webhook it belongs to (`X-Request-Id`, echoed to the
caller) or the id of the job a worker runs, so an operator can follow one message without any
content: log calls never pass message text or identifiers, and a failure is logged by its
exception type only, never its message or traceback (either may quote what a reporter wrote).
Libraries that log per message at INFO (transitions) or log URLs and parameters (httpx,
python-telegram-bot) are held at WARNING.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

from config.settings import SettingsError

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
QUIET = ("transitions", "aiohttp.access", "telegram", "httpx", "httpcore", "botocore", "boto3", "urllib3",
         "s3transfer")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _job_id() -> str | None:
    """The id of the RQ job this process is running, if any (work horses only)."""
    from rq import get_current_job

    try:
        job = get_current_job()
    except Exception:  # no connection or no job: not a worker
        return None
    return job.id if job is not None else None


class Context(logging.Filter):
    """Adds `request_id` and `job_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.job_id = _job_id() if "rq" in sys.modules else None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id/job_id, error type."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _ANSI.sub("", record.getMessage()),
        }
        for name in ("request_id", "job_id"):
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)


class PlainLines(logging.Formatter):
    """The text format, with the request or job id when there is one; tracebacks left out."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        saved, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            text = super().format(record)
        finally:
            record.exc_info = saved
        ids = " ".join(f"{n}={getattr(record, n)}" for n in ("request_id", "job_id") if getattr(record, n, None))
        error = f" [{saved[0].__name__}]" if saved and saved[0] is not None else ""
        return f"{text}{error}" + (f" ({ids})" if ids else "")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record (it may be replaced after set-up)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(verbose: bool = False, log_format: str | None = None) -> None:
    """Set up the root logger once for a process (`LOG_FORMAT`: text, the default, or json)."""
    chosen = (log_format if log_format is not None else os.environ.get("LOG_FORMAT", "")).strip().lower() or "text"
    if chosen not in ("text", "json"):
        raise SettingsError(f"LOG_FORMAT must be text or json, got {chosen!r}")
    handler = _Stderr()
    handler.setFormatter(JsonLines() if chosen == "json" else PlainLines())
    handler.addFilter(Context())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


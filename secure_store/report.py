"""The report analysts receive: a versioned JSON document, validated against report.schema.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from config.errors import Refused

SCHEMA_ID = "tipline.report/1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
    "video/mp4": ".mp4", "video/3gpp": ".3gp", "video/quicktime": ".mov", "video/webm": ".webm",
    "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/amr": ".amr", "audio/aac": ".aac",
    "audio/wav": ".wav", "application/pdf": ".pdf",
}
"""File name extension of each media type a report may hold (for files written or downloaded by analysts)."""


class InvalidReport(Refused, ValueError):
    """The document does not match the report schema."""


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


@cache
def report_validator() -> jsonschema.protocols.Validator:
    """Built once: `jsonschema.validate` re-checks the schema itself on every call (~15 ms). A worker
    builds it before it forks (workers/worker.py), or each job's work horse would build it again."""
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())


def validate_report(report: dict[str, Any]) -> None:
    try:
        report_validator().validate(report)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "report"
        raise InvalidReport(f"{where}: {exc.message}") from None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def report_name(report_id: str) -> str:
    """Object name of a report: opaque, reveals nothing but a random id."""
    return f"reports/{report_id}"


def media_name(media_id: str) -> str:
    return f"media/{media_id}"

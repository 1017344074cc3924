"""Emergency and trafficking-helpline numbers by country, from `flows/helplines.yaml`.

Every number in the file carries its source; loading refuses an entry without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HELPLINES_PATH = Path(__file__).with_name("helplines.yaml")


@dataclass(frozen=True)
class Helpline:
    emergency: str
    helpline: str | None = None
    helpline_name: str | None = None


def _entry(where: str, data: Any) -> Helpline:
    if not isinstance(data, dict) or not data.get("emergency") or not data.get("emergency_source"):
        raise ValueError(f"{HELPLINES_PATH}: {where} needs `emergency` and `emergency_source`")
    if data.get("helpline") and not (data.get("helpline_name") and data.get("helpline_source")):
        raise ValueError(f"{HELPLINES_PATH}: {where} needs `helpline_name` and `helpline_source` for its helpline")
    return Helpline(str(data["emergency"]), data.get("helpline"), data.get("helpline_name"))


@cache
def load_helplines(path: Path = HELPLINES_PATH) -> dict[str, Helpline]:
    """Country code -> numbers; key "" is the fallback for unknown countries."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    table: dict[str, Helpline] = {"": _entry("default", data.get("default"))}
    for name, region in (data.get("regions") or {}).items():
        entry = _entry(f"region {name}", region)
        for country in region.get("countries", []):
            table[str(country).upper()] = entry
    for country, value in (data.get("countries") or {}).items():
        table[str(country).upper()] = _entry(f"country {country}", value)
    return table


def helpline_for(country: str | None) -> Helpline:
    table = load_helplines()
    return table.get((country or "").upper(), table[""])

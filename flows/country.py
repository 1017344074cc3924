"""Which country a reporter is in, from a country name they type (in any of the flow's languages)
or a pin they share, worked out on this machine: nothing leaves it.

Names come from the Unicode CLDR (through Babel); borders from Natural Earth's countries at 1:50m,
as shipped by the npm package `world-atlas` (TopoJSON, public domain data), in
`flows/countries/countries-50m.json` (see `flows/countries/README.md`). Other parts of the project
(e.g. an analyst's offline map) may read the same file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale as CldrLocale
from babel.core import UnknownLocaleError, get_global

from flows.locale import normalise, typo_of

BOUNDARIES_PATH = Path(__file__).with_name("countries") / "countries-50m.json"
NEAR_SHORE_DEGREES = 0.25
"""A pin this close (about 25 km) to a coast still counts for the country (boats, harbours, coarse borders)."""

_UNNAMED = {"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}
"""Natural Earth shapes that carry no ISO number: the country whose numbers work there."""
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
ALIASES = {
    "uk": "GB", "u.k": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "britain": "GB", "great britain": "GB", "gb": "GB", "usa": "US", "us": "US", "u.s": "US", "u.s.a": "US",
    "america": "US", "holland": "NL", "uae": "AE", "drc": "CD",
}
"""Everyday names CLDR does not list (in English; typed names in other languages come from CLDR)."""

Ring = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Shape:
    """One country's land: polygons of (lon, lat) rings, outer ring first, with a bounding box."""

    code: str
    box: tuple[float, float, float, float]
    polygons: tuple[tuple[Ring, ...], ...]


def _decode_arcs(topology: dict[str, object]) -> list[list[tuple[float, float]]]:
    transform = topology["transform"]
    assert isinstance(transform, dict)
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    arcs: list[list[tuple[float, float]]] = []
    for arc in topology["arcs"]:  # type: ignore[attr-defined]
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: Iterable[int]) -> Ring:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return tuple(points)


def _code(geometry: dict[str, object]) -> str | None:
    number = geometry.get("id")
    if isinstance(number, str):
        codes = get_global("territory_aliases").get(number)
        return codes[0] if codes else None
    name = geometry.get("properties", {}).get("name")  # type: ignore[attr-defined]
    return _UNNAMED.get(str(name))


@cache
def load_shapes(path: Path = BOUNDARIES_PATH) -> tuple[Shape, ...]:
    """Every country's polygons from the shipped TopoJSON (decoded once per process)."""
    topology = json.loads(path.read_text(encoding="utf-8"))
    arcs = _decode_arcs(topology)
    shapes: list[Shape] = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = _code(geometry)
        if code is None or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        parts = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        polygons = tuple(tuple(_ring(arcs, ring) for ring in polygon) for polygon in parts)
        xs = [x for polygon in polygons for x, _ in polygon[0]]
        ys = [y for polygon in polygons for _, y in polygon[0]]
        shapes.append(Shape(code, (min(xs), min(ys), max(xs), max(ys)), polygons))
    return tuple(shapes)


def _inside(x: float, y: float, rings: tuple[Ring, ...]) -> bool:
    """Even-odd rule over the outer ring and its holes."""
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                inside = not inside
    return inside


def _in_box(x: float, y: float, box: tuple[float, float, float, float], margin: float = 0.0) -> bool:
    return box[0] - margin <= x <= box[2] + margin and box[1] - margin <= y <= box[3] + margin


def country_at(latitude: float, longitude: float) -> str | None:
    """The ISO 3166-1 alpha-2 code of the country at a shared pin, or None (open sea, Antarctica
    far from any coast). A pin just off a coast counts for that country."""
    shapes = load_shapes()
    for shape in shapes:
        if _in_box(longitude, latitude, shape.box) and any(
                _inside(longitude, latitude, polygon) for polygon in shape.polygons):
            return shape.code
    nearest, best = None, NEAR_SHORE_DEGREES
    for shape in shapes:
        if not _in_box(longitude, latitude, shape.box, NEAR_SHORE_DEGREES):
            continue
        for polygon in shape.polygons:
            for x, y in polygon[0]:
                distance = math.hypot((x - longitude) * math.cos(math.radians(latitude)), y - latitude)
                if distance < best:
                    nearest, best = shape.code, distance
    return nearest


@cache
def _names(languages: tuple[str, ...]) -> dict[str, str]:
    names = dict(ALIASES)
    for language in ("en", *languages):
        try:
            territories = CldrLocale.parse(language).territories
        except (UnknownLocaleError, ValueError):
            continue
        for code, name in territories.items():
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
                names.setdefault(normalise(name), code)
    return names


def country_named(text: str, languages: Iterable[str]) -> str | None:
    """The country a reporter names ("Greece", "Grecia", "اليونان", "grece", "in greece"), in any
    of `languages` or English, forgiving small typos; None when no country is named."""
    names = _names(tuple(sorted(set(languages))))
    folded = normalise(text)
    if folded in names:
        return names[folded]
    words = folded.split()
    for size in range(min(len(words), 4), 0, -1):  # "I am in Greece now": the longest name that fits
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start:start + size])
            if phrase in names and (size > 1 or len(phrase) > 2):
                return names[phrase]
    near = typo_of(folded, names)
    return names[near] if near else None


def country_name(code: str, language: str) -> str:
    """A country's name in the reporter's language (CLDR), else in English, else its code."""
    for candidate in (language, "en"):
        try:
            name = CldrLocale.parse(candidate).territories.get(code)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            return str(name)
    return code

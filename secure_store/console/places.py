"""Country boundaries from a TopoJSON file (the npm package `world-atlas`): which country a shared
location lies in, and the outlines the offline map draws. Read from a file on disk, never fetched."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Ring = list[tuple[float, float]]  # (longitude, latitude) points


BAND = 0.5
"""Degrees of latitude per band of the edge index: a point is tested against its band's edges only."""

Edge = tuple[float, float, float, float]


@dataclass(frozen=True)
class Country:
    name: str
    code: str  # ISO 3166 numeric, as world-atlas gives it
    rings: tuple[Ring, ...]
    box: tuple[float, float, float, float]  # west, south, east, north
    bands: dict[int, tuple[Edge, ...]]

    def contains(self, longitude: float, latitude: float) -> bool:
        """Even-odd rule over every ring (holes, enclaves left out), counting only the edges that
        cross this latitude's band: microseconds even for a 1:50m coastline."""
        west, south, east, north = self.box
        if not (west <= longitude <= east and south <= latitude <= north):
            return False
        inside = False
        for x1, y1, x2, y2 in self.bands.get(math.floor(latitude / BAND), ()):
            if (y1 > latitude) != (y2 > latitude) and longitude < (x2 - x1) * (latitude - y1) / (y2 - y1) + x1:
                inside = not inside
        return inside


def _bands(rings: tuple[Ring, ...]) -> dict[int, tuple[Edge, ...]]:
    bands: dict[int, list[Edge]] = {}
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            for band in range(math.floor(min(y1, y2) / BAND), math.floor(max(y1, y2) / BAND) + 1):
                bands.setdefault(band, []).append((x1, y1, x2, y2))
    return {band: tuple(edges) for band, edges in bands.items()}


class Places:
    """The countries of one TopoJSON file; `country_at` answers in microseconds after a box check."""

    def __init__(self, countries: list[Country]) -> None:
        self.countries = countries

    def country_at(self, latitude: float, longitude: float) -> str | None:
        for country in self.countries:
            if country.contains(longitude, latitude):
                return country.name
        return None


def _arcs(topology: dict[str, Any]) -> list[Ring]:
    """Decode quantized, delta-encoded arcs into (longitude, latitude) points."""
    transform = topology.get("transform")
    decoded: list[Ring] = []
    for arc in topology["arcs"]:
        points: Ring = []
        x = y = 0.0
        for position in arc:
            if transform:
                x, y = x + position[0], y + position[1]
                sx, sy = transform["scale"]
                tx, ty = transform["translate"]
                points.append((x * sx + tx, y * sy + ty))
            else:
                points.append((float(position[0]), float(position[1])))
        decoded.append(points)
    return decoded


def _ring(arcs: list[Ring], indexes: list[int]) -> Ring:
    ring: Ring = []
    for index in indexes:
        points = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        ring.extend(points[1:] if ring else points)
    return ring


def load_places(path: Path, collection: str = "countries") -> Places:
    """Read a world-atlas TopoJSON file (e.g. countries-50m.json); raises ValueError if it is not one."""
    try:
        topology = json.loads(path.read_text(encoding="utf-8"))
        geometries = topology["objects"][collection]["geometries"]
        arcs = _arcs(topology)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a TopoJSON file of {collection}: {exc}") from None
    countries: list[Country] = []
    for geometry in geometries:
        kind = geometry.get("type")
        polygons = {"Polygon": [geometry.get("arcs", [])], "MultiPolygon": geometry.get("arcs", [])}.get(kind, [])
        rings = tuple(_ring(arcs, ring) for polygon in polygons for ring in polygon)
        if not rings:
            continue
        xs = [p[0] for ring in rings for p in ring]
        ys = [p[1] for ring in rings for p in ring]
        name = str((geometry.get("properties") or {}).get("name") or geometry.get("id") or "?")
        box = (min(xs), min(ys), max(xs), max(ys))
        countries.append(Country(name, str(geometry.get("id", "")), rings, box, _bands(rings)))
    return Places(countries)

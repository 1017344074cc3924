"""The offline map: country outlines from the shipped boundary file and a dot per shared location,
as one SVG drawn here (equirectangular; no tiles, no request leaves the machine)."""

from __future__ import annotations

from functools import cache

from secure_store.console.library import Entry, location_of
from secure_store.console.pages import e
from secure_store.console.places import Places

WIDTH, HEIGHT = 1000, 500
NORTH, SOUTH = 84.0, -60.0


def _xy(longitude: float, latitude: float) -> tuple[float, float]:
    return (longitude + 180) / 360 * WIDTH, (NORTH - latitude) / (NORTH - SOUTH) * HEIGHT


def _unwrapped(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A ring crossing the date line keeps going past ±180° instead of jumping across the map
    (the part beyond the edge is cut off by the picture's frame)."""
    points = [ring[0]]
    for longitude, latitude in ring[1:]:
        previous = points[-1][0]
        while longitude - previous > 180:
            longitude -= 360
        while previous - longitude > 180:
            longitude += 360
        points.append((longitude, latitude))
    return points


def _path(ring: list[tuple[float, float]]) -> str:
    """One ring as SVG path data, dropping points within a pixel of the last one kept (a 1:50m
    coastline has far more points than the picture has pixels)."""
    kept: list[str] = []
    last: tuple[int, int] | None = None
    for longitude, latitude in _unwrapped(ring):
        x, y = _xy(longitude, latitude)
        here = (round(x), round(y))
        if here != last:
            kept.append(f"{x:.0f},{y:.0f}")
            last = here
    return "M" + "L".join(kept) + "Z" if len(kept) > 2 else ""


@cache
def _outlines(places: Places) -> str:
    paths = []
    for country in places.countries:
        if country.box[3] < SOUTH:  # Antarctica lies below the picture
            continue
        d = "".join(_path(ring) for ring in country.rings)
        if not d:
            continue
        paths.append(f'<path d="{d}" fill="#f4f1ea" stroke="#9aa5b1" stroke-width="0.4">'
                     f"<title>{e(country.name)}</title></path>")
    return "".join(paths)


def world_map(places: Places | None, entries: list[Entry]) -> tuple[str, int]:
    """SVG of the world with a linked dot per report whose reporter shared a location, and how many dots."""
    dots = []
    for entry in entries:
        pin = location_of(entry.report or {})
        if pin is None:
            continue
        x, y = _xy(pin[1], pin[0])
        colour = "#b3261e" if entry.urgent else "#1f6feb"
        dots.append(f'<a href="/report/{e(entry.report_id)}"><circle class="pin" cx="{x:.1f}" cy="{y:.1f}" r="4" '
                    f'fill="{colour}" stroke="#fff" stroke-width="1"><title>{e(entry.submitted[:10])} '
                    f'{e(entry.country or "")} ({pin[0]:.4f}, {pin[1]:.4f})</title></circle></a>')
    outlines = _outlines(places) if places is not None else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="map" role="img" '
            f'aria-label="Map of shared locations"><rect width="{WIDTH}" height="{HEIGHT}" fill="#dbe7f3"/>'
            f'{outlines}<g class="pins">{"".join(dots)}</g></svg>'), len(dots)

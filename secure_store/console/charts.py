"""Charts as SVG drawn on the server: no script, no library, nothing fetched, readable in any browser.

Colours and sizes are SVG attributes (not style), so the page's strict CSP needs no exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from secure_store.console.pages import e

PALETTE = ("#1f6feb", "#d9480f", "#2b8a3e", "#ae3ec9", "#f08c00", "#0c8599", "#868e96", "#c2255c")
WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 150, 34, 46


def _frame(title: str, inner: str) -> str:
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{e(title)}" class="chart"><title>{e(title)}</title>'
            f'<text x="{LEFT}" y="20" font-size="15" font-weight="600" fill="#1b1f24">{e(title)}</text>'
            f"{inner}</svg></figure>")


def _axis(top: float, unit: str = "") -> str:
    """Left axis with four gridlines from 0 to `top`."""
    plot_h = HEIGHT - TOP - BOTTOM
    lines = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        label = f"{value:.0f}{unit}" if top >= 4 or unit else f"{value:.1f}"
        lines.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#5b6470">'
                     f"{e(label)}</text>")
    return "".join(lines)


def _legend(names: Sequence[str]) -> str:
    items = []
    for i, name in enumerate(names):
        y = TOP + 6 + i * 18
        colour = PALETTE[i % len(PALETTE)]
        items.append(f'<rect x="{WIDTH - RIGHT + 14}" y="{y}" width="11" height="11" fill="{colour}"/>'
                     f'<text x="{WIDTH - RIGHT + 30}" y="{y + 10}" font-size="12" fill="#1b1f24">{e(name[:18])}</text>')
    return "".join(items)


def _labels(labels: Sequence[str], slot: float) -> str:
    step = max(1, math.ceil(len(labels) * 52 / (WIDTH - LEFT - RIGHT)))  # ~52 px per label
    return "".join(
        f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle" '
        f'fill="#5b6470">{e(label)}</text>' for i, label in enumerate(labels) if i % step == 0)


def stacked_bars(title: str, labels: Sequence[str], series: dict[str, list[int]]) -> str:
    """One bar per label (e.g. week), stacked by series (e.g. category); counts."""
    if not labels:
        return _frame(title, f'<text x="{LEFT}" y="{TOP + 30}" font-size="13" fill="#5b6470">No reports.</text>')
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(4, max(totals))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(labels)
    drawn: list[str] = []
    for i, label in enumerate(labels):
        y = float(TOP + plot_h)
        for n, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            y -= h
            drawn.append(f'<rect class="bar" x="{LEFT + slot * i + slot * 0.12:.1f}" y="{y:.1f}" '
                        f'width="{slot * 0.76:.1f}" height="{h:.1f}" fill="{PALETTE[n % len(PALETTE)]}">'
                        f"<title>{e(label)}: {e(name)} {values[i]}</title></rect>")
    return _frame(title, _axis(top) + "".join(drawn) + _labels(labels, slot) + _legend(list(series)))


def bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str = "") -> str:
    """Simple bars (e.g. a share per week in %, or a histogram)."""
    if not labels or not any(values):
        return _frame(title, f'<text x="{LEFT}" y="{TOP + 30}" font-size="13" fill="#5b6470">No data.</text>')
    top = max(4.0, max(values)) if unit != "%" else 100.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(labels)
    drawn = "".join(
        f'<rect class="bar" x="{LEFT + slot * i + slot * 0.12:.1f}" y="{TOP + plot_h - plot_h * v / top:.1f}" '
        f'width="{slot * 0.76:.1f}" height="{plot_h * v / top:.1f}" fill="{PALETTE[0]}">'
        f"<title>{e(label)}: {v:.0f}{e(unit)}</title></rect>"
        for i, (label, v) in enumerate(zip(labels, values, strict=True)))
    return _frame(title, _axis(top, unit) + drawn + _labels(labels, slot))

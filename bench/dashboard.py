"""The shipped Grafana dashboard, rendered from real metrics: the real service (web process, two RQ
workers, embedded Redis) under a reporter load, scraped every second by a real Prometheus (Debian's
`prometheus`, with `deploy/prometheus/alerts.yml` loaded); every panel's query from
`deploy/grafana/tipline.json` is run against that Prometheus and drawn as the panel, then headless
Chromium takes the screenshot. Prints what the load did.

    .venv/bin/python -m bench.dashboard [--seconds 60] [--out docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import bench_environment, free_port, wait_for_port
from bot.jobs import Job
from bot.queue import enqueue, make_queue
from tests.chat import Phone, WebProcess
from tests.scenario import Script, complete_report, walk_to

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "tipline.json"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#b877d9", "#f2495c", "#8ab8ff", "#96d98d"]



async def reporters(base: str, seconds: float, env: dict[str, str]) -> dict[str, int]:
    """Reporters walking the flow side by side until time is up; some stop half-way, some forge."""
    counts = {"confirmed": 0, "abandoned": 0, "forged": 0}
    deadline = time.monotonic() + seconds

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        while time.monotonic() < deadline:
            phone = Phone(WebProcess(session, base), sender=f"sim-load-{n}-{random.random()}")
            if random.random() < 0.2:
                await walk_to(phone, "when", Script())
                counts["abandoned"] += 1
            else:
                await complete_report(phone, [], Script(description=f"Load report {n}"))
                counts["confirmed"] += 1
            if random.random() < 0.3:
                async with session.post(base + "/webhooks/telegram", json={"update_id": 1},
                                        headers={"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}):
                    counts["forged"] += 1
            await asyncio.sleep(random.uniform(0.2, 1.0))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, n) for n in range(4)))
    return counts


def failing_jobs(env: dict[str, str], count: int) -> None:
    """Jobs that fail (an unreadable payload) so that retries and failures show as they would."""
    from redis import Redis

    queue = make_queue(Redis.from_url(env["REDIS_URL"]), env["QUEUE_NAME"])
    for n in range(count):
        enqueue(queue, Job.NOTIFY_ANALYSTS, "unreadable", f"notify-broken-{n}")
    queue.enqueue(Job.SEND_LATER.function, "unreadable", job_id="send-broken")


def prometheus(port: int, target: int, folder: Path) -> subprocess.Popen[bytes]:
    if shutil.which("prometheus") is None:
        raise SystemExit("prometheus is missing: run `make system`")
    config = folder / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "tipline", "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]}],
    }))
    return subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def query(port: int, path: str, **params: Any) -> Any:
    url = f"http://127.0.0.1:{port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = json.load(answer)
    if body.get("status") != "success":
        raise SystemExit(f"Prometheus refused {path}: {body}")
    return body["data"]


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"{{\s*(\w+)\s*}}", lambda m: labels.get(m.group(1), ""), template) or "value"


def number(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "n/a"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.2f}"


def series_panel(panel: dict[str, Any], results: list[tuple[str, list[tuple[float, float]]]],
                 start: float, end: float, width: int, height: int) -> str:
    unit = panel["fieldConfig"]["defaults"].get("unit", "short")
    values = [v for _, points in results for _, v in points if v == v]
    top = max([*values, 0.0]) * 1.15 or 1.0
    plot_w, plot_h = width - 70, height - 80
    parts = [f'<svg width="{width}" height="{height - 30}">']
    for i in range(5):
        y = 10 + plot_h * i / 4
        parts.append(f'<line x1="60" x2="{60 + plot_w}" y1="{y}" y2="{y}" stroke="#2c3235"/>')
        parts.append(f'<text x="55" y="{y + 4}" text-anchor="end">{number(top * (4 - i) / 4, unit)}</text>')
    for n, (name, points) in enumerate(results):
        color = COLORS[n % len(COLORS)]
        coords = " ".join(f"{60 + plot_w * (t - start) / max(end - start, 1):.1f},{10 + plot_h * (1 - v / top):.1f}"
                          for t, v in points if v == v)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        parts.append(f'<rect x="{60 + 150 * (n % 4)}" y="{plot_h + 22 + 16 * (n // 4)}" width="10" height="4" '
                     f'fill="{color}"/><text x="{74 + 150 * (n % 4)}" y="{plot_h + 28 + 16 * (n // 4)}">'
                     f'{html.escape(name[:22])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stat_panel(panel: dict[str, Any], value: float) -> str:
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    color = next((s["color"] for s in reversed(steps) if s["value"] is None or value >= s["value"]), "green")
    shade = {"green": "#1f6f2b", "red": "#a1202b"}.get(color, "#333")
    unit = panel["fieldConfig"]["defaults"].get("unit", "short")
    return f'<div class="stat" style="background:{shade}">{number(value, unit)}</div>'


def render(port: int, start: float, end: float, summary: str) -> str:
    dashboard = json.loads(DASHBOARD.read_text())
    unit_w, unit_h = 1400 / 24, 34
    cells: list[str] = []
    bottom = 0
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        width, height = int(pos["w"] * unit_w) - 8, int(pos["h"] * unit_h) - 8
        if panel["type"] == "stat":
            data = query(port, "query", query=panel["targets"][0]["expr"], time=end)["result"]
            body = stat_panel(panel, float(data[0]["value"][1]) if data else float("nan"))
        else:
            results: list[tuple[str, list[tuple[float, float]]]] = []
            for target in panel["targets"]:
                found = query(port, "query_range", query=target["expr"], start=start, end=end, step=2)["result"]
                for item in found:
                    points = [(float(t), float(v)) for t, v in item["values"]]
                    results.append((legend(target["legendFormat"], item["metric"]), points))
            body = series_panel(panel, results, start, end, width, height)
        left, top = int(pos["x"] * unit_w) + 4, int(pos["y"] * unit_h) + 4
        bottom = max(bottom, top + height)
        cells.append(f'<div class="panel" style="left:{left}px;top:{top}px;width:{width}px;height:{height}px">'
                     f'<h2>{html.escape(panel["title"])}</h2>{body}</div>')
    alerts = query(port, "alerts")["alerts"]
    firing = ", ".join(sorted({f'{a["labels"]["alertname"]} ({a["state"]})' for a in alerts})) or "none"
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ background:#111217; color:#ccccdc; font:13px system-ui, sans-serif; margin:0; }}
header {{ padding:12px 16px; border-bottom:1px solid #2c3235; }} header h1 {{ font-size:18px; margin:0 0 4px; }}
.grid {{ position:relative; height:{bottom + 12}px; width:1400px; }}
.panel {{ position:absolute; background:#181b1f; border:1px solid #2c3235; border-radius:3px; overflow:hidden; }}
.panel h2 {{ font-size:13px; margin:6px 8px; font-weight:500; }}
svg text {{ fill:#9fa7b3; font-size:10px; }}
.stat {{ margin:4px 8px; height:70%; display:flex; align-items:center; justify-content:center;
         font-size:34px; font-weight:600; color:white; border-radius:3px; }}
</style></head><body><header><h1>{html.escape(dashboard["title"])} dashboard (deploy/grafana/tipline.json)</h1>
<div>{html.escape(summary)}</div><div>Alerts (deploy/prometheus/alerts.yml): {html.escape(firing)}</div></header>
<div class="grid">{"".join(cells)}</div></body></html>"""


def screenshot(page: Path, out: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                           f"--screenshot={out}", "--window-size=1400,1330", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"chromium could not take the screenshot: {done.stderr[-500:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out", default=str(ROOT / "docs" / "dashboard.png"))
    args = parser.parse_args()
    web_port, prom_port = free_port(), free_port()
    secret = "the-right-secret-0123"
    extra = {"CHANNELS": "simulator,telegram", "TELEGRAM_BOT_TOKEN": "1:bench", "TELEGRAM_WEBHOOK_SECRET": secret,
             "TELEGRAM_API_BASE": "http://127.0.0.1:9", "QUEUE_NAME": "tipline", "PORT": str(web_port),
             "QUIET_SWEEP_SECONDS": "5"}
    with bench_environment(**extra) as (_settings, env), tempfile.TemporaryDirectory(prefix="tl-prom-") as folder:
        process_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        cli = [sys.executable, "-m", "bot.cli"]
        web = subprocess.Popen([*cli, "serve"], env=process_env, cwd=ROOT, stderr=subprocess.DEVNULL)
        workers = [subprocess.Popen([*cli, "worker"], env=process_env, cwd=ROOT, stderr=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL) for _ in range(2)]
        prom = prometheus(prom_port, web_port, Path(folder))
        try:
            wait_for_port(web_port)
            wait_for_port(prom_port)
            start = time.time()
            failing_jobs(env, 3)
            counts = asyncio.run(reporters(f"http://127.0.0.1:{web_port}", args.seconds, env))
            time.sleep(5)  # the last filings and a few more scrapes
            end = time.time()
            summary = (f"Rendered {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(end))} from a real Prometheus "
                       f"scraping the web process's /metrics every second: {args.seconds:.0f} s of load by 4 "
                       f"simulated reporters ({counts['confirmed']} reports confirmed, {counts['abandoned']} "
                       f"left half-way, {counts['forged']} forged Telegram webhooks), 2 RQ workers, "
                       "4 jobs with unreadable payloads (3 retrying, 1 failing).")
            page = Path(folder) / "dashboard.html"
            page.write_text(render(prom_port, start, end, summary))
            screenshot(page, Path(args.out))
            shutil.copy(page, Path(args.out).with_suffix(".html"))
        finally:
            for process in [prom, web, *workers]:
                process.terminate()
            for process in [prom, web, *workers]:
                process.wait(timeout=30)
    print(summary)
    print(f"dashboard screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

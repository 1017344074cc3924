"""Workers, as an operator sizing a deployment sees them.

1. Throughput: `file_report` jobs (a realistic draft, no media) against RQ's own cheapest job (a
   no-op: `os.getpid`) on the SAME running worker process, in interleaved batches, repeated. Bar: 0.5x.
   With `--compare`, the stock `rq worker` (forks a horse per job, loads nothing first) and RQ's
   `SimpleWorker` (no fork: jobs run in the worker process itself) run the same batches.
2. Confirmation -> filed: reporters walk the whole flow over HTTP (simulator channel) with 3 photos of
   ~1 MB each against a `tipline serve` and a `tipline worker` process; the time from the reply to
   "yes, send it" until the sealed report object is in the store. Bar: p50 < 1 s.

Every server is its own process; this process only generates load and watches. Run on a quiet machine
(`uptime` is printed before and after: the machine's load average says how quiet it was).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image
from redis import Redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from bench.common import bench_environment, free_port, machine_load, percentile, spread, wait_for_port
from bot.jobs import seal_payload

BATCH = 60
ROUNDS = 5
REPORTERS = 12
QUEUE = "bench-workers"
RECEIPT = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def draft(report_id: str) -> dict[str, Any]:
    """A confirmed report as the engine hands it to `file_report` (answers of the shipped flow)."""
    return {
        "report_id": report_id, "status": "complete", "urgent": False, "channel": "sms", "language": "en",
        "started_at": "2026-01-01T10:00:00Z", "submitted_at": "2026-01-01T10:04:00Z",
        "answers": {"category": "labour", "description": "Men sleeping in the bakery basement, doors locked "
                    "from outside; a grey van collects them at 5 am.", "location": "Rue de la Paix 12, Lyon",
                    "when": "Every night since March", "people": "Two men, a white van", "danger": False,
                    "follow_up": False},
        "media": [], "receipt_hash": secrets.token_hex(32), "follow_up": None, "notes": [], "addendum_to": None,
        "adapter": "simulator", "provider_messages": [], "provider_address": None,
    }


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_worker(connection: Redis, queue: Queue, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Worker.all(queue=queue):
            return
        time.sleep(0.05)
    raise SystemExit("the worker did not start")


def batch_rate(connection: Redis, queue: Queue, enqueue_one: Callable[[int], str]) -> float:
    """Jobs per second for BATCH jobs enqueued at once on an idle worker (jobs leave no result)."""
    ids = [enqueue_one(n) for n in range(BATCH)]
    started = time.perf_counter()
    keys = [f"rq:job:{i}" for i in ids]
    while connection.exists(*keys):
        time.sleep(0.002)
    return BATCH / (time.perf_counter() - started)


def throughput(env: dict[str, str], worker_command: list[str]) -> dict[str, list[float]]:
    connection = Redis.from_url(env["REDIS_URL"])
    queue = Queue(QUEUE, connection=connection, serializer=JSONSerializer)
    session_key = base64.b64decode(env["SESSION_KEY"])
    options = {"result_ttl": 0, "failure_ttl": 3600}
    jobs: dict[str, Callable[[int], str]] = {
        "rq no-op": lambda n: queue.enqueue("os.getpid", **options).id,
        "file_report": lambda n: queue.enqueue(
            "workers.jobs.file_report", seal_payload(session_key, draft(uuid.uuid4().hex)), **options).id,
    }
    # the worker stays idle while the batch is put on the queue, so it is measured alone
    worker = start(worker_command, env)
    rates: dict[str, list[float]] = {name: [] for name in jobs}
    try:
        wait_for_worker(connection, queue)
        for enqueue_one in jobs.values():  # warm-up
            batch_rate(connection, queue, enqueue_one)
        for _ in range(ROUNDS):
            for name, enqueue_one in jobs.items():
                rates[name].append(batch_rate(connection, queue, enqueue_one))
        if queue.failed_job_registry.count:
            raise SystemExit(f"{queue.failed_job_registry.count} jobs failed")
    finally:
        stop(worker)
    return rates


def photo(seed: int) -> bytes:
    """A ~1 MB JPEG with camera metadata (noise does not compress)."""
    side = 900
    picture = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0110] = f"ReporterPhone {seed}"
    picture.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


async def walk(session: aiohttp.ClientSession, base: str, photos: list[bytes]) -> float:
    """One reporter from hello to "yes, send it"; returns the monotonic time of the confirmation's reply."""
    sender = f"sim-{uuid.uuid4()}"

    async def say(**fields: Any) -> str:
        body = {"sender": sender, "message_id": str(uuid.uuid4()), "kind": "whatsapp", **fields}
        async with session.post(f"{base}/simulator/api/message", json=body) as response:
            if response.status != 200:
                raise SystemExit(f"server answered {response.status}")
            return " ".join(r["text"] for r in (await response.json())["replies"])

    for text in ("hello", "English", "yes", "1", "Men sleeping in the bakery basement, doors locked",
                 "done", "Rue de la Paix 12, Lyon", "Every night since March", "Two men, a white van"):
        await say(text=text)
    for data in photos:
        form = aiohttp.FormData()
        form.add_field("file", data, filename="photo.jpg", content_type="image/jpeg")
        async with session.post(f"{base}/simulator/api/upload", data=form) as response:
            upload = await response.json()
        await say(media=[{"id": upload["id"], "content_type": "image/jpeg", "kind": "photo"}])
    for text in ("done", "no", "no"):
        await say(text=text)
    reply = await say(text="yes")
    confirmed = time.monotonic()
    if not RECEIPT.search(reply):
        raise SystemExit("no receipt code after confirming: the benchmark's script no longer fits the flow")
    return confirmed


async def filed_latencies(env: dict[str, str], store: Path) -> list[float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_env = {**env, "PORT": str(port), "PUBLIC_BASE_URL": base}
    web = start([sys.executable, "-m", "bot.cli", "serve"], web_env)
    worker = start([sys.executable, "-m", "bot.cli", "worker"], web_env)
    photos = [photo(n) for n in range(3)]
    latencies: list[float] = []
    try:
        wait_for_port(port)
        wait_for_worker(Redis.from_url(env["REDIS_URL"]), Queue(env["QUEUE_NAME"],
                        connection=Redis.from_url(env["REDIS_URL"])))
        async with aiohttp.ClientSession() as session:
            for n in range(REPORTERS + 1):  # the first one warms up
                before = len(list((store / "reports").glob("*"))) if (store / "reports").exists() else 0
                confirmed = await walk(session, base, photos)
                deadline = confirmed + 60
                while time.monotonic() < deadline:
                    if (store / "reports").exists() and len(list((store / "reports").glob("*"))) > before:
                        break
                    await asyncio.sleep(0.005)
                else:
                    raise SystemExit("a confirmed report was not filed within 60 s")
                if n:
                    latencies.append(time.monotonic() - confirmed)
    finally:
        stop(web)
        stop(worker)
    return latencies


def main() -> None:
    print(f"machine load before: {machine_load()}")
    with bench_environment(QUEUE_NAME=QUEUE) as (settings, env):
        tipline = [sys.executable, "-m", "bot.cli", "worker"]
        stock = [sys.executable, "-m", "rq.cli", "worker", "-u", env["REDIS_URL"], "--serializer",
                 "rq.serializers.JSONSerializer", QUEUE]
        print(f"1. jobs/s, {BATCH} jobs per batch, {ROUNDS} interleaved batches of each kind per worker "
              "(median [min-max]):")
        classes = [("tipline worker", tipline)]
        if "--compare" in sys.argv:  # slow: a stock worker files about one report per second
            classes += [("stock rq Worker", stock), ("rq SimpleWorker", [*stock, "-w", "rq.SimpleWorker"])]
        for label, command in classes:
            rates = throughput(env, command)
            noop, filing = (statistics.median(rates[k]) for k in ("rq no-op", "file_report"))
            ratios = [f / n for f, n in zip(rates["file_report"], rates["rq no-op"], strict=True)]
            print(f"  {label:16s} rq no-op {noop:6.1f} {spread(rates['rq no-op'])}   file_report {filing:6.1f} "
                  f"{spread(rates['file_report'])}   ratio {statistics.median(ratios):.2f} {spread(ratios, '.2f')}"
                  + ("  (bar: 0.50)" if label == "tipline worker" else ""))
        store = Path(settings.store_url.removeprefix("file://"))
        latencies = asyncio.run(filed_latencies(env, store))
        print(f"2. confirmation -> report in the store, 3 photos of ~1 MB, {len(latencies)} reporters one "
              f"at a time: p50 {statistics.median(latencies) * 1000:.0f} ms, p90 "
              f"{percentile(latencies, 0.9) * 1000:.0f} ms {spread([x * 1000 for x in latencies], '.0f')} ms "
              "(bar: p50 < 1000 ms)")
    print(f"machine load after: {machine_load()}")


if __name__ == "__main__":
    main()

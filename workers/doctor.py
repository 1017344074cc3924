"""`tipline doctor`: check a deployment before traffic reaches it.

Each check gives `Finding`s, one line each: `ok`, `warn` (works, but not as production should) or
`FAIL` (reports would be lost, refused or leaked), a FAIL or warn always with its fix. The command
exits 1 when anything failed, so deploy scripts can stop there. It lives with the workers because it
checks what they rely on (Redis, the scheduler, the store, the providers, the analyst notification).
Nothing here prints a secret or a reporter's anything; the numbers and URLs it names are the service's own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import stat
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from nacl.public import PrivateKey
from redis import Redis
from redis.exceptions import RedisError, ResponseError
from rq.scheduler import RQScheduler

from bot.scheduler import STALE_SECONDS, dedicated, last_beat
from config.errors import Refused
from config.settings import Settings
from secure_store.backends import FileStore, S3Store, Store, StoreError, open_store
from secure_store.keys import KEY_FILE_TYPE, KeyFileError, Recipient, load_private_key, parse_public_keys
from secure_store.seal import SealError, open_sealed, read_header, seal
from workers.notify import NotificationFailed, send

TWILIO_PATH = "/webhooks/twilio"
TELEGRAM_PATH = "/webhooks/telegram"
CANARY_PREFIX = "doctor/"
TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warn" or "FAIL"
    topic: str
    text: str
    fix: str = ""

    def render(self) -> str:
        line = f"{self.level:<4}  {self.topic}: {self.text}"
        return f"{line} -> fix: {self.fix}" if self.fix else line


def ok(topic: str, text: str) -> Finding:
    return Finding("ok", topic, text)


def warn(topic: str, text: str, fix: str) -> Finding:
    return Finding("warn", topic, text, fix)


def fail(topic: str, text: str, fix: str) -> Finding:
    return Finding("FAIL", topic, text, fix)


# settings -------------------------------------------------------------------------------------------

def check_settings(settings: Settings) -> list[Finding]:
    """Settings already loaded (a malformed one stops the doctor earlier); here: production or not."""
    if settings.production:
        return [ok("settings", f"production; channels {', '.join(settings.channels)}; {settings.public_base_url}")]
    return [warn("settings", f"TIPLINE_ENV is {settings.env}, not production (dev keys and defaults allowed)",
                 "set TIPLINE_ENV=production on servers that take real reports")]


# Redis ----------------------------------------------------------------------------------------------

def check_redis(redis_url: str | None, queue_name: str) -> list[Finding]:
    """Redis itself, then who moves the queue's delayed jobs (the scheduler lives in Redis too)."""
    if not redis_url:
        return [fail("redis", "REDIS_URL is not set", "set REDIS_URL to a Redis 6.2+ with persistence")]
    client = Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        server = client.info("server")
        persistence = client.info("persistence")
        return [_redis_version(server), *_redis_persistence(client, persistence),
                check_scheduler(client, queue_name)]
    except RedisError as exc:
        return [fail("redis", f"cannot reach Redis at REDIS_URL ({type(exc).__name__})",
                     "check REDIS_URL (host, port, password, rediss:// for TLS) and the network path")]
    finally:
        client.close()


def _redis_version(server: dict[str, Any]) -> Finding:
    version = str(server.get("redis_version", "?"))
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return warn("redis", f"unknown Redis version {version!r}", "use Redis 6.2 or later")
    if (major, minor) < (6, 2):
        return fail("redis", f"Redis {version} is too old", "use Redis 6.2 or later (RQ and the session store need it)")
    return ok("redis", f"Redis {version} reachable")


def _config(client: Redis, name: str) -> str | None:
    """A CONFIG value, or None where the server refuses CONFIG (managed Redis often does)."""
    try:
        values: dict[Any, Any] = client.config_get(name)
    except ResponseError:
        return None
    value = values.get(name, values.get(name.encode()))
    return value.decode() if isinstance(value, bytes) else value


def _redis_persistence(client: Redis, persistence: dict[str, Any]) -> list[Finding]:
    fix = ("appendonly yes + appendfsync everysec (deploy/redis/tipline-redis.conf), "
           "or a managed Redis with persistence")
    findings: list[Finding] = []
    if not int(persistence.get("aof_enabled", 0)):
        findings.append(fail("redis persistence", "AOF is off: a Redis restart loses queued reports", fix))
    else:
        fsync = _config(client, "appendfsync")
        if fsync in ("everysec", "always"):
            findings.append(ok("redis persistence", f"AOF on, appendfsync {fsync}"))
        elif fsync is None:
            findings.append(warn("redis persistence", "AOF on; appendfsync unknown (CONFIG refused)",
                                 "make sure the provider fsyncs the AOF at least every second"))
        else:
            findings.append(fail("redis persistence", f"AOF on but appendfsync {fsync}", fix))
    policy = _config(client, "maxmemory-policy")
    if policy is not None and policy != "noeviction":
        findings.append(fail("redis memory", f"maxmemory-policy {policy} may evict sessions and queued jobs",
                             "set maxmemory-policy noeviction"))
    return findings


# scheduler ------------------------------------------------------------------------------------------

RUN_SCHEDULER = ("start `tipline scheduler` under the supervisor with the web and the workers (Procfile: "
                 "scheduler); just after a deploy, run the doctor again once it is up")


def check_scheduler(client: Redis, queue_name: str, now: datetime | None = None) -> Finding:
    """Who moves the queue's delayed jobs (retries, reminders, quiet sweeps) onto it: RQ's lock for the
    queue names the scheduler holding it, and that scheduler's heartbeat (every second) says it is
    alive. Never a FAIL: nothing is lost meanwhile, and deploy scripts run the doctor before they
    (re)start the scheduler; a worker's own scheduler is the fallback, slow to replace when its worker dies."""
    holder = client.get(RQScheduler.get_locking_key(queue_name))
    if holder is None:
        return warn("scheduler", f"no scheduler runs for queue {queue_name}: retries, reminders and quiet "
                    "reports wait until one does", RUN_SCHEDULER)
    name = holder.decode() if isinstance(holder, bytes) else str(holder)
    beat, patience = last_beat(client, name), time.monotonic() + STALE_SECONDS
    while beat is None and time.monotonic() < patience:  # a scheduler that has just started beats after it locks
        time.sleep(0.05)
        beat = last_beat(client, name)
    silent = None if beat is None else ((now or datetime.now(UTC)) - beat).total_seconds()
    if silent is None or silent > STALE_SECONDS:
        since = "it left no heartbeat" if silent is None else f"last heartbeat {silent:.0f} s ago"
        return warn("scheduler", f"the scheduler of queue {queue_name} stopped ({since}): retries, reminders "
                    "and quiet reports wait until another takes over", RUN_SCHEDULER)
    if not dedicated(name):
        return warn("scheduler", f"only a worker's fallback scheduler moves delayed jobs of queue {queue_name} "
                    "(no `tipline scheduler` runs): they stall for a minute when that worker dies", RUN_SCHEDULER)
    return ok("scheduler", f"{name} moves delayed jobs of queue {queue_name} (last heartbeat {silent:.1f} s ago)")


# store ----------------------------------------------------------------------------------------------

def check_store(settings: Settings, recipients: list[Recipient]) -> list[Finding]:
    """Write a sealed canary, read it back, check that it is sealed to exactly the configured analyst
    keys and that nothing within the service's reach can open it, then delete it."""
    try:
        store = open_store(settings.store_url, settings.s3_endpoint_url)
        store.ping()
    except StoreError as exc:
        return [fail("store", str(exc), "check STORE_URL, the bucket or folder, and the service's permissions")]
    name = f"{CANARY_PREFIX}canary-{secrets.token_hex(8)}"
    try:
        if not store.put_once(name, seal(b"tipline doctor canary", recipients, "canary")):
            return [fail("store", "the canary's random name already existed", "run the doctor again")]
        blob = store.get(name)
    except (StoreError, SealError) as exc:
        return [fail("store", f"cannot write and read back a sealed object: {exc}",
                     "give the service put/get/delete on the store (s3:PutObject, s3:GetObject, s3:DeleteObject)")]
    try:
        findings = [ok("store", f"sealed canary written to {_where(settings.store_url)}"),
                    _sealed_to(blob, recipients), *_exposure(store, name),
                    *_keys_within_reach(blob, settings)]
    finally:
        store.delete(name)
    return findings


def _where(url: str) -> str:
    return url.split("?", 1)[0]


def _sealed_to(blob: bytes, recipients: list[Recipient]) -> Finding:
    header, _ = read_header(blob)
    kids = sorted(str(entry.get("kid")) for entry in header.get("to", []))
    if kids != sorted(r.kid for r in recipients):
        return fail("store", "the canary is not sealed to exactly ANALYST_PUBLIC_KEYS", "report this as a bug")
    return ok("store", f"canary sealed to {len(kids)} analyst key(s): {', '.join(kids)}")


def _exposure(store: Store, name: str) -> list[Finding]:
    """Sealed objects should not be readable by anyone else either (a file's mode, an anonymous GET)."""
    if isinstance(store, FileStore):
        mode = store.root.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return [warn("store", f"other users may list the store's folder (mode {oct(mode & 0o777)}): "
                          "report ids and times", f"chmod 700 {store.root}")]
        return [ok("store", "the store's folder is its owner's only")]
    if isinstance(store, S3Store):
        return [_anonymous_read(store, name)]
    return []


def _anonymous_read(store: S3Store, name: str) -> Finding:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    endpoint = store.client.meta.endpoint_url
    anonymous = boto3.client("s3", endpoint_url=endpoint, config=Config(signature_version=UNSIGNED),
                             region_name=store.client.meta.region_name)
    try:
        anonymous.get_object(Bucket=store.bucket, Key=store.prefix + name)
    except (ClientError, BotoCoreError):
        return ok("store", "objects are not readable anonymously")
    return fail("store", "the canary was readable without credentials: the bucket is public",
                "turn on S3 Block Public Access for the bucket and remove public grants and policies")


def _key_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    if not folder.is_dir():
        return found
    for path in folder.rglob("*.json"):
        try:
            if path.stat().st_size < 4096 and json.loads(path.read_text()).get("type") == KEY_FILE_TYPE:
                found.append(path)
        except (OSError, ValueError, AttributeError):
            continue
    return found


def _keys_within_reach(blob: bytes, settings: Settings) -> list[Finding]:
    """The service must not be able to read what it files: no private key that opens the canary may
    sit in its folder (`TIPLINE_VAR_DIR`). The dev run keeps one there on purpose: a warning in dev."""
    opening: list[Path] = []
    for path in _key_files(settings.var_dir):
        try:
            key: PrivateKey = load_private_key(path)
            open_sealed(blob, key)
        except (KeyFileError, SealError):
            continue
        opening.append(path)
    if opening:
        where = ", ".join(str(p) for p in opening)
        level = fail if settings.production else warn
        return [level("store", f"the service can read what it files: a private analyst key is at {where}",
                      "keep private keys on analysts' machines only; remove it and use that key's public half")]
    return [ok("store", "the canary cannot be opened with anything the service holds")]


# providers ------------------------------------------------------------------------------------------

async def _get_json(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with session.get(url, headers=headers, allow_redirects=False) as response:
        raw = await response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None


def _twilio_code(body: Any) -> str:
    return str(body.get("code")) if isinstance(body, dict) and body.get("code") is not None else "none"


async def check_twilio(settings: Settings) -> list[Finding]:
    """Credentials accepted; some number's "A message comes in" webhook is ours, by POST; no number
    still points at an old address of ours."""
    base = f"{settings.twilio_api_base}/2010-04-01/Accounts/{settings.twilio_account_sid}"
    auth = {"Authorization": aiohttp.encode_basic_auth(settings.twilio_account_sid, settings.twilio_auth_token)}
    ours = settings.public_base_url + TWILIO_PATH
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            status, account = await _get_json(session, f"{base}.json", auth)
            if status != 200:
                return [fail("twilio", f"Twilio refused the credentials (HTTP {status}, code {_twilio_code(account)})",
                             "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (Console > Account info)")]
            findings = [_twilio_account(account)]
            numbers = await _incoming_numbers(session, settings.twilio_api_base, base, auth)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [fail("twilio", f"cannot reach {settings.twilio_api_base} ({type(exc).__name__})",
                     "check TWILIO_API_BASE and outbound network access")]
    except _Refused as exc:
        return [*findings, fail("twilio numbers", str(exc), "check the credentials' permissions")]
    return findings + _twilio_numbers(numbers, ours)


class _Refused(Refused):
    """Twilio would not list the account's numbers."""


def _twilio_account(account: Any) -> Finding:
    state = account.get("status") if isinstance(account, dict) else None
    if state != "active":
        return fail("twilio", f"account status is {state!r}", "reactivate the account in the Twilio console")
    return ok("twilio", "credentials accepted, account active")


async def _incoming_numbers(session: aiohttp.ClientSession, api_base: str, base: str,
                            auth: dict[str, str]) -> list[dict[str, Any]]:
    numbers: list[dict[str, Any]] = []
    url: str | None = f"{base}/IncomingPhoneNumbers.json?{urlencode({'PageSize': 1000})}"
    for _ in range(20):
        if url is None:
            break
        status, page = await _get_json(session, url, auth)
        if status != 200 or not isinstance(page, dict):
            raise _Refused(f"Twilio refused to list the account's numbers (HTTP {status}, code {_twilio_code(page)})")
        numbers.extend(n for n in page.get("incoming_phone_numbers", []) if isinstance(n, dict))
        next_uri = page.get("next_page_uri")
        url = f"{api_base}{next_uri}" if next_uri else None
    return numbers


def _twilio_numbers(numbers: list[dict[str, Any]], ours: str) -> list[Finding]:
    fix = f"set the number's \"A message comes in\" webhook to {ours} (HTTP POST) in the Twilio console"
    findings: list[Finding] = []
    good = 0
    for number in numbers:
        phone, url = str(number.get("phone_number", "?")), str(number.get("sms_url") or "")
        if number.get("sms_application_sid"):
            app = number["sms_application_sid"]
            findings.append(warn("twilio numbers", f"{phone} hands messages to TwiML app {app} (its URL is not "
                                 "checked here)", f"make sure that app's Messaging URL is {ours}"))
        elif url == ours and str(number.get("sms_method", "POST")).upper() == "POST":
            good += 1
            findings.append(ok("twilio numbers", f"{phone} sends incoming messages to {ours}"))
        elif url == ours:
            findings.append(fail("twilio numbers", f"{phone} calls {ours} with {number.get('sms_method')}", fix))
        elif url.rstrip("/").endswith(TWILIO_PATH):
            findings.append(fail("twilio numbers", f"{phone} sends incoming messages to {url}, not {ours}", fix))
    if not good and not any(f.level == "FAIL" for f in findings):
        findings.append(fail("twilio numbers", f"no number of this account sends incoming messages to {ours}", fix))
    return findings


async def check_telegram(settings: Settings) -> list[Finding]:
    """Token accepted (getMe); getWebhookInfo names our URL and the update kinds we use; Telegram's
    last delivery was not refused. The Bot API never shows the secret token itself: a 403 as the last
    delivery error is how a wrong or missing secret shows."""
    from telegram.error import TelegramError

    from adapters.telegram import make_bot
    from adapters.telegram_parse import ALLOWED_UPDATES

    ours = settings.public_base_url + TELEGRAM_PATH
    set_webhook = "run `tipline telegram set-webhook` (it sends the URL, the secret and the update kinds)"
    bot, requests = make_bot(settings)
    try:
        me = await bot.get_me()
        info = await bot.get_webhook_info()
    except TelegramError as exc:
        return [fail("telegram", f"Telegram refused the bot token ({type(exc).__name__})",
                     "check TELEGRAM_BOT_TOKEN (from @BotFather)")]
    except Exception as exc:  # httpx transport errors surface as PTB NetworkError mostly; anything else too
        return [fail("telegram", f"cannot reach {settings.telegram_api_base} ({type(exc).__name__})",
                     "check TELEGRAM_API_BASE and outbound network access")]
    finally:
        for request in requests:
            await request.shutdown()
    findings = [ok("telegram", f"token accepted (bot @{me.username})")]
    if info.url != ours:
        where = info.url or "nowhere (no webhook set)"
        return [*findings, fail("telegram webhook", f"Telegram delivers updates to {where}, not {ours}", set_webhook)]
    findings.append(ok("telegram webhook", f"Telegram delivers updates to {ours}"))
    missing = sorted(set(ALLOWED_UPDATES) - set(info.allowed_updates or ALLOWED_UPDATES))
    if missing:
        findings.append(fail("telegram webhook", f"updates not subscribed: {', '.join(missing)}", set_webhook))
    error = info.last_error_message or ""
    if "403" in error or "401" in error:
        findings.append(fail("telegram webhook", f"the last delivery was refused ({error}): the secret token Telegram "
                             "sends differs from TELEGRAM_WEBHOOK_SECRET", set_webhook))
    elif error:
        findings.append(warn("telegram webhook", f"last delivery error: {error}",
                             "check that PUBLIC_BASE_URL reaches the web process over valid TLS"))
    else:
        findings.append(ok("telegram webhook", "no delivery errors; secret token expected by the service"))
    if info.pending_update_count > 100:
        findings.append(warn("telegram webhook", f"{info.pending_update_count} updates waiting for delivery",
                             "check that the web process answers /webhooks/telegram"))
    return findings


async def check_analyst_webhook(settings: Settings) -> list[Finding]:
    """POST a signed `tipline.doctor` event (no report) the way filed reports are announced."""
    if not settings.analyst_webhook_url:
        return []
    try:
        await send(settings.analyst_webhook_url, settings.analyst_webhook_secret, {"event": "tipline.doctor"})
    except NotificationFailed as exc:
        return [fail("analyst webhook", str(exc),
                     "check ANALYST_WEBHOOK_URL and that the receiver answers 2xx to signed events it does not use")]
    return [ok("analyst webhook", f"{settings.analyst_webhook_url} accepted a signed test event")]


# the whole run -------------------------------------------------------------------------------------

def run_checks(settings: Settings) -> list[Finding]:
    """Every check that applies to `settings`, in the order an operator fixes them."""
    findings = check_settings(settings)
    try:
        recipients = parse_public_keys(settings.analyst_public_keys)
    except KeyFileError as exc:
        return [*findings, fail("analyst keys", f"ANALYST_PUBLIC_KEYS: {exc}",
                                "paste the lines `tipline keys generate` printed, comma-separated")]
    if not recipients:
        return [*findings, fail("analyst keys", "ANALYST_PUBLIC_KEYS is empty",
                                "add each analyst's public key from `tipline keys generate`")]
    findings.append(ok("analyst keys", f"{len(recipients)} analyst public key(s)"))
    findings += check_redis(settings.redis_url, settings.queue_name)
    findings += check_store(settings, recipients)
    remote: list[Callable[[Settings], Awaitable[list[Finding]]]] = []
    if "twilio" in settings.channels:
        remote.append(check_twilio)
    if "telegram" in settings.channels:
        remote.append(check_telegram)
    remote.append(check_analyst_webhook)

    async def providers() -> list[list[Finding]]:
        return list(await asyncio.gather(*(check(settings) for check in remote)))

    for found in asyncio.run(providers()):
        findings += found
    return findings



def doctor_command(env: Mapping[str, str] | None = None) -> int:
    """Print one line per finding; exit 1 when anything FAILed (0 with warnings only).
    `env` defaults to the process environment."""
    import sys

    from config.dev import ensure_dev_settings
    from config.settings import SettingsError, load_settings

    try:
        settings = load_settings(env)
        if not settings.production:
            settings = ensure_dev_settings(settings)
    except SettingsError as exc:
        print(fail("settings", str(exc), "set it in the environment (see .env.example)").render())
        return 1
    findings = run_checks(settings)
    for finding in findings:
        print(finding.render(), flush=True)
    failed = sum(f.level == "FAIL" for f in findings)
    warned = sum(f.level == "warn" for f in findings)
    print(f"tipline doctor: {failed} problem(s), {warned} warning(s)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    import logging
    import sys

    logging.basicConfig(level=logging.WARNING)
    sys.exit(doctor_command())

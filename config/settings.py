"""Typed settings, read once from the environment (12-factor).

A missing or malformed setting raises `SettingsError` with a one-line message naming the variable.
Production mode (`TIPLINE_ENV=production`) refuses the embedded conveniences the dev run relies on.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from config.errors import TiplineError


class SettingsError(TiplineError):
    """A setting is missing or malformed; the message is one line meant for the operator."""


def _key32(env: Mapping[str, str], name: str) -> bytes | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"{name} must be 32 bytes in base64 (see `tipline keys secret`)") from None
    if len(value) != 32:
        raise SettingsError(f"{name} must be 32 bytes in base64, got {len(value)} bytes")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _list(env: Mapping[str, str], name: str, default: str = "") -> tuple[str, ...]:
    raw = env.get(name, default)
    return tuple(part.strip() for part in raw.split(",") if part.strip())


_TEMPLATE = re.compile(r"^([a-z]{2,3}):(HX[0-9a-fA-F]{32})$")


def _templates(env: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    """`lang:ContentSid,...` (approved WhatsApp templates, one per language) as (language, sid) pairs."""
    pairs = []
    for part in _list(env, name):
        found = _TEMPLATE.match(part)
        if found is None:
            raise SettingsError(f"{name} must be a comma-separated list of language:ContentSid (en:HX + 32 hex "
                                f"digits), got {part[:40]!r}")
        pairs.append((found.group(1), found.group(2)))
    return tuple(pairs)


def _redis_format(env: Mapping[str, str]) -> int:
    value = env.get("REDIS_FORMAT", "").strip() or "2"
    if value not in ("1", "2"):
        raise SettingsError(f"REDIS_FORMAT must be 1 or 2, got {value[:20]!r}")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """Everything the web and worker processes need. Secrets never have defaults in production."""

    env: str = "dev"
    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"
    redis_url: str | None = None
    redis_max_connections: int = 200
    redis_retry_seconds: int = 8
    lock_seconds: int = 5
    lock_wait_seconds: int = 10
    store_url: str = "file://var/store"
    s3_endpoint_url: str | None = None
    analyst_public_keys: tuple[str, ...] = ()
    pseudonym_key: bytes = b""
    session_key: bytes = b""
    session_ttl: int = 24 * 3600
    redis_format: int = 2
    """What this release writes to Redis: 2 (compact, the default; read from v0.2.0 on) or 1 (what v0.1.0
    reads). Both are always read (bot/compact.py, docs/operations.md)."""
    reminder_after: int = 30 * 60
    draft_expiry: int = 6 * 3600
    expiry_policy: str = "file"
    addition_window: int = 3600
    album_quiet_ms: int = 1500
    """A burst of files (an album) is acknowledged once, this long after its last file (bot/engine.py)."""
    quiet_sweep_seconds: int = 30
    default_country: str = ""
    channels: tuple[str, ...] = ("simulator",)
    queue_name: str = "tipline"
    max_body_bytes: int = 512 * 1024
    max_media_bytes: int = 20 * 1024 * 1024
    max_text_chars: int = 65536
    """The longest message any channel delivers (WhatsApp 65,536 characters; Telegram 4,096; SMS
    1,600) is kept whole; the body limit admits it form-encoded in any script."""
    media_types: tuple[str, ...] = (
        "image/jpeg", "image/png", "image/webp", "image/gif",
        "video/mp4", "video/3gpp", "video/quicktime",
        "audio/ogg", "audio/mpeg", "audio/mp4", "audio/amr", "audio/aac", "audio/wav",
        "application/pdf",
    )
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    twilio_media_hosts: tuple[str, ...] = (
        "api.twilio.com", "mms.twiliocdn.com", "media.twiliocdn.com", "s3-external-1.amazonaws.com",
    )
    twilio_delete_media: bool = False
    twilio_delete_messages: bool = False
    provider_cleanup_delay: int = 600
    twilio_webhook_shared_key: str = ""
    twilio_send_interval_ms: int = 1000
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    analyst_webhook_url: str = ""
    analyst_webhook_secret: str = ""
    followup_private_key: bytes = b""
    followup_ttl: int = 14 * 24 * 3600
    followup_poll_seconds: int = 30
    twilio_followup_templates: tuple[tuple[str, str], ...] = ()
    dev_notes: tuple[str, ...] = field(default_factory=tuple)
    adapter_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The environment as loaded, for adapters' own settings: read them with `for_adapter`."""

    def for_adapter(self, name: str) -> dict[str, str]:
        """An adapter's own settings: every environment variable `<NAME>_<KEY>` as `{KEY: value}`.

        The one way an adapter reads what is its own, built-in or third-party: the built-ins'
        `TWILIO_*` and `TELEGRAM_*` are also parsed and checked into the typed fields above."""
        prefix = name.upper() + "_"
        return {key[len(prefix):]: value for key, value in self.adapter_env.items() if key.startswith(prefix)}

    @property
    def production(self) -> bool:
        return self.env == "production"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings; in dev mode fill missing secrets from ./var (see config.dev)."""
    env = dict(os.environ if env is None else env)
    mode = env.get("TIPLINE_ENV", "dev").strip().lower() or "dev"
    if mode not in ("dev", "production", "test"):
        raise SettingsError(f"TIPLINE_ENV must be dev, test or production, got {mode!r}")
    var_dir = Path(env.get("TIPLINE_VAR_DIR", "var"))
    port = _int(env, "PORT", 8080, minimum=0)
    host = env.get("HOST", "127.0.0.1" if mode != "production" else "0.0.0.0")  # noqa: S104
    public = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if not public:
        if mode == "production":
            raise SettingsError("PUBLIC_BASE_URL is required in production (e.g. https://tips.example.org)")
        public = f"http://127.0.0.1:{port}"
    if not public.startswith(("http://", "https://")):
        raise SettingsError(f"PUBLIC_BASE_URL must start with http:// or https://, got {public!r}")

    session_ttl = _int(env, "SESSION_TTL", 24 * 3600, minimum=60)
    expiry = _int(env, "DRAFT_EXPIRY", min(6 * 3600, session_ttl // 2), minimum=1)
    settings = Settings(
        env=mode,
        var_dir=var_dir,
        host=host,
        port=port,
        public_base_url=public,
        redis_url=env.get("REDIS_URL", "").strip() or None,
        redis_max_connections=_int(env, "REDIS_MAX_CONNECTIONS", 200, minimum=2),
        redis_retry_seconds=_int(env, "REDIS_RETRY_SECONDS", 8, minimum=1),
        lock_seconds=_int(env, "LOCK_SECONDS", 5, minimum=1),
        lock_wait_seconds=_int(env, "LOCK_WAIT_SECONDS", 10, minimum=1),
        store_url=env.get("STORE_URL", "").strip() or f"file://{var_dir / 'store'}",
        s3_endpoint_url=env.get("S3_ENDPOINT_URL", "").strip() or None,
        analyst_public_keys=_list(env, "ANALYST_PUBLIC_KEYS"),
        pseudonym_key=_key32(env, "PSEUDONYM_KEY") or b"",
        session_key=_key32(env, "SESSION_KEY") or b"",
        session_ttl=session_ttl,
        redis_format=_redis_format(env),
        reminder_after=_int(env, "REMINDER_AFTER", min(30 * 60, expiry // 2), minimum=0),
        draft_expiry=expiry,
        expiry_policy=env.get("EXPIRY_POLICY", "file").strip().lower() or "file",
        addition_window=_int(env, "ADDITION_WINDOW", 3600, minimum=0),
        album_quiet_ms=_int(env, "ALBUM_QUIET_MS", 1500, minimum=0),
        quiet_sweep_seconds=_int(env, "QUIET_SWEEP_SECONDS", 30, minimum=1),
        default_country=env.get("DEFAULT_COUNTRY", "").strip().upper(),
        channels=_list(env, "CHANNELS", "simulator" if mode != "production" else ""),
        queue_name=env.get("QUEUE_NAME", "tipline").strip() or "tipline",
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 512 * 1024, minimum=1024),
        max_media_bytes=_int(env, "MAX_MEDIA_BYTES", 20 * 1024 * 1024, minimum=1024),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", "").strip(),
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", "").strip(),
        twilio_api_base=env.get("TWILIO_API_BASE", "https://api.twilio.com").strip().rstrip("/"),
        twilio_media_hosts=_list(
            env, "TWILIO_MEDIA_HOSTS",
            "api.twilio.com,mms.twiliocdn.com,media.twiliocdn.com,s3-external-1.amazonaws.com",
        ),
        twilio_delete_media=env.get("TWILIO_DELETE_MEDIA", "").strip().lower() in ("1", "true", "yes"),
        twilio_delete_messages=env.get("TWILIO_DELETE_MESSAGES", "").strip().lower() in ("1", "true", "yes"),
        provider_cleanup_delay=_int(env, "PROVIDER_CLEANUP_DELAY", 600, minimum=0),
        twilio_webhook_shared_key=env.get("TWILIO_WEBHOOK_SHARED_KEY", "").strip(),
        twilio_send_interval_ms=_int(env, "TWILIO_SEND_INTERVAL_MS", 1000),
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
        telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
        telegram_api_base=env.get("TELEGRAM_API_BASE", "https://api.telegram.org").strip().rstrip("/"),
        analyst_webhook_url=env.get("ANALYST_WEBHOOK_URL", "").strip(),
        analyst_webhook_secret=env.get("ANALYST_WEBHOOK_SECRET", "").strip(),
        followup_private_key=_key32(env, "FOLLOWUP_PRIVATE_KEY") or b"",
        followup_ttl=_int(env, "FOLLOWUP_TTL", 14 * 24 * 3600, minimum=3600),
        followup_poll_seconds=_int(env, "FOLLOWUP_POLL_SECONDS", 30, minimum=1),
        twilio_followup_templates=_templates(env, "TWILIO_FOLLOWUP_TEMPLATES"),
        adapter_env=env,
    )
    check_quiet_times(settings)
    check_api_bases(settings)
    if settings.analyst_webhook_url:
        if not settings.analyst_webhook_url.startswith(("http://", "https://")):
            raise SettingsError("ANALYST_WEBHOOK_URL must start with http:// or https://")
        if len(settings.analyst_webhook_secret) < 16:
            raise SettingsError("ANALYST_WEBHOOK_SECRET (16+ characters) is required when ANALYST_WEBHOOK_URL is set")
    if mode == "production":
        check_production(settings)
    return settings


def check_quiet_times(settings: Settings) -> None:
    """A draft is handled (EXPIRY_POLICY) before Redis forgets it, and the reminder comes first."""
    if settings.expiry_policy not in ("file", "discard"):
        raise SettingsError(f"EXPIRY_POLICY must be file or discard, got {settings.expiry_policy!r}")
    if settings.draft_expiry >= settings.session_ttl:
        raise SettingsError(
            f"DRAFT_EXPIRY ({settings.draft_expiry}) must be shorter than SESSION_TTL ({settings.session_ttl})"
        )
    if settings.reminder_after and settings.reminder_after >= settings.draft_expiry:
        raise SettingsError(
            f"REMINDER_AFTER ({settings.reminder_after}) must be shorter than DRAFT_EXPIRY ({settings.draft_expiry})"
        )
    if settings.default_country and not (len(settings.default_country) == 2 and settings.default_country.isalpha()):
        raise SettingsError(f"DEFAULT_COUNTRY must be a two-letter country code, got {settings.default_country!r}")


def check_api_bases(settings: Settings) -> None:
    """The providers' APIs (or their local stand-ins) are http(s)://host[:port][/path]; in production over
    https, unless on this machine (a local Bot API server): the requests carry the bot token or account key."""
    for name, base in (("TELEGRAM_API_BASE", settings.telegram_api_base),
                       ("TWILIO_API_BASE", settings.twilio_api_base)):
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise SettingsError(f"{name} must be http(s)://host[:port][/path], got {base!r}")
        if settings.production and parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
            raise SettingsError(f"{name} must use https:// in production (or name this machine: 127.0.0.1)")


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_production(settings: Settings) -> None:
    """Refuse the unsafe defaults: embedded Redis, generated keys, missing channel secrets."""
    if not settings.redis_url:
        raise SettingsError("REDIS_URL is required in production (the embedded Redis is for dev only)")
    for name, value in (("PSEUDONYM_KEY", settings.pseudonym_key), ("SESSION_KEY", settings.session_key)):
        if not value:
            raise SettingsError(f"{name} is required in production (generate one with `tipline keys secret`)")
    if not settings.analyst_public_keys:
        raise SettingsError("ANALYST_PUBLIC_KEYS is required in production (from `tipline keys generate`)")
    if not settings.channels:
        raise SettingsError("CHANNELS is required in production (e.g. twilio,telegram)")
    if "simulator" in settings.channels:
        raise SettingsError("CHANNELS must not include the simulator in production")
    if "twilio" in settings.channels and not (settings.twilio_auth_token and settings.twilio_account_sid):
        raise SettingsError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required when twilio is enabled")
    if "telegram" in settings.channels and not (
        settings.telegram_bot_token and len(settings.telegram_webhook_secret) >= 16
    ):
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET (16+ characters) are required when telegram is enabled"
        )
    if not settings.public_base_url.startswith("https://"):
        raise SettingsError("PUBLIC_BASE_URL must use https:// in production")

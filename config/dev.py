"""Dev conveniences: secrets and an analyst key pair generated once under ./var, never in production."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
from pathlib import Path

from nacl.public import PrivateKey

from config.settings import Settings, SettingsError
from secure_store.keys import encode_public, generate_keypair, write_private_key

DEV_SECRETS = "dev-secrets.json"
DEV_ANALYST_KEY = "dev-analyst-key.json"
DEV_FOLLOWUP_PUBLIC = "dev-followup-public-key"


def _dev_secrets(var_dir: Path) -> dict[str, str]:
    path = var_dir / DEV_SECRETS
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secrets = {
        "PSEUDONYM_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SESSION_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        loaded = json.loads(path.read_text())
        return loaded
    with os.fdopen(fd, "w") as handle:
        json.dump(secrets, handle)
    return secrets


def dev_analyst_public_key(var_dir: Path) -> str:
    """The dev analyst key pair's public half, creating the pair under var/ on first use."""
    path = var_dir / DEV_ANALYST_KEY
    if not path.exists():
        _, content = generate_keypair()
        with contextlib.suppress(FileExistsError):
            write_private_key(path, content)
    public: str = json.loads(path.read_text())["public"]
    return public


def dev_followup_key(var_dir: Path) -> bytes:
    """The dev follow-up key pair (docs/follow-up.md): the private half lives with the dev secrets, the
    public half in var/dev-followup-public-key for `FOLLOWUP_PUBLIC_KEY=$(cat ...) tipline reports ask`."""
    secrets = _dev_secrets(var_dir)
    private = secrets.get("FOLLOWUP_PRIVATE_KEY")
    if private is None:
        private = base64.b64encode(bytes(PrivateKey.generate())).decode()
        secrets["FOLLOWUP_PRIVATE_KEY"] = private
        path = var_dir / DEV_SECRETS
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(secrets, handle)
        temporary.replace(path)
    key = base64.b64decode(private)
    (var_dir / DEV_FOLLOWUP_PUBLIC).write_text(encode_public(PrivateKey(key).public_key) + "\n")
    return key


def ensure_dev_settings(settings: Settings) -> Settings:
    """Fill missing secrets from ./var in dev and test mode; production is returned unchanged."""
    if settings.production:
        return settings
    notes: list[str] = []
    changes: dict[str, object] = {}
    if not settings.pseudonym_key or not settings.session_key:
        secrets = _dev_secrets(settings.var_dir)
        if not settings.pseudonym_key:
            changes["pseudonym_key"] = base64.b64decode(secrets["PSEUDONYM_KEY"])
        if not settings.session_key:
            changes["session_key"] = base64.b64decode(secrets["SESSION_KEY"])
        notes.append(f"dev secrets from {settings.var_dir / DEV_SECRETS}")
    if not settings.analyst_public_keys:
        changes["analyst_public_keys"] = (dev_analyst_public_key(settings.var_dir),)
        notes.append(
            f"dev analyst key pair at {settings.var_dir / DEV_ANALYST_KEY} "
            "(read reports with --key var/dev-analyst-key.json)"
        )
    if settings.env == "dev" and not settings.followup_private_key:
        changes["followup_private_key"] = dev_followup_key(settings.var_dir)
        notes.append(f"dev follow-up key: ask with FOLLOWUP_PUBLIC_KEY from {settings.var_dir / DEV_FOLLOWUP_PUBLIC}")
    if not changes:
        return settings
    try:
        return dataclasses.replace(settings, dev_notes=settings.dev_notes + tuple(notes), **changes)  # type: ignore[arg-type]
    except TypeError as exc:
        raise SettingsError(str(exc)) from None

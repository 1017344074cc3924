"""Analyst key pairs (X25519). The service holds only public keys; private keys stay with analysts."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey, PublicKey

from config.errors import Refused

PUBLIC_PREFIX = "tipline-pk:"
KEY_FILE_TYPE = "tipline-analyst-key"


class KeyFileError(Refused, ValueError):
    """A key is malformed or unreadable; the message is one line for the operator or analyst."""


@dataclass(frozen=True)
class Recipient:
    """One analyst public key and its short id (`kid`), as written in sealed objects."""

    public_key: PublicKey
    kid: str

    @property
    def text(self) -> str:
        return encode_public(self.public_key)


def key_id(public_key: PublicKey) -> str:
    return hashlib.sha256(bytes(public_key)).hexdigest()[:16]


def encode_public(public_key: PublicKey) -> str:
    return PUBLIC_PREFIX + base64.urlsafe_b64encode(bytes(public_key)).decode().rstrip("=")


def parse_public_key(text: str) -> Recipient:
    text = text.strip()
    if not text.startswith(PUBLIC_PREFIX):
        raise KeyFileError(f"analyst public key must start with {PUBLIC_PREFIX!r}")
    raw = text[len(PUBLIC_PREFIX):]
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        raise KeyFileError("analyst public key is not valid base64") from None
    if len(data) != 32:
        raise KeyFileError(f"analyst public key must be 32 bytes, got {len(data)}")
    public = PublicKey(data)
    return Recipient(public_key=public, kid=key_id(public))


def parse_public_keys(texts: tuple[str, ...] | list[str]) -> list[Recipient]:
    """Parse `ANALYST_PUBLIC_KEYS`; duplicates are dropped, order kept."""
    seen: dict[str, Recipient] = {}
    for text in texts:
        recipient = parse_public_key(text)
        seen.setdefault(recipient.kid, recipient)
    return list(seen.values())


def generate_keypair() -> tuple[str, str]:
    """Return (public key text, private key file content)."""
    private = PrivateKey.generate()
    public_text = encode_public(private.public_key)
    content = json.dumps(
        {
            "type": KEY_FILE_TYPE,
            "public": public_text,
            "secret": base64.b64encode(bytes(private)).decode(),
        },
        indent=2,
    )
    return public_text, content + "\n"


def write_private_key(path: Path, content: str) -> None:
    """Write a private key file readable by its owner only; never overwrites an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


def load_private_key(path: Path | str) -> PrivateKey:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise KeyFileError(f"no key file at {path}") from None
    except (OSError, ValueError):
        raise KeyFileError(f"{path} is not a tipline analyst key file") from None
    if not isinstance(data, dict) or data.get("type") != KEY_FILE_TYPE:
        raise KeyFileError(f"{path} is not a tipline analyst key file")
    try:
        secret = base64.b64decode(data["secret"], validate=True)
        return PrivateKey(secret)
    except (KeyError, ValueError, TypeError):
        raise KeyFileError(f"{path} holds a damaged key") from None

"""Envelope encryption: each object under a fresh key, that key sealed to every analyst.

Format: MAGIC, 2-byte header length, JSON header (version, kind, sealed keys per recipient),
then a libsodium secretstream (XChaCha20-Poly1305) in fixed-size chunks, the last one tagged
FINAL. The header is bound to every chunk, so tampering, truncation or appended bytes fail to open.
Sealing needs only public keys: the service can write but never read what it filed.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Iterator
from typing import Any

import nacl.bindings as sodium
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from config.errors import Refused
from secure_store.keys import Recipient, key_id

MAGIC = b"TIPSEAL1"
CHUNK = 64 * 1024
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_HEADERBYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


class SealError(Refused):
    """The object cannot be opened: damaged, tampered, truncated, or not sealed to this key."""


class NotForThisKey(SealError):
    """The object is intact as far as can be told, but not sealed to the given key."""


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start:start + CHUNK]


def seal(plaintext: bytes, recipients: Iterable[Recipient], kind: str) -> bytes:
    """Encrypt `plaintext` so that only the holders of the recipients' private keys can open it."""
    return b"".join(seal_stream(_chunks(plaintext), recipients, kind))


def seal_stream(pieces: Iterable[bytes], recipients: Iterable[Recipient], kind: str) -> Iterator[bytes]:
    """Seal a stream of plaintext pieces (any sizes) chunk by chunk, yielding ciphertext."""
    recipients = list(recipients)
    if not recipients:
        raise SealError("no analyst public keys configured; refusing to store anything unsealed")
    key = sodium.crypto_secretstream_xchacha20poly1305_keygen()
    header = json.dumps(
        {
            "v": 1,
            "kind": kind,
            "chunk": CHUNK,
            "to": [
                {"kid": r.kid, "key": base64.b64encode(SealedBox(r.public_key).encrypt(key)).decode()}
                for r in recipients
            ],
        },
        separators=(",", ":"),
    ).encode()
    yield MAGIC + struct.pack(">H", len(header)) + header
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    yield sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    buffer = b""
    for piece in pieces:
        buffer += piece
        while len(buffer) > CHUNK:
            chunk, buffer = buffer[:CHUNK], buffer[CHUNK:]
            yield sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, header, _TAG_MESSAGE)
    yield sodium.crypto_secretstream_xchacha20poly1305_push(state, buffer, header, _TAG_FINAL)


def read_header(blob: bytes) -> tuple[dict[str, Any], int]:
    """Parse the clear header (kind, recipients) without decrypting; returns (header, body offset)."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 2:
        raise SealError("not a sealed tipline object")
    (length,) = struct.unpack(">H", blob[len(MAGIC):len(MAGIC) + 2])
    start = len(MAGIC) + 2
    raw = blob[start:start + length]
    try:
        header = json.loads(raw)
    except ValueError:
        raise SealError("sealed object header is damaged") from None
    if not isinstance(header, dict) or header.get("v") != 1:
        raise SealError("sealed object has an unknown version")
    return header, start + length


def open_sealed(blob: bytes, private_key: PrivateKey) -> tuple[str, bytes]:
    """Decrypt and verify a sealed object; returns (kind, plaintext) or raises SealError."""
    header, offset = read_header(blob)
    raw_header = blob[len(MAGIC) + 2:offset]
    kid = key_id(private_key.public_key)
    sealed_key = next((entry["key"] for entry in header.get("to", []) if entry.get("kid") == kid), None)
    if sealed_key is None:
        raise NotForThisKey("this object is not sealed to your key")
    try:
        key = SealedBox(private_key).decrypt(base64.b64decode(sealed_key))
    except (CryptoError, ValueError):
        raise SealError("the sealed key for your key id is damaged") from None
    stream_header = blob[offset:offset + _HEADERBYTES]
    if len(stream_header) != _HEADERBYTES:
        raise SealError("sealed object is truncated")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, stream_header, key)
    except (CryptoError, ValueError):
        raise SealError("sealed object is damaged") from None
    chunk_len = int(header.get("chunk", CHUNK)) + _ABYTES
    position = offset + _HEADERBYTES
    parts: list[bytes] = []
    while True:
        piece = blob[position:position + chunk_len]
        if not piece:
            raise SealError("sealed object is truncated")
        position += len(piece)
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, piece, raw_header)
        except (CryptoError, ValueError):
            raise SealError("sealed object was tampered with or is damaged") from None
        parts.append(plain)
        if tag == _TAG_FINAL:
            break
    if position != len(blob):
        raise SealError("sealed object has unexpected bytes after its end")
    return str(header.get("kind", "")), b"".join(parts)

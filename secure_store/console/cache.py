"""The local cache of what this analyst already decrypted, sealed to their own key.

Opening 10,000 reports means 10,000 downloads and decryptions; the cache keeps the opened documents
(and triage events) in one object sealed like any other, so the next start reads one file and fetches
only what is new. Without the private key the file is as unreadable as the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from secure_store.keys import Recipient, key_id
from secure_store.seal import SealError, open_sealed, seal

KIND = "console-cache"
VERSION = 1


def cache_path(folder: Path, key: PrivateKey, store_url: str) -> Path:
    """One cache per analyst key and store, named by hashes only (the store's address is not in it)."""
    digest = hashlib.sha256(store_url.encode()).hexdigest()[:16]
    return folder / f"console-{key_id(key.public_key)}-{digest}.sealed"


def default_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tipline"


def empty() -> dict[str, Any]:
    return {"v": VERSION, "reports": {}, "triage": {}, "countries": {}, "others": {}, "kids": []}


def load(path: Path, key: PrivateKey) -> tuple[dict[str, Any], str | None]:
    """The cached state and, if the file was unusable, why it was started afresh (never fatal)."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return empty(), None
    except OSError as exc:
        return empty(), f"cache {path} unreadable ({exc.strerror}); starting afresh"
    try:
        kind, plaintext = open_sealed(blob, key)
        state = json.loads(plaintext)
    except (SealError, ValueError) as exc:
        return empty(), f"cache {path} could not be opened ({exc}); starting afresh"
    if kind != KIND or not isinstance(state, dict) or state.get("v") != VERSION:
        return empty(), f"cache {path} is of another version; starting afresh"
    return state, None


def save(path: Path, key: PrivateKey, state: dict[str, Any]) -> None:
    """Seal to the analyst's own public key and replace the file atomically (mode 600)."""
    me = Recipient(key.public_key, key_id(key.public_key))
    sealed = seal(json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode(), [me], KIND)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(sealed)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

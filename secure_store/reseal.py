"""Re-seal stored objects to the current set of analyst keys, on an analyst's own machine.

When an analyst joins, new reports are sealed to them as soon as their public key is in
`ANALYST_PUBLIC_KEYS`; older ones are not, until an analyst who can open them re-seals them. When an
analyst leaves, their key is removed from the setting and older objects are re-sealed without it.
Re-sealing decrypts each object with the analyst's private key (locally: plaintext never leaves
this process), seals it to exactly the new set, checks the new object opens, and only then
replaces the stored one. Objects already sealed to exactly that set are left alone, so a run that
was interrupted can simply be run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nacl.public import PrivateKey

from secure_store.backends import Store, StoreError
from secure_store.keys import Recipient, key_id
from secure_store.seal import NotForThisKey, SealError, open_sealed, read_header, seal

SKIPPED_PREFIXES = ("doctor/",)


@dataclass
class Resealed:
    """What a run did: names re-sealed, already current, not openable with this key, or not sealed."""

    resealed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    not_yours: list[str] = field(default_factory=list)
    not_sealed: list[str] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)


def reseal_store(store: Store, key: PrivateKey, recipients: list[Recipient], dry_run: bool = False,
                 progress: Callable[[str, str], None] | None = None) -> Resealed:
    """Re-seal every sealed object in `store` that `key` can open to exactly `recipients`."""
    if not recipients:
        raise SealError("no analyst public keys to re-seal to")
    if key_id(key.public_key) not in {r.kid for r in recipients}:
        raise SealError("your own key is not in the new set: you would lose access to every report")
    wanted = sorted(r.kid for r in recipients)
    done = Resealed()
    for name in sorted(store.names("")):
        if name.startswith(SKIPPED_PREFIXES):
            continue
        outcome = _reseal_one(store, key, recipients, wanted, name, done, dry_run)
        if progress is not None:
            progress(name, outcome)
    return done


def _reseal_one(store: Store, key: PrivateKey, recipients: list[Recipient], wanted: list[str], name: str,
                done: Resealed, dry_run: bool) -> str:
    blob = store.get(name)
    try:
        header, _ = read_header(blob)
    except SealError:
        done.not_sealed.append(name)
        return "not sealed"
    if sorted(str(entry.get("kid")) for entry in header.get("to", [])) == wanted:
        done.current.append(name)
        return "current"
    try:
        kind, plaintext = open_sealed(blob, key)
    except NotForThisKey:
        done.not_yours.append(name)
        return "not yours"
    except SealError as exc:
        done.damaged.append((name, str(exc)))
        return "damaged"
    if dry_run:
        done.resealed.append(name)
        return "would re-seal"
    fresh = seal(plaintext, recipients, kind)
    if open_sealed(fresh, key) != (kind, plaintext):  # never replace what cannot be read back
        raise StoreError(f"re-sealed {name} did not open again; nothing replaced")
    store.replace(name, fresh)
    done.resealed.append(name)
    return "re-sealed"

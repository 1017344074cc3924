"""`tipline reports reseal`: run on an analyst's own machine after the team's keys changed.

It needs only the store's address (`--store` or `STORE_URL`, `S3_ENDPOINT_URL` for S3-compatible
servers), the analyst's private key, and the new set of public keys (`--to` or
`ANALYST_PUBLIC_KEYS`). Every problem is one line on stderr and a non-zero exit. Arguments: bot/cli.py.
"""

from __future__ import annotations

import argparse
import os
import sys

from secure_store.analyst import open_analyst_store
from secure_store.backends import StoreError
from secure_store.keys import KeyFileError, load_private_key, parse_public_keys
from secure_store.reseal import reseal_store
from secure_store.seal import SealError


def reseal_command(args: argparse.Namespace) -> int:
    keys = args.to if args.to is not None else os.environ.get("ANALYST_PUBLIC_KEYS", "")
    try:
        key = load_private_key(args.key)
        recipients = parse_public_keys([part for part in keys.split(",") if part.strip()])
        store, _ = open_analyst_store(args.store, os.environ)
        done = reseal_store(store, key, recipients, dry_run=args.dry_run)
    except (KeyFileError, SealError, StoreError) as exc:
        return _fail(str(exc))
    verb = "would re-seal" if args.dry_run else "re-sealed"
    print(f"{verb} {len(done.resealed)}, already sealed to these {len(recipients)} key(s) {len(done.current)}, "
          f"not sealed to your key {len(done.not_yours)}, not sealed objects {len(done.not_sealed)}, "
          f"damaged {len(done.damaged)}")
    for name in done.not_yours:
        print(f"tipline: {name} is not sealed to your key: an analyst who can open it must re-seal it",
              file=sys.stderr)
    for name, problem in done.damaged:
        print(f"tipline: {name} left as it is: {problem}", file=sys.stderr)
    return 1 if done.not_yours or done.damaged else 0


def _fail(message: str) -> int:
    print(f"tipline: {message}", file=sys.stderr)
    return 1

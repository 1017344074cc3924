"""`tipline flows check|diagram`: for operators editing flow files."""

from __future__ import annotations

import argparse
import sys

from flows.diagram import mermaid
from flows.spec import FlowError, load_flow


def flows_command(args: argparse.Namespace) -> int:
    try:
        spec = load_flow(args.path) if args.path else load_flow()
    except FlowError as exc:
        print(f"tipline: {exc}", file=sys.stderr)
        return 1
    if args.flows_command == "check":
        print(f"{spec.path}: ok ({len(spec.steps)} steps)")
        return 0
    print(mermaid(spec))
    return 0

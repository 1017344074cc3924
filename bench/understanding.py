"""How long understanding one reply takes: `ReportFlow.step` over the natural replies of
`tests/replies/` and `tests/replies_heldout/` (no Redis, no web app), per step kind.

Understanding is on the webhook's hot path: a step should stay well under 0.1 ms. Run:
`python -m bench.understanding`.
"""

from __future__ import annotations

import timeit
from collections import defaultdict
from pathlib import Path

import yaml

from flows.machine import Conversation, ReportFlow, Said

TESTS = Path(__file__).resolve().parent.parent / "tests"
ROUNDS = 5


def replies(flow: ReportFlow) -> list[tuple[str, str, str]]:
    """(step, language, text) of every corpus reply in a language this build has."""
    found = []
    for folder in ("replies", "replies_heldout"):
        for path in sorted((TESTS / folder).glob("*.yaml")):
            language = path.stem.split(".")[0]
            if language in flow.locales:
                found += [(str(step), language, str(text))
                          for step, text, _ in yaml.safe_load(path.read_text(encoding="utf-8"))]
    return found


def main() -> None:
    flow = ReportFlow()
    by_kind: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    every = replies(flow)
    for reply in every:
        by_kind[flow.spec.step(reply[0]).kind].append(reply)

    def run(batch: list[tuple[str, str, str]]) -> None:
        for step, language, text in batch:
            flow.step(Conversation(state=step, language=language, answers={"description": ["x"]}), Said(text=text))

    run(every)  # warm the typo cache, as a running service has
    print(f"ReportFlow.step over {len(every)} corpus replies, best of {ROUNDS}:")
    for kind, batch in sorted(by_kind.items()):
        seconds = min(timeit.repeat(lambda batch=batch: run(batch), number=3, repeat=ROUNDS)) / 3 / len(batch)
        print(f"  {kind:<9} {len(batch):>5} replies  {seconds * 1e6:7.1f} us per step")
    seconds = min(timeit.repeat(lambda: run(every), number=1, repeat=ROUNDS)) / len(every)
    print(f"  {'all':<9} {len(every):>5} replies  {seconds * 1e6:7.1f} us per step")


if __name__ == "__main__":
    main()

"""Flow files: the steps of a conversation as data, validated when loaded.

A flow file lists steps; each has an id, a kind, a prompt (a locale message key), optional
options, what answer key it stores, and where it goes next. Errors name the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STEP_KINDS = ("choice", "text", "location", "media", "review", "final")
FLOWS_DIR = Path(__file__).parent


class FlowError(ValueError):
    """The flow file is invalid; the message names the file and line."""


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    prompt: str
    next: str | None = None
    store: str | None = None
    options: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class FlowSpec:
    name: str
    start: str
    steps: dict[str, Step] = field(default_factory=dict)
    path: Path | None = None

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]


def _line(node: Any) -> int:
    mark = getattr(node, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def load_flow(path: Path | str = FLOWS_DIR / "report.yaml") -> FlowSpec:
    """Load and validate a flow file; raise FlowError naming `path:line` on the first fault."""
    path = Path(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlowError(f"{path}: cannot read flow file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise FlowError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None

    def fail(node: Any, message: str) -> FlowError:
        return FlowError(f"{path}:{_line(node)}: {message}")

    if not isinstance(root, yaml.MappingNode):
        raise fail(root, "a flow file is a mapping with `flow`, `start` and `steps`")
    top = {key.value: value for key, value in root.value}
    for required in ("flow", "start", "steps"):
        if required not in top:
            raise fail(root, f"missing `{required}`")
    steps_node = top["steps"]
    if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        raise fail(steps_node, "`steps` must be a non-empty list")

    steps: dict[str, Step] = {}
    for node in steps_node.value:
        if not isinstance(node, yaml.MappingNode):
            raise fail(node, "each step is a mapping")
        data = yaml.safe_load(yaml.serialize(node))
        known = {"id", "kind", "prompt", "next", "store", "options"}
        unknown = set(data) - known
        if unknown:
            raise fail(node, f"unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
        step_id = data.get("id")
        if not isinstance(step_id, str) or not step_id.isidentifier():
            raise fail(node, "step `id` must be a plain name (letters, digits, _)")
        if step_id in steps:
            raise fail(node, f"step id {step_id!r} is used twice")
        kind = data.get("kind")
        if kind not in STEP_KINDS:
            raise fail(node, f"step {step_id!r}: kind must be one of {', '.join(STEP_KINDS)}")
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise fail(node, f"step {step_id!r}: `prompt` (a locale message key) is required")
        options = data.get("options") or []
        if kind == "choice" and (not isinstance(options, list) or len(options) < 2):
            raise fail(node, f"step {step_id!r}: a choice needs at least two `options`")
        if kind != "final" and not data.get("next"):
            raise fail(node, f"step {step_id!r}: `next` is required (only `final` steps end a flow)")
        steps[step_id] = Step(
            id=step_id,
            kind=kind,
            prompt=prompt,
            next=data.get("next"),
            store=data.get("store"),
            options=tuple(str(o) for o in options),
            line=_line(node),
        )

    start = top["start"].value
    if start not in steps:
        raise fail(top["start"], f"start step {start!r} is not defined")
    for step in steps.values():
        if step.next is not None and step.next not in steps:
            raise FlowError(f"{path}:{step.line}: step {step.id!r} goes next to unknown step {step.next!r}")
    return FlowSpec(name=str(top["flow"].value), start=start, steps=steps, path=path)

"""Flow files: the steps of a conversation as data, validated when loaded.

A flow file lists steps; each has an id, a kind, where it goes next (and, for choices, where
particular answers branch to), what answer it stores and how long an answer may be. Loading
fails with `FlowError` naming `file:line` of the first fault, including steps no path reaches
and steps from which no path ends the conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.errors import TiplineError
from flows.kinds import KINDS

FLOWS_DIR = Path(__file__).parent
STEP_FIELDS = {"id", "kind", "prompt", "next", "branch", "store", "options", "optional", "max_chars", "end", "review"}
TOP_FIELDS = {"flow", "start", "restart", "addendum", "after_filing", "urgent", "follow_up", "steps"}


class FlowError(TiplineError, ValueError):
    """The flow file is invalid; the message names the file and line."""


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    prompt: str
    next: str | None = None
    branch: dict[str, str] = field(default_factory=dict)
    store: str | None = None
    options: tuple[str, ...] = ()
    optional: bool = False
    max_chars: int = 1000
    end: str | None = None
    review: bool = True
    line: int = 0

    def answers(self) -> tuple[str, ...]:
        """The answer keys a reporter can pick at this step (choices and yes/no)."""
        return KINDS[self.kind].answers(self)


@dataclass(frozen=True)
class FlowSpec:
    name: str
    start: str
    steps: dict[str, Step] = field(default_factory=dict)
    restart: str = ""
    addendum: str | None = None
    after_filing: str | None = None
    urgent: str | None = None
    follow_up: str | None = None
    path: Path | None = None

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def edges(self) -> Iterator[tuple[str, str, str]]:
        """(source, destination, label) for every way the flow moves forward."""
        for step in self.steps.values():
            for answer, dest in step.branch.items():
                yield step.id, dest, answer
            if step.next:
                yield step.id, step.next, "" if not step.branch else "else"

    def fields(self) -> list[Step]:
        """Steps whose answers the reporter can review and edit, in flow order."""
        main = reachable([self.start], self.forward())
        return [s for s in self.steps.values() if s.store and s.review and s.id in main]

    def forward(self) -> dict[str, set[str]]:
        graph: dict[str, set[str]] = {s: set() for s in self.steps}
        for source, dest, _ in self.edges():
            graph[source].add(dest)
        return graph

    def entries(self) -> list[str]:
        return [self.start] + [entry for entry in (self.addendum, self.after_filing) if entry]


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
    for key_node, _ in root.value:
        if key_node.value not in TOP_FIELDS:
            raise fail(key_node, f"unknown field {key_node.value!r}; allowed: {', '.join(sorted(TOP_FIELDS))}")
    for required in ("flow", "start", "steps"):
        if required not in top:
            raise fail(root, f"missing `{required}`")
    steps_node = top["steps"]
    if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        raise fail(steps_node, "`steps` must be a non-empty list")

    steps: dict[str, Step] = {}
    nodes: dict[str, Any] = {}
    for node in steps_node.value:
        step = _step(node, fail, steps)
        steps[step.id] = step
        nodes[step.id] = node

    def ref(name: str, required: bool = False) -> str | None:
        node = top.get(name)
        if node is None:
            if required:
                raise fail(root, f"missing `{name}`")
            return None
        if node.value not in steps:
            raise fail(node, f"`{name}` names unknown step {node.value!r}")
        return str(node.value)

    start = ref("start", required=True) or ""
    for step in steps.values():
        for target in [step.next, *step.branch.values()]:
            if target is not None and target not in steps:
                fields = {key.value: value for key, value in nodes[step.id].value}
                where = fields["next"] if target == step.next else fields["branch"]
                raise fail(where, f"step {step.id!r} goes to unknown step {target!r}")
    stores = {s.store for s in steps.values() if s.store}
    for name in ("urgent", "follow_up"):
        node = top.get(name)
        if node is not None and node.value not in stores:
            raise fail(node, f"`{name}` names {node.value!r}, which no step stores")
    spec = FlowSpec(
        name=str(top["flow"].value),
        start=start,
        steps=steps,
        restart=ref("restart") or start,
        addendum=ref("addendum"),
        after_filing=ref("after_filing"),
        urgent=top["urgent"].value if "urgent" in top else None,
        follow_up=top["follow_up"].value if "follow_up" in top else None,
        path=path,
    )
    _check_graph(spec, nodes, fail)
    return spec


def _step(node: Any, fail: Callable[[Any, str], FlowError], steps: dict[str, Step]) -> Step:
    if not isinstance(node, yaml.MappingNode):
        raise fail(node, "each step is a mapping")
    for key_node, _ in node.value:
        if key_node.value not in STEP_FIELDS:
            raise fail(key_node, f"unknown field {key_node.value!r}; allowed: {', '.join(sorted(STEP_FIELDS))}")
    data = yaml.safe_load(yaml.serialize(node))
    values = {key.value: value for key, value in node.value}

    def bad(name: str, message: str) -> FlowError:
        return fail(values.get(name, node), message)

    step_id = data.get("id")
    if not isinstance(step_id, str) or not step_id.isidentifier():
        raise bad("id", "step `id` must be a plain name (letters, digits, _)")
    if step_id in steps:
        raise bad("id", f"step id {step_id!r} is used twice")
    kind = data.get("kind")
    if kind not in KINDS:
        raise bad("kind", f"step {step_id!r}: kind must be one of {', '.join(KINDS)}")
    step_kind = KINDS[kind]
    prompt = data.get("prompt", f"{step_id}.prompt")
    if not isinstance(prompt, str) or not prompt:
        raise bad("prompt", f"step {step_id!r}: `prompt` must be a locale message key")
    step_kind.check(step_id, data, bad)
    options = data.get("options") or []
    nxt = data.get("next")
    if not step_kind.final:
        if not isinstance(nxt, str):
            raise bad("next", f"step {step_id!r}: `next` is required (only `final` steps end a flow)")
        if "end" in data:
            raise bad("end", f"step {step_id!r}: only a final step has `end`")
    branch = data.get("branch") or {}
    if not isinstance(branch, dict):
        raise bad("branch", f"step {step_id!r}: `branch` maps answers to steps")
    branch = {str(k): v for k, v in branch.items()}
    allowed = step_kind.answers(Step(id=step_id, kind=kind, prompt=prompt, options=tuple(options)))
    for answer, target in branch.items():
        if answer not in allowed or not isinstance(target, str):
            choices = ", ".join(allowed) or "none"
            raise bad("branch", f"step {step_id!r}: `branch` answer {answer!r} is not one of {choices}")
    max_chars = data.get("max_chars", 1000)
    if not isinstance(max_chars, int) or max_chars < 1:
        raise bad("max_chars", f"step {step_id!r}: `max_chars` must be a positive whole number")
    optional = data.get("optional", False)
    if not isinstance(optional, bool):
        raise bad("optional", f"step {step_id!r}: `optional` is true or false")
    review = data.get("review", True)
    if not isinstance(review, bool):
        raise bad("review", f"step {step_id!r}: `review` is true or false")
    store = data.get("store")
    if store is not None and (not isinstance(store, str) or not store.isidentifier()):
        raise bad("store", f"step {step_id!r}: `store` must be a plain name")
    if store and not step_kind.stores:
        raise bad("store", f"step {step_id!r}: a {kind} step stores nothing")
    return Step(id=step_id, kind=kind, prompt=prompt, next=nxt, branch=branch, store=store,
                options=tuple(options), optional=optional, max_chars=max_chars, end=data.get("end"),
                review=review, line=_line(node))


def _check_graph(spec: FlowSpec, nodes: dict[str, Any], fail: Callable[[Any, str], FlowError]) -> None:
    """Every step is reachable from an entry and can reach a final step."""
    backward: dict[str, set[str]] = {s: set() for s in spec.steps}
    for source, dest, _ in spec.edges():
        backward[dest].add(source)
    reached = reachable(spec.entries(), spec.forward())
    for step_id in spec.steps:
        if step_id not in reached:
            raise fail(nodes[step_id], f"step {step_id!r} cannot be reached from `start`, `addendum` or `after_filing`")
    ending = reachable([s.id for s in spec.steps.values() if s.kind == "final"], backward)
    for step_id in spec.steps:
        if step_id not in ending:
            raise fail(nodes[step_id], f"step {step_id!r} is a dead end: no path from it reaches a final step")


def reachable(seeds: list[str], graph: dict[str, set[str]]) -> set[str]:
    """Every step reachable from `seeds` along `graph` (the seeds included)."""
    seen: set[str] = set()
    todo = list(seeds)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(graph[current])
    return seen

"""The flow file as data: loading names the faulty line, the shipped flow's graph has no
unreachable or dead-end state, and the checked-in diagram matches the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.cli_flows import document
from flows.machine import ReportFlow
from flows.spec import FlowError, load_flow

ROOT = Path(__file__).resolve().parent.parent

GOOD = """flow: t
start: a
steps:
  - id: a
    kind: choice
    options: [x, y]
    store: a
    next: b
    branch: {y: c}
  - id: b
    kind: text
    store: b
    next: c
  - id: c
    kind: final
    end: submit
"""


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("    kind: text\n", "    kind: txt\n", 11, "kind must be one of"),
    ("    next: c\n  - id: c", "    nxt: c\n  - id: c", 13, "unknown field 'nxt'"),
    ("    next: c\n  - id: c", "    next: z\n  - id: c", 13, "goes to unknown step 'z'"),
    ("branch: {y: c}", "branch: {maybe: c}", 9, "`branch` answer 'maybe'"),
    ("    next: b\n", "    next: c\n", 10, "step 'b' cannot be reached"),
    ("    store: b\n    next: c", "    store: b\n    next: b", 10, "step 'b' is a dead end"),
    ("    options: [x, y]\n", "    options: [x]\n", 6, "at least two `options`"),
    ("start: a", "start: nowhere", 2, "unknown step 'nowhere'"),
    ("    end: submit", "    end: explode", 16, "needs `end`"),
    ("  - id: b\n", "  - id: a\n", 10, "used twice"),
])
def test_a_broken_flow_file_fails_with_the_exact_line(tmp_path: Path, old: str, new: str, line: int,
                                                      message: str) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(GOOD)
    assert load_flow(path).start == "a"
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(FlowError) as failure:
        load_flow(path)
    assert str(failure.value).startswith(f"{path}:{line}: "), str(failure.value)
    assert message in str(failure.value)


def test_broken_yaml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(GOOD.replace("    store: b\n", "    store: [b\n"))
    with pytest.raises(FlowError, match=rf"^{path}:\d+: not valid YAML"):
        load_flow(path)


def test_every_state_of_the_shipped_machine_is_reachable_and_can_finish() -> None:
    """Walk the transitions machine itself (not the file): from the entries, following every
    trigger except the global ones, every state is reached and every state reaches a final one."""
    flow = ReportFlow()
    graph: dict[str, set[str]] = {state: set() for state in flow.machine.states}
    for trigger in flow.machine.get_triggers(*flow.machine.states):
        if trigger in ("restart", "change_language"):
            continue
        for event_transitions in flow.machine.events[trigger].transitions.values():
            for transition in event_transitions:
                graph[transition.source].add(transition.dest)
    reached: set[str] = set()
    todo = list(flow.spec.entries())
    while todo:
        state = todo.pop()
        if state not in reached:
            reached.add(state)
            todo.extend(graph[state])
    assert reached == set(flow.machine.states)
    finals = {s.id for s in flow.spec.steps.values() if s.kind == "final"}
    for state in graph:
        seen, todo = set(), [state]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(graph[current])
        assert seen & finals, f"{state} is a dead end"
        if state in finals:
            assert not graph[state], f"final state {state} has a way out"


def test_checked_in_diagram_matches_the_flow_file() -> None:
    assert (ROOT / "docs" / "report-flow.md").read_text() == document(load_flow())


def test_flows_check_and_diagram_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "check"]) == 0
    assert "ok (18 steps)" in capsys.readouterr().out
    broken = tmp_path / "flow.yaml"
    broken.write_text(GOOD.replace("    kind: text\n", "    kind: txt\n"))
    assert main(["flows", "check", str(broken)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"tipline: {broken}:11: ") and "\n" not in error
    assert main(["flows", "diagram"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stateDiagram-v2") and "danger --> danger_help : yes" in out

"""Draw a flow as a Mermaid state diagram (renders on GitHub and in most docs tools)."""

from __future__ import annotations

from flows.spec import FlowSpec


def mermaid(spec: FlowSpec) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {spec.start}"]
    for step in spec.steps.values():
        if step.next:
            lines.append(f"    {step.id} --> {step.next}")
        elif step.kind == "final":
            lines.append(f"    {step.id} --> [*]")
    return "\n".join(lines) + "\n"

"""Draw a flow as a Mermaid state diagram (renders on GitHub and in most docs tools)."""

from __future__ import annotations

from flows.spec import FlowSpec


def mermaid(spec: FlowSpec) -> str:
    """Every step and every forward move of the flow file, labelled with the answer that takes it;
    review edits as `edit N`. Global words (HELP, BACK, RESTART, CANCEL, DELETE, LANGUAGE) work
    at every step and are listed in a note rather than drawn."""
    lines = ["stateDiagram-v2"]
    for entry in spec.entries():
        lines.append(f"    [*] --> {entry}")
    for step in spec.steps.values():
        lines.append(f"    {step.id} : {step.id} ({step.kind}{', optional' if step.optional else ''})")
    for source, dest, label in spec.edges():
        lines.append(f"    {source} --> {dest}" + (f" : {label}" if label else ""))
    fields = spec.fields()
    for step in spec.steps.values():
        if step.kind == "review":
            for number, target in enumerate(fields, 1):
                lines.append(f"    {step.id} --> {target.id} : edit {number}")
        if step.kind == "final":
            lines.append(f"    {step.id} --> [*] : {step.end}")
    lines.append(f"    note right of {spec.start}")
    lines.append("        Any step: HELP, BACK, RESTART, CANCEL, DELETE, LANGUAGE")
    lines.append(f"        RESTART returns to {spec.restart}; LANGUAGE to the language step and back")
    lines.append("    end note")
    return "\n".join(lines) + "\n"

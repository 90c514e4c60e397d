"""Flowcharts of a process: Mermaid (drawn in the page) and Graphviz DOT (for export), from one definition.

Each stage shows its name, owner role and time limit; its shape and colour say its kind (open, won, lost,
done); the initial stage is marked by a start node; transitions carry their labels.
"""

from __future__ import annotations

from friday.processes.definition import ProcessDefinition, Stage

COLOURS = {
    "open": ("#ffffff", "#5b6475"),
    "won": ("#e7f5eb", "#1e6b35"),
    "lost": ("#fdecea", "#b3261e"),
    "done": ("#eaf1fc", "#1f5fbf"),
}


def _details(stage: Stage) -> str:
    parts = [stage.owner_role] if stage.owner_role else []
    if stage.time_limit_days:
        parts.append(f"{stage.time_limit_days} d")
    if stage.terminal:
        parts.append(stage.kind)
    return " · ".join(parts)


def _mermaid_text(value: str) -> str:
    # Mermaid labels are quoted strings: quotes and markup characters become entities.
    return (
        value.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("|", "#124;")
        .replace("\n", " ")
    )


def to_mermaid(process: ProcessDefinition) -> str:
    lines = ["flowchart LR", "  start_((start))"]
    for stage in process.stages:
        label = _mermaid_text(stage.name)
        details = _details(stage)
        if details:
            label += f"<br/><small>{_mermaid_text(details)}</small>"
        shape = ('(["', '"])') if stage.terminal else ('["', '"]')
        lines.append(f"  s_{stage.key}{shape[0]}{label}{shape[1]}")
    lines.append(f"  start_ --> s_{process.initial}")
    for t in process.transitions:
        arrow = f"-->|{_mermaid_text(t.label)}|" if t.label else "-->"
        lines.append(f"  s_{t.source} {arrow} s_{t.target}")
    for kind, (fill, stroke) in COLOURS.items():
        lines.append(f"  classDef {kind} fill:{fill},stroke:{stroke},color:#1d2330")
        members = [f"s_{s.key}" for s in process.stages if s.kind == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    return "\n".join(lines) + "\n"


def _dot_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def to_dot(process: ProcessDefinition) -> str:
    lines = [
        f'digraph "{_dot_text(process.key)}" {{',
        f'  label="{_dot_text(process.name)}"; labelloc=t; rankdir=LR;',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  "start_" [shape=circle, label="start", fillcolor="#17233b", fontcolor="white", width=0.5];',
    ]
    for stage in process.stages:
        fill, stroke = COLOURS[stage.kind]
        details = _details(stage)
        label = _dot_text(stage.name) + (f"\\n{_dot_text(details)}" if details else "")
        shape = ", peripheries=2" if stage.terminal else ""
        lines.append(f'  "{stage.key}" [label="{label}", fillcolor="{fill}", color="{stroke}"{shape}];')
    lines.append(f'  "start_" -> "{process.initial}";')
    for t in process.transitions:
        label = f' [label="{_dot_text(t.label)}"]' if t.label else ""
        lines.append(f'  "{t.source}" -> "{t.target}"{label};')
    lines.append("}")
    return "\n".join(lines) + "\n"

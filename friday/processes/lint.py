"""Checks a process the way a consultant would: does this business actually have a process?

Each finding has a severity (error: the process cannot work as declared; warning: it works but will be
followed inconsistently), the stage or transition it is about, and a plain-words fix.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from friday.processes.definition import ProcessDefinition

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    subject: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.code:24} {self.subject}: {self.message} Fix: {self.fix}"


def lint(
    process: ProcessDefinition,
    *,
    fields: set[str] | None = None,
    glossary: dict[str, str] | None = None,
    allows_custom: bool = False,
) -> list[Finding]:
    """Every finding for `process`. With `fields` (what its record type can require) unknown requirements are
    errors; with `glossary` (term name, case-folded → definition) a stage may take its definition from the
    glossary, and a stage whose definition contradicts the glossary is a warning."""
    findings: list[Finding] = []
    glossary = glossary or {}

    def add(severity: str, code: str, subject: str, message: str, fix: str) -> None:
        findings.append(Finding(severity, code, subject, message, fix))

    keys = Counter(s.key for s in process.stages)
    for key, count in keys.items():
        if count > 1:
            add(
                ERROR,
                "stage.duplicate_key",
                key,
                f"{count} stages share the key {key!r}.",
                "Give every stage its own key.",
            )
    names = Counter(s.name.strip().casefold() for s in process.stages)
    for stage in process.stages:
        if names[stage.name.strip().casefold()] > 1:
            add(
                ERROR,
                "stage.duplicate_name",
                stage.key,
                f"Another stage is also called {stage.name!r}.",
                "Two stages with one name mean two things to different people: rename one.",
            )
            names[stage.name.strip().casefold()] = 0  # report each name once

    outgoing: dict[str, list[str]] = {s.key: [] for s in process.stages}
    for t in process.transitions:
        if t.source == t.target:
            add(
                WARNING,
                "transition.self",
                f"{t.source} → {t.target}",
                "A transition leads from the stage back to itself.",
                "Remove it; staying put is not a move.",
            )
        elif t.source in outgoing:
            outgoing[t.source].append(t.target)
    pairs = Counter((t.source, t.target) for t in process.transitions)
    for (source, target), count in pairs.items():
        if count > 1:
            add(
                WARNING,
                "transition.duplicate",
                f"{source} → {target}",
                f"Declared {count} times.",
                "Keep one transition per pair of stages.",
            )

    if not any(s.terminal for s in process.stages):
        add(
            ERROR,
            "process.no_end",
            process.key,
            "No stage ends the process (won, lost or done).",
            "Add the stage where a record's journey ends, and say whether that is a win, a loss or done.",
        )

    reachable = _reachable(process.initial, outgoing)
    for stage in process.stages:
        subject = stage.key
        if stage.key not in reachable:
            add(
                ERROR,
                "stage.unreachable",
                subject,
                f"No transition leads to {stage.name!r} from the start.",
                f"Add a transition into {stage.name!r}, or remove the stage.",
            )
        if not stage.terminal and not outgoing.get(stage.key):
            add(
                ERROR,
                "stage.dead_end",
                subject,
                f"Records that reach {stage.name!r} can never leave it.",
                f"Add a transition out of {stage.name!r}, or make it a won/lost/done stage.",
            )
        term = glossary.get(stage.name.strip().casefold())
        if not stage.definition.strip() and not term:
            add(
                ERROR,
                "stage.no_definition",
                subject,
                f"{stage.name!r} is used as a term but defined nowhere: not here, not in the glossary.",
                "Write what must be true of a record in this stage, so everyone uses the word the same way.",
            )
        elif term and stage.definition.strip() and _differs(term, stage.definition):
            add(
                WARNING,
                "term.conflict",
                subject,
                f'The glossary defines {stage.name!r} differently: "{term}".',
                "Use one definition: edit the glossary or this stage so they say the same.",
            )
        if not stage.terminal and not stage.owner_role:
            add(
                WARNING,
                "stage.no_owner",
                subject,
                f"Nobody owns {stage.name!r}.",
                "Say which role moves records on from this stage.",
            )
        if not stage.terminal and outgoing.get(stage.key) and not _has_exit_criteria(process, stage.key):
            add(
                WARNING,
                "stage.no_exit_criteria",
                subject,
                f"Nothing says when a record is ready to leave {stage.name!r}.",
                "Add required fields or a checklist to the next stage, or to the transitions out of this one.",
            )
    for stage in process.stages:
        if stage.completes and process.applies_to != "job":
            add(
                WARNING,
                "stage.completes_not_job",
                stage.key,
                f"{stage.name!r} says it completes the work, which only a job process uses.",
                "Remove `completes` from this stage.",
            )
    if process.applies_to == "job" and not process.completing():
        add(
            WARNING,
            "process.no_completion",
            process.key,
            "No stage says when the job is complete, so no service date or feedback request follows it.",
            "Mark the stage where the work is finished with `completes: true`, or add a done stage.",
        )
    if fields is not None:
        _check_fields(process, fields, allows_custom, add)
    return findings


def _differs(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold().rstrip(".") != " ".join(b.split()).casefold().rstrip(".")


def _check_fields(process: ProcessDefinition, fields: set[str], allows_custom: bool, add) -> None:
    known = ", ".join(sorted(fields))
    places = [(s.key, s.requires) for s in process.stages]
    places += [(f"{t.source} → {t.target}", t.requires) for t in process.transitions]
    for subject, requires in places:
        for name in requires:
            if name in fields or (allows_custom and name.startswith("custom.")):
                continue
            add(
                ERROR,
                "field.unknown",
                subject,
                f"Requires {name!r}, which a {process.applies_to} record does not have.",
                f"Use one of: {known}" + (", or custom.<field key>." if allows_custom else "."),
            )


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)


def _reachable(initial: str, outgoing: dict[str, list[str]]) -> set[str]:
    seen, queue = {initial}, deque([initial])
    while queue:
        for target in outgoing.get(queue.popleft(), []):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _has_exit_criteria(process: ProcessDefinition, key: str) -> bool:
    for t in process.transitions:
        if t.source != key:
            continue
        target = process.stage(t.target)
        if t.requires or (target is not None and (target.requires or target.checklist)):
            return True
    return False

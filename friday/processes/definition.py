"""A process as the business writes it: stages, transitions and an initial stage, read from and written to YAML.

Reading validates against the published JSON Schema (`PROCESS_SCHEMA`, also `friday process schema`) and
reports every problem with its line and field; writing produces YAML that reads back to an equal definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from jsonschema import Draft202012Validator

KINDS = ("open", "won", "lost", "done")
APPLIES_TO = ("party", "deal", "job")
ROLES = ("admin", "manager", "member")

_KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,49}$"}
_TEXT = {"type": "string", "maxLength": 2000}
_FIELDS = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[a-z][a-z0-9_.]{0,99}$"},
    "uniqueItems": True,
}

PROCESS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://friday-crm.org/schemas/process-1.json",
    "title": "Friday process",
    "type": "object",
    "additionalProperties": False,
    "required": ["process", "name", "applies_to", "initial", "stages"],
    "properties": {
        "process": _KEY,
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "applies_to": {"enum": list(APPLIES_TO)},
        "description": _TEXT,
        "initial": _KEY,
        "stages": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "name", "kind"],
                "properties": {
                    "key": _KEY,
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "definition": _TEXT,
                    "kind": {"enum": list(KINDS)},
                    "owner_role": {"enum": list(ROLES)},
                    "requires": _FIELDS,
                    "checklist": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                    "time_limit_days": {"type": "integer", "minimum": 1, "maximum": 3650},
                    "completes": {"type": "boolean"},
                },
            },
        },
        "transitions": {
            "type": "array",
            "maxItems": 10000,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["from", "to"],
                "properties": {
                    "from": _KEY,
                    "to": _KEY,
                    "label": {"type": "string", "maxLength": 100},
                    "requires": _FIELDS,
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Stage:
    key: str
    name: str
    kind: str
    definition: str = ""
    owner_role: str = ""
    requires: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    time_limit_days: int | None = None
    # Entering this stage means the work is done (a job: its service date, its feedback request). At most one
    # stage of a job process says so; without one, a job is complete when it reaches a done stage.
    completes: bool = False

    @property
    def terminal(self) -> bool:
        return self.kind != "open"


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    label: str = ""
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessDefinition:
    key: str
    name: str
    applies_to: str
    initial: str
    stages: tuple[Stage, ...]
    transitions: tuple[Transition, ...] = ()
    description: str = ""

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)

    def completing(self) -> set[str]:
        """The stages whose entry means the work is done: those marked `completes`, else the done stages."""
        marked = {s.key for s in self.stages if s.completes}
        return marked or {s.key for s in self.stages if s.kind == "done"}


@dataclass
class DefinitionError:
    """One problem in a process file: where (line, field path) and what."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}, {self.field or 'process'}: {self.message}"


class InvalidDefinition(Exception):
    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class _Lines:
    """Line numbers of every node, by path, so schema errors can say where they are."""

    by_path: dict[tuple, int] = field(default_factory=dict)
    # YAML keeps the last of two equal keys without a word; a process file must not lose a line that way.
    duplicates: list[DefinitionError] = field(default_factory=list)

    def walk(self, node: yaml.Node, path: tuple = ()) -> None:
        self.by_path[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    self.duplicates.append(
                        DefinitionError(
                            line,
                            _path((*path, key_node.value)),
                            f"{key_node.value!r} is written twice (first on line {seen[key_node.value]}); "
                            "keep one",
                        )
                    )
                seen.setdefault(key_node.value, line)
                self.by_path[(*path, key_node.value)] = line
                self.walk(value_node, (*path, key_node.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i))

    def line(self, path: tuple) -> int | None:
        while path and path not in self.by_path:
            path = path[:-1]
        return self.by_path.get(path)


def _path(parts: tuple) -> str:
    return ".".join(str(p) for p in parts)


def load(text: str) -> ProcessDefinition:
    """Read a process from YAML. Raises InvalidDefinition listing every error with its line and field."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise InvalidDefinition(
            [DefinitionError(line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from exc
    lines = _Lines()
    if node is not None:
        lines.walk(node)
    if lines.duplicates:
        raise InvalidDefinition(lines.duplicates)
    errors = [
        DefinitionError(lines.line(tuple(e.absolute_path)), _path(tuple(e.absolute_path)), e.message)
        for e in sorted(
            Draft202012Validator(PROCESS_SCHEMA).iter_errors(data), key=lambda e: list(map(str, e.path))
        )
    ]
    if errors:
        raise InvalidDefinition(errors)
    stages = tuple(
        Stage(
            key=s["key"],
            name=s["name"],
            kind=s["kind"],
            definition=s.get("definition", ""),
            owner_role=s.get("owner_role", ""),
            requires=tuple(s.get("requires", ())),
            checklist=tuple(s.get("checklist", ())),
            time_limit_days=s.get("time_limit_days"),
            completes=bool(s.get("completes", False)),
        )
        for s in data["stages"]
    )
    transitions = tuple(
        Transition(
            source=t["from"], target=t["to"], label=t.get("label", ""), requires=tuple(t.get("requires", ()))
        )
        for t in data.get("transitions", [])
    )
    definition = ProcessDefinition(
        key=data["process"],
        name=data["name"],
        applies_to=data["applies_to"],
        initial=data["initial"],
        stages=stages,
        transitions=transitions,
        description=data.get("description", ""),
    )
    # References must name declared stages: these are errors of the file, found with their lines.
    keys = [s.key for s in stages]
    if definition.initial not in keys:
        errors.append(
            DefinitionError(
                lines.line(("initial",)), "initial", f"no stage has the key {definition.initial!r}"
            )
        )
    for i, t in enumerate(transitions):
        for end, key in (("from", t.source), ("to", t.target)):
            if key not in keys:
                errors.append(
                    DefinitionError(
                        lines.line(("transitions", i, end)),
                        f"transitions.{i}.{end}",
                        f"no stage has the key {key!r}",
                    )
                )
    if errors:
        raise InvalidDefinition(errors)
    return definition


def dump(definition: ProcessDefinition) -> str:
    """YAML that `load` reads back to an equal definition (defaults are left out, order is kept)."""
    stages = []
    for s in definition.stages:
        item: dict[str, Any] = {"key": s.key, "name": s.name, "kind": s.kind}
        if s.definition:
            item["definition"] = s.definition
        if s.owner_role:
            item["owner_role"] = s.owner_role
        if s.requires:
            item["requires"] = list(s.requires)
        if s.checklist:
            item["checklist"] = list(s.checklist)
        if s.time_limit_days is not None:
            item["time_limit_days"] = s.time_limit_days
        if s.completes:
            item["completes"] = True
        stages.append(item)
    transitions = []
    for t in definition.transitions:
        edge: dict[str, Any] = {"from": t.source, "to": t.target}
        if t.label:
            edge["label"] = t.label
        if t.requires:
            edge["requires"] = list(t.requires)
        transitions.append(edge)
    data: dict[str, Any] = {
        "process": definition.key,
        "name": definition.name,
        "applies_to": definition.applies_to,
    }
    if definition.description:
        data["description"] = definition.description
    data["initial"] = definition.initial
    data["stages"] = stages
    if transitions:
        data["transitions"] = transitions
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

"""The only write path for terms, processes and stage moves.

`stage_move` is the one way a record changes stage: it refuses undeclared moves (listing where the record may
go), lists unmet entry requirements by field, lets a user with the override permission force a move with a
reason, and writes the `StageChange`, the timeline entry and the `<record>.stage_entered` event together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.db.models.functions import Lower

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.core import clock
from friday.core.errors import Collector, Conflict, FridayError, NotFound, PermissionDenied, ValidationFailed
from friday.core.events import event_emit
from friday.parties.services import timeline_add
from friday.processes import records, rollup
from friday.processes.definition import InvalidDefinition, ProcessDefinition, dump, load
from friday.processes.lint import ERROR, Finding, lint
from friday.processes.models import (
    Process,
    ProcessMigration,
    ProcessVersion,
    RecordType,
    StageChange,
    Term,
)

MAX_SOURCE = 2_000_000  # characters of YAML; 500 stages with long definitions fit comfortably

# Apps above this one add what a newly published process needs (deals: the starter lost reasons), inside the
# publishing transaction. Each hook gets (by, process, version).
PUBLISH_HOOKS: list[Callable[[User, Process, ProcessVersion], None]] = []


def register_publish_hook(hook: Callable[[User, Process, ProcessVersion], None]) -> None:
    if hook not in PUBLISH_HOOKS:
        PUBLISH_HOOKS.append(hook)


def require_process_editor(user: User) -> None:
    if not user.can_edit_processes:
        raise PermissionDenied(
            "Only an admin or a manager can change terms and processes.", code="permission.process_editor"
        )


def require_analytics(user: User) -> None:
    """Process analytics count every record: for those who see every record."""
    if not user.sees_all:
        raise PermissionDenied(
            "Process analytics cover everyone's records: ask a manager, or an admin for access to all records.",
            code="permission.analytics",
        )


# --- terms ----------------------------------------------------------------------------------------------------


def _term_clean(errors: Collector, name: str, definition: str, examples: str) -> tuple[str, str, str]:
    name, definition, examples = " ".join(name.split()), definition.strip(), examples.strip()
    if not name:
        errors.add("name", "A term needs a name.", code="invalid.required")
    elif len(name) > 100:
        errors.add("name", "A term's name has at most 100 characters.", code="invalid.too_long")
    if not definition:
        errors.add(
            "definition",
            "Write the definition: what must be true for this word to apply.",
            "invalid.required",
        )
    elif len(definition) > 2000:
        errors.add("definition", "A definition has at most 2,000 characters.", code="invalid.too_long")
    if len(examples) > 2000:
        errors.add("examples", "Examples have at most 2,000 characters.", code="invalid.too_long")
    for field_name, value in (("name", name), ("definition", definition), ("examples", examples)):
        if "\x00" in value:
            errors.add(field_name, "Null characters are not allowed.", code="invalid.null_character")
    return name, definition, examples


@transaction.atomic
def term_save(
    *,
    by: User,
    term: Term | None = None,
    name: str,
    definition: str,
    examples: str = "",
) -> Term:
    """Create a term, or change `term`. A term cannot exist without its definition."""
    require_process_editor(by)
    errors = Collector()
    name, definition, examples = _term_clean(errors, name, definition, examples)
    clash = Term.objects.annotate(lname=Lower("name")).filter(lname=name.casefold())
    if term is not None:
        clash = clash.exclude(pk=term.pk)
    if name and clash.exists():
        errors.add("name", f"The glossary already has {name!r}.", code="term.duplicate")
    errors.raise_if_any()
    owner = term_owner(term) if term is not None else None
    reworded = term is not None and (definition != term.definition or name.casefold() != term.name.casefold())
    if owner is not None and reworded:
        raise Conflict(
            f"{name} is a stage of {owner[0].name}, and its wording lives there: edit the stage "
            "in the process and publish it; the glossary follows.",
            code="term.owned_by_process",
            field="definition",
            extra={"process": owner[0].key, "stage": owner[1]},
        )
    created = term is None
    term = term or Term()
    term.name, term.definition, term.examples = name, definition, examples
    term.updated_at, term.updated_by = clock.now(), by
    try:
        with transaction.atomic():
            term.save()
    except (
        IntegrityError
    ) as exc:  # the database folds case its own way (SQLite: ASCII only); it has the last word
        raise Conflict(f"The glossary already has {name!r}.", code="term.duplicate", field="name") from exc
    event_emit(
        name="term.created" if created else "term.updated", subject=term, actor=by, payload={"name": name}
    )
    return term


@transaction.atomic
def term_delete(*, by: User, term: Term) -> None:
    require_process_editor(by)
    owner = term_owner(term)
    if owner is not None:
        raise Conflict(
            f"{term.name} is a stage of {owner[0].name}: remove or rename the stage there, and publish.",
            code="term.owned_by_process",
            extra={"process": owner[0].key, "stage": owner[1]},
        )
    for process in Process.objects.filter(current__isnull=False).select_related("current"):
        for stage in process.current.definition.stages:  # type: ignore[union-attr]
            if stage.name.strip().casefold() == term.name.casefold() and not stage.definition.strip():
                raise Conflict(
                    f"{process.name} takes the definition of its stage {stage.name!r} from this term. "
                    "Write the definition into the process first.",
                    code="term.in_use",
                )
    event_emit(name="term.deleted", subject=term, actor=by, payload={"name": term.name})
    term.delete()


def term_owner(term: Term) -> tuple[Process, str] | None:
    """(the lifecycle, the stage key) when `term` is a lifecycle stage whose definition the process writes."""
    process = lifecycle_process()
    if process is None or process.current is None:
        return None
    for stage in process.current.definition.stages:
        if stage.name.strip().casefold() == term.name.casefold() and stage.definition.strip():
            return process, stage.key
    return None


def glossary_map() -> dict[str, str]:
    """Case-folded term name → definition, for the lint and for stage tooltips."""
    return {
        name.casefold(): definition for name, definition in Term.objects.values_list("name", "definition")
    }


def _sync_stage_terms(by: User, definition: ProcessDefinition) -> None:
    """A lifecycle's stages are the business's terms: publishing writes their definitions to the glossary."""
    now = clock.now()
    existing = {t.name.casefold(): t for t in Term.objects.all()}
    for stage in definition.stages:
        if not stage.definition.strip():
            continue
        term = existing.get(stage.name.strip().casefold())
        if term is None:
            Term.objects.create(
                name=stage.name.strip(),
                definition=stage.definition.strip(),
                is_stage=True,
                updated_at=now,
                updated_by=by,
            )
        elif term.definition != stage.definition.strip() or not term.is_stage:
            term.definition, term.is_stage, term.updated_at, term.updated_by = (
                stage.definition.strip(),
                True,
                now,
                by,
            )
            term.save()
    # "A lifecycle stage" is what the lifecycle says: a term it no longer has is no longer one.
    names = {s.name.strip().casefold() for s in definition.stages}
    for term in Term.objects.filter(is_stage=True):
        if term.name.casefold() not in names:
            term.is_stage, term.updated_at, term.updated_by = False, now, by
            term.save(update_fields=["is_stage", "updated_at", "updated_by"])


# --- processes ------------------------------------------------------------------------------------------------


def definition_errors(exc: InvalidDefinition) -> ValidationFailed:
    return ValidationFailed(
        [
            FridayError(
                (f"line {e.line}: " if e.line else "") + e.message,
                code="process.invalid",
                field=e.field or "source",
                extra={"line": e.line},
            )
            for e in exc.errors
        ]
    )


def parse(source: str) -> ProcessDefinition:
    """Read YAML into a definition, or ValidationFailed naming each error's line and field."""
    if len(source) > MAX_SOURCE:
        raise ValidationFailed(
            [
                FridayError(
                    "A process file has at most 2,000,000 characters.",
                    code="invalid.too_long",
                    field="source",
                )
            ]
        )
    if "\x00" in source:
        raise ValidationFailed(
            [FridayError("Null characters are not allowed.", code="invalid.null_character", field="source")]
        )
    try:
        return load(source)
    except InvalidDefinition as exc:
        raise definition_errors(exc) from exc


def process_lint(definition: ProcessDefinition) -> list[Finding]:
    """The lint as the editor and publishing see it: with the record type's fields and the glossary."""
    kind = records.kind_for(definition.applies_to)
    return lint(
        definition,
        fields=records.requirement_names(definition.applies_to),
        glossary=glossary_map(),
        allows_custom=bool(kind and kind.allows_custom),
    )


def _check_lifecycle_unique(definition: ProcessDefinition, process: Process | None) -> None:
    if definition.applies_to != RecordType.PARTY:
        return
    others = Process.objects.filter(applies_to=RecordType.PARTY)
    if process is not None:
        others = others.exclude(pk=process.pk)
    other = others.first()
    if other is not None:
        raise Conflict(
            f"There is already a customer lifecycle ({other.name}); a party is in one lifecycle. "
            f"Edit {other.key!r} instead.",
            code="process.lifecycle_exists",
            field="applies_to",
        )


def placement_problems(definition: ProcessDefinition, process: Process | None) -> list[FridayError]:
    """What stops this file from being saved where it is meant to go, beyond its own check: the draft of an
    existing process must keep its key and record type; a new one needs a free key, and one lifecycle only."""
    problems: list[FridayError] = []
    if process is not None:
        if definition.key != process.key:
            problems.append(
                FridayError(
                    f"This is the draft of {process.key!r}: keep that key.",
                    code="process.key_changed",
                    field="process",
                )
            )
        if definition.applies_to != process.applies_to:
            problems.append(
                FridayError(
                    f"{process.name} moves {process.get_applies_to_display().lower()}; a new process is needed "
                    "for another kind of record.",
                    code="process.applies_to_changed",
                    field="applies_to",
                )
            )
    elif Process.objects.filter(key=definition.key).exists():
        problems.append(
            FridayError(
                f"A process with the key {definition.key!r} exists already.",
                code="process.duplicate",
                field="process",
            )
        )
    try:
        _check_lifecycle_unique(definition, process)
    except Conflict as exc:
        problems.append(exc)
    return problems


@transaction.atomic
def process_create(*, by: User, source: str) -> Process:
    """A new process holding `source` as its draft; nothing is published."""
    require_process_editor(by)
    definition = parse(source)
    _check_lifecycle_unique(definition, None)
    now = clock.now()
    try:
        with transaction.atomic():
            process = Process.objects.create(
                key=definition.key,
                name=definition.name,
                applies_to=definition.applies_to,
                draft=source,
                draft_updated_at=now,
                draft_updated_by=by,
                created_at=now,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"A process with the key {definition.key!r} exists already.",
            code="process.duplicate",
            field="process",
        ) from exc
    event_emit(name="process.created", subject=process, actor=by, payload={"key": process.key})
    return process


@transaction.atomic
def process_draft_save(
    *, by: User, process: Process, source: str, unfinished: bool = False
) -> ProcessDefinition | None:
    """Keep `source` as the draft of `process`; records are not affected until it is published. A draft must
    read, unless `unfinished` (the editor's "save draft": half-written work is kept, publishing still checks
    it) — then a draft that does not read yet is kept and None is returned."""
    require_process_editor(by)
    try:
        definition = parse(source)
    except ValidationFailed as exc:
        if not unfinished or any(e.code == "invalid.too_long" for e in exc.errors):
            raise
        process.draft, process.draft_updated_at, process.draft_updated_by = source, clock.now(), by
        process.save(update_fields=["draft", "draft_updated_at", "draft_updated_by"])
        return None
    errors = Collector()
    if definition.key != process.key:
        errors.add(
            "process", f"This is the draft of {process.key!r}: keep that key.", code="process.key_changed"
        )
    if definition.applies_to != process.applies_to:
        errors.add(
            "applies_to",
            f"{process.name} moves {process.get_applies_to_display().lower()}; a new process is needed for another "
            "kind of record.",
            code="process.applies_to_changed",
        )
    errors.raise_if_any()
    process.draft, process.draft_updated_at, process.draft_updated_by = source, clock.now(), by
    process.save(update_fields=["draft", "draft_updated_at", "draft_updated_by"])
    return definition


@transaction.atomic
def process_draft_discard(*, by: User, process: Process) -> None:
    require_process_editor(by)
    process.draft, process.draft_updated_at, process.draft_updated_by = "", None, None
    process.save(update_fields=["draft", "draft_updated_at", "draft_updated_by"])


@transaction.atomic
def process_publish(*, by: User, process: Process, note: str = "") -> ProcessVersion:
    """Publish the draft as the next version. Refused, with every error, when the lint finds errors."""
    require_process_editor(by)
    process = Process.objects.select_for_update().get(pk=process.pk)
    if not process.draft.strip():
        raise FridayError("There is no draft to publish.", code="process.no_draft", field="source")
    definition = parse(process.draft)
    errors = [f for f in process_lint(definition) if f.severity == ERROR]
    if errors:
        raise ValidationFailed(
            [FridayError(f"{f.message} Fix: {f.fix}", code=f"lint.{f.code}", field=f.subject) for f in errors]
        )
    if len(note) > 200:
        raise ValidationFailed(
            [FridayError("A note has at most 200 characters.", code="invalid.too_long", field="note")]
        )
    source = dump(definition)
    latest = process.versions.order_by("-number").first()
    number = (latest.number + 1) if latest else 1
    version = ProcessVersion.objects.create(
        process=process,
        number=number,
        source=source,
        note=note.strip(),
        published_at=clock.now(),
        published_by=by,
    )
    process.current, process.name = version, definition.name
    process.draft, process.draft_updated_at, process.draft_updated_by = "", None, None
    process.save(update_fields=["current", "name", "draft", "draft_updated_at", "draft_updated_by"])
    if process.applies_to == RecordType.PARTY:
        _sync_stage_terms(by, definition)
    for hook in PUBLISH_HOOKS:
        hook(by, process, version)
    event_emit(
        name="process.published",
        subject=process,
        actor=by,
        payload={"key": process.key, "version": number, "version_id": version.pk},
    )
    return version


@transaction.atomic
def process_import(*, by: User, source: str, note: str = "") -> tuple[Process, ProcessVersion | None]:
    """Create or update a process from a YAML file and publish it. Returns (process, new version or None when
    the file is what is already published)."""
    require_process_editor(by)
    definition = parse(source)
    process = Process.objects.filter(key=definition.key).first()
    if process is None:
        process = process_create(by=by, source=source)
    else:
        if process.current is not None and process.current.source == dump(definition):
            return process, None
        process_draft_save(by=by, process=process, source=source)
    version = process_publish(by=by, process=process, note=note or "Imported")
    process.refresh_from_db()
    return process, version


@transaction.atomic
def process_migrate(
    *, by: User, process: Process, from_version: ProcessVersion, stage_map: dict[str, str]
) -> ProcessMigration:
    """Move every record on `from_version` to the current version, each old stage to the stage the map names."""
    require_process_editor(by)
    process = Process.objects.select_for_update().get(pk=process.pk)
    to_version = process.current
    if from_version.process_id != process.pk:
        raise NotFound("No such version of this process.", code="process.version_not_found")
    if to_version is None or from_version.pk == to_version.pk:
        raise FridayError(
            "Records are already on the current version.",
            code="process.nothing_to_migrate",
            field="from_version",
        )
    kind = records.kind_for(process.applies_to)
    if kind is None:
        raise FridayError("This kind of record is not installed.", code="process.no_records")
    new_keys = {s.key for s in to_version.definition.stages}
    in_use = set(
        kind.state_model._default_manager.filter(stage_version_id=from_version.pk)
        .values_list("stage", flat=True)
        .distinct()
    )
    errors = Collector()
    for old in sorted(in_use | set(stage_map)):
        new = stage_map.get(old)
        if new is None:
            if old in new_keys:
                stage_map[old] = old  # same key in both versions: stays
            else:
                errors.add(
                    f"stage_map.{old}",
                    f"Records are in {old!r}: say which stage they move to.",
                    "process.unmapped",
                )
        elif new not in new_keys:
            errors.add(
                f"stage_map.{old}",
                f"Version {to_version.number} has no stage {new!r}.",
                code="process.unknown_stage",
            )
    errors.raise_if_any()
    moved = 0
    for old, new in sorted(stage_map.items()):
        moved += kind.state_model._default_manager.filter(stage_version_id=from_version.pk, stage=old).update(
            stage_version_id=to_version.pk, stage=new
        )
    migration = ProcessMigration.objects.create(
        process=process,
        from_version=from_version,
        to_version=to_version,
        stage_map=dict(sorted(stage_map.items())),
        records=moved,
        at=clock.now(),
        by=by,
    )
    event_emit(
        name="process.migrated",
        subject=process,
        actor=by,
        payload={"from": from_version.number, "to": to_version.number, "records": moved},
    )
    return migration


# --- moves ----------------------------------------------------------------------------------------------------


class MoveRefused(FridayError):
    """The process does not allow this move. `extra` lists the stages the record may go to."""

    code = "stage.undeclared"
    status = 422


def lifecycle_process() -> Process | None:
    return (
        Process.objects.filter(applies_to=RecordType.PARTY, current__isnull=False)
        .select_related("current")
        .first()
    )


def _entry_version(kind: records.RecordKind, record: Model) -> ProcessVersion:
    if kind.name == RecordType.PARTY:
        process = lifecycle_process()
        if process is None:
            raise FridayError(
                "There is no customer lifecycle yet: publish one (Processes → starters) first.",
                code="process.no_lifecycle",
            )
        assert process.current is not None
        return process.current
    raise FridayError("This record is not in a process.", code="process.not_in_process")


def allowed_next(definition: ProcessDefinition, current: str | None) -> list[str]:
    if current is None:
        return [definition.initial]
    return list(
        dict.fromkeys(t.target for t in definition.transitions if t.source == current and t.target != current)
    )


@transaction.atomic
def stage_move(
    *,
    by: User,
    record_type: str,
    record: Model,
    to: str,
    reason: str = "",
    override: bool = False,
    checked: Iterable[str] = (),
    at: dt.datetime | None = None,
) -> StageChange:
    """Move `record` to stage `to` of the process it is on (the lifecycle, for a party not yet in it)."""
    require_write(by)
    kind = records.kind_for(record_type)
    if kind is None:
        raise FridayError(f"No record type {record_type!r}.", code="invalid.record_type", field="record_type")
    record = kind.get(by, record.pk)  # scoped: NotFound outside the user's records
    kind.lock(record)
    record = kind.get(by, record.pk)  # read again under the lock: a concurrent move may have just committed
    state = kind.state(record)
    version = (
        ProcessVersion.objects.select_related("process").get(pk=state.version_id)
        if state
        else _entry_version(kind, record)
    )
    definition = version.definition
    current = state.stage if state else None
    target = definition.stage(to)
    names = {s.key: s.name for s in definition.stages}
    allowed = allowed_next(definition, current)
    allowed_out = [{"key": k, "name": names[k]} for k in allowed]
    if target is None:
        raise ValidationFailed(
            [
                FridayError(
                    f"{definition.name} has no stage {to!r}. "
                    + (f"Next: {', '.join(names[k] for k in allowed)}." if allowed else ""),
                    code="stage.unknown",
                    field="to",
                    extra={"allowed": allowed_out},
                )
            ]
        )
    if current == to:
        raise FridayError(f"Already in {target.name}.", code="stage.same", field="to")
    reason = reason.strip()
    if len(reason) > 2000 or "\x00" in reason:
        raise ValidationFailed(
            [FridayError("Give a reason of at most 2,000 characters.", code="invalid.reason", field="reason")]
        )
    if override and not by.can_override_process:
        raise PermissionDenied(
            "You may not override the process; ask an admin, or move along the declared steps.",
            code="permission.override",
        )
    if override and not reason:
        raise ValidationFailed(
            [FridayError("Say why the process is being overridden.", code="invalid.required", field="reason")]
        )
    transition = next((t for t in definition.transitions if t.source == current and t.target == to), None)
    declared = (to == definition.initial) if current is None else transition is not None
    if not declared and not override:
        where = names.get(current or "", "the start")
        raise MoveRefused(
            f"{names.get(current or '', 'The start')} → {target.name} is not a step in {definition.name}. "
            + (
                f"From {where} a record can go to: {', '.join(names[k] for k in allowed)}."
                if allowed
                else f"{where} is the end of the process."
            ),
            field="to",
            extra={"allowed": allowed_out},
        )
    checked = [c for c in dict.fromkeys(" ".join(str(c).split()) for c in checked) if c]
    missing = Collector()
    unknown = [c for c in checked if c not in target.checklist]
    for c in unknown:
        missing.add("checked", f"{target.name} has no checklist item {c!r}.", code="stage.unknown_check")
    missing.raise_if_any()
    for name in dict.fromkeys([*target.requires, *(transition.requires if transition else ())]):
        problem = records.requirement_missing(kind, record, name)
        if problem:
            missing.add(name, f"To enter {target.name}: {problem}", code="stage.requirement")
    for name, problem in kind.extra_requirements(record, target.kind).items():
        if not any(e.field == name for e in missing.errors):
            missing.add(name, f"To enter {target.name}: {problem}", code="stage.requirement")
    for i, item in enumerate(target.checklist):
        if item not in checked:
            missing.add(f"checklist.{i}", f"To enter {target.name}: tick {item!r}.", code="stage.checklist")
    if missing and not override:
        missing.raise_if_any()
    return _write_move(
        by=by,
        kind=kind,
        record=record,
        version=version,
        current=current,
        to=to,
        at=at or clock.now(),
        reason=reason,
        overridden=override and (not declared or bool(missing)),
        declared=declared,
        checked=checked,
    )


@transaction.atomic
def stage_enter(*, by: User, record_type: str, record: Model, version: ProcessVersion) -> StageChange:
    """A new record (a deal, a job) enters its process at the initial stage. Called by the record's create."""
    kind = records.kind_for(record_type)
    assert kind is not None, record_type
    definition = version.definition
    return _write_move(
        by=by,
        kind=kind,
        record=record,
        version=version,
        current=None,
        to=definition.initial,
        at=clock.now(),
        reason="",
        overridden=False,
        declared=True,
        checked=[],
    )


def _write_move(
    *,
    by: User,
    kind: records.RecordKind,
    record: Model,
    version: ProcessVersion,
    current: str | None,
    to: str,
    at: dt.datetime,
    reason: str,
    overridden: bool,
    declared: bool,
    checked: list[str],
) -> StageChange:
    definition = version.definition
    target = definition.stage(to)
    assert target is not None
    names = {s.key: s.name for s in definition.stages}
    order = [s.key for s in definition.stages]
    backward = current is not None and target.kind == "open" and order.index(to) < order.index(current)
    previous = (
        StageChange.objects.filter(record_type=kind.name, record_id=record.pk, left_at__isnull=True)
        .order_by("-at", "-id")
        .first()
    )
    if previous is not None:
        previous.left_at = at
        previous.seconds_in_stage = max(0, int((at - previous.at).total_seconds()))
        previous.next_stage = to
        previous.save(update_fields=["left_at", "seconds_in_stage", "next_stage"])
    party = kind.party_of(record)
    kind.write_state(record, version.pk, to, at, checked)
    change = StageChange.objects.create(
        record_type=kind.name,
        record_id=record.pk,
        party=party,
        process_id=version.process_id,
        version=version,
        from_stage=current or "",
        to_stage=to,
        at=at,
        by=by,
        reason=reason,
        overridden=overridden,
        declared=declared,
        backward=backward,
        checked=checked,
    )
    rollup.on_move(change, previous)
    what = "" if kind.name == RecordType.PARTY else f"{kind.label} {kind.title(record)!r}: "
    subject = f"{what}{names.get(current or '', '') + ' → ' if current else 'entered '}{target.name}"
    if change.overridden:
        subject += " (process overridden)"
    data: dict[str, Any] = {
        "record_type": kind.name,
        "record_id": record.pk,
        "from": current or "",
        "to": to,
        "stage_change_id": change.pk,
    }
    if reason:
        data["reason"] = reason
    timeline_add(party, event="stage.moved", subject=subject[:200], by=by, data=data)
    event_emit(
        name=f"{kind.name}.stage_entered",
        subject=record,
        actor=by,
        payload={
            "process": version.process.key,
            "version": version.number,
            "stage": to,
            "stage_name": target.name,
            "from": current or "",
            "kind": target.kind,
            "overridden": change.overridden,
            "stage_change_id": change.pk,
            # For automation's messages: whose record, and what it is called.
            "party_id": party.pk,
            "title": kind.title(record)[:200],
        },
    )
    return change

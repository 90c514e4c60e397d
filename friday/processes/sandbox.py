"""A process draft's effect before it is published: its lint, how it differs from the published version (stages
and transitions added, removed, renamed, limits changed) and which records it would strand or move.

Publishing never moves a record by itself: records stay on the version they are on, and a migration
(`services.process_migrate`) later moves them, a stage to the stage of the same key unless told otherwise. So
the records a draft affects are those on the published version's stages that the draft removes: after
publishing they stay behind on the old version until someone says where they go.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q

from friday.accounts.models import User
from friday.core import clock
from friday.core.errors import FridayError
from friday.processes import records
from friday.processes.definition import ProcessDefinition, Stage, Transition
from friday.processes.lint import ERROR, Finding
from friday.processes.models import Process, ProcessMigration, ProcessVersion

LISTED = 200  # records named per stage on the review page; the count is always exact


@dataclass
class StageChangeRow:
    key: str
    old: Stage | None
    new: Stage | None
    changes: list[str]  # "renamed", "kind", "time limit", "owner", "requires", "checklist", "definition"


@dataclass
class Affected:
    """Records on a published stage and what publishing (then migrating) would do with them."""

    stage: Stage
    count: int
    fate: str  # "stays", "renamed" (same key, new name), "stranded" (the draft removes the stage)
    target: Stage | None  # where a migration would take them (the same key, or a stage with the same name)
    records: list[tuple[int, str, str]] = field(default_factory=list)  # (id, title, url) — the first LISTED
    over_new_limit: int = 0  # already longer in the stage than the draft's (shorter) time limit


@dataclass
class DraftReview:
    process: Process
    definition: ProcessDefinition | None  # None: the draft does not read yet
    read_errors: list[FridayError]
    findings: list[Finding]
    added: list[Stage]
    removed: list[Stage]
    changed: list[StageChangeRow]
    transitions_added: list[Transition]
    transitions_removed: list[Transition]
    initial_changed: tuple[str, str] | None
    affected: list[Affected]
    names_shown: bool  # record names are listed only for those who see every record

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR) + len(self.read_errors)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity != ERROR)

    @property
    def stranded(self) -> int:
        return sum(a.count for a in self.affected if a.fate == "stranded")

    @property
    def on_version(self) -> int:
        return sum(a.count for a in self.affected)

    @property
    def suggested_map(self) -> dict[str, str]:
        """Old stage → new stage for the migration after publishing: same key, else the same name."""
        return {a.stage.key: a.target.key for a in self.affected if a.target is not None}

    @property
    def unchanged(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.transitions_added
            or self.transitions_removed
            or self.initial_changed
        )


def _stage_changes(old: Stage, new: Stage) -> list[str]:
    out = []
    if old.name != new.name:
        out.append("renamed")
    if old.kind != new.kind:
        out.append("kind")
    if old.time_limit_days != new.time_limit_days:
        out.append("time limit")
    if old.owner_role != new.owner_role:
        out.append("owner")
    if old.requires != new.requires:
        out.append("requires")
    if old.checklist != new.checklist:
        out.append("checklist")
    if old.definition != new.definition:
        out.append("definition")
    return out


def _edge(t: Transition) -> tuple[str, str, str]:
    return (t.source, t.target, t.label)


def draft_review(process: Process, *, user: User, now: dt.datetime | None = None) -> DraftReview:
    """Everything the review page shows about `process.draft`. Reads only: one grouped count per stage of the
    published version, and one query for the names of the records listed."""
    from friday.processes import services

    now = now or clock.now()
    if not process.draft.strip():
        raise FridayError("There is no draft to review.", code="process.no_draft")
    current = process.current.definition if process.current else None
    definition: ProcessDefinition | None
    read_errors: list[FridayError] = []
    findings: list[Finding] = []
    try:
        definition = services.parse(process.draft)
    except FridayError as exc:
        definition = None
        read_errors = list(getattr(exc, "errors", [exc]))
    if definition is not None:
        findings = services.process_lint(definition)
        read_errors = services.placement_problems(definition, process)
    old_stages = {s.key: s for s in current.stages} if current else {}
    new_stages = {s.key: s for s in definition.stages} if definition else {}
    added = [s for k, s in new_stages.items() if k not in old_stages]
    removed = [s for k, s in old_stages.items() if k not in new_stages]
    changed = []
    for key, old in old_stages.items():
        new = new_stages.get(key)
        if new is not None:
            diffs = _stage_changes(old, new)
            if diffs:
                changed.append(StageChangeRow(key, old, new, diffs))
    old_edges = {_edge(t): t for t in current.transitions} if current else {}
    new_edges = {_edge(t): t for t in definition.transitions} if definition else {}
    initial_changed = None
    if current and definition and current.initial != definition.initial:
        initial_changed = (current.initial, definition.initial)
    by_name = {s.name.casefold(): s for s in added}
    affected = _affected(process, current, new_stages, by_name, user=user, now=now) if definition else []
    return DraftReview(
        process=process,
        definition=definition,
        read_errors=read_errors,
        findings=findings,
        added=added,
        removed=removed,
        changed=changed,
        transitions_added=[t for k, t in new_edges.items() if k not in old_edges],
        transitions_removed=[t for k, t in old_edges.items() if k not in new_edges],
        initial_changed=initial_changed,
        affected=affected,
        names_shown=user.sees_all,
    )


def _affected(
    process: Process,
    current: ProcessDefinition | None,
    new_stages: dict[str, Stage],
    added_by_name: dict[str, Stage],
    *,
    user: User,
    now: dt.datetime,
) -> list[Affected]:
    kind = records.kind_for(process.applies_to)
    if kind is None or current is None or process.current is None:
        return []
    manager = kind.state_model._default_manager
    on_version = manager.filter(stage_version_id=process.current.pk)
    # A shorter time limit: how many are already over it (one conditional count per such stage, in one query).
    limits = {
        key: new.time_limit_days
        for key, new in new_stages.items()
        if new.time_limit_days
        and current.stage(key) is not None
        and (current.stage(key).time_limit_days or 10**6) > new.time_limit_days  # type: ignore[union-attr]
    }
    aggregates = {
        f"over_{key}": Count("pk", filter=Q(stage=key, stage_entered_at__lt=now - dt.timedelta(days=days)))
        for key, days in limits.items()
    }
    over = on_version.aggregate(**aggregates) if aggregates else {}
    counts = dict(
        on_version.order_by().values_list("stage").annotate(n=Count("pk")).values_list("stage", "n")
    )
    out = []
    for stage in current.stages:
        count = counts.get(stage.key, 0)
        if not count:
            continue
        same = new_stages.get(stage.key)
        target: Stage | None
        if same is not None:
            fate, target = ("renamed" if same.name != stage.name else "stays"), same
        else:
            fate, target = "stranded", added_by_name.get(stage.name.casefold())
        out.append(
            Affected(
                stage=stage,
                count=count,
                fate=fate,
                target=target,
                over_new_limit=over.get(f"over_{stage.key}", 0),
            )
        )
    if user.sees_all:
        # Name the records that would be left behind (or renamed): the first LISTED of each stage, oldest first.
        wanted = [a for a in out if a.fate != "stays"]
        ids_by_stage: dict[str, list[int]] = {}
        for a in wanted:
            ids_by_stage[a.stage.key] = list(
                on_version.filter(stage=a.stage.key)
                .order_by("stage_entered_at", kind.state_record)
                .values_list(kind.state_record, flat=True)[:LISTED]
            )
        titles = kind.titles([i for ids in ids_by_stage.values() for i in ids])
        for a in wanted:
            a.records = [(pk, *titles.get(pk, (f"#{pk}", ""))) for pk in ids_by_stage[a.stage.key]]
    return out


def draft_go_live(
    *, by: User, process: Process, note: str = "", stage_map: dict[str, str] | None = None
) -> tuple[ProcessVersion, ProcessMigration | None]:
    """Publish the draft and, when `stage_map` is given, move the records of the version it replaces to the new
    one in the same transaction — so going live with a process is one step: either the new version with every
    record moved as mapped, or nothing (a stranded stage left unmapped refuses both, by its path)."""
    from friday.processes import services

    with transaction.atomic():
        # No select_related here: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
        process = Process.objects.select_for_update().get(pk=process.pk)
        previous = process.versions.filter(pk=process.current_id or 0).first()
        version = services.process_publish(by=by, process=process, note=note)
        migration = None
        if stage_map is not None and previous is not None:
            kind = records.kind_for(process.applies_to)
            on_previous = (
                kind is not None
                and kind.state_model._default_manager.filter(stage_version_id=previous.pk).exists()
            )
            if on_previous:
                migration = services.process_migrate(
                    by=by, process=process, from_version=previous, stage_map=dict(stage_map)
                )
    return version, migration

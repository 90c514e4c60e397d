"""Reads of terms, processes, versions and stage history for the pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from friday.core.errors import NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page
from friday.processes.definition import ProcessDefinition
from friday.processes.models import PartyStage, Process, ProcessVersion, StageChange, Term


def term_list() -> QuerySet[Term]:
    return Term.objects.order_by("name")


def term_get(*, term_id: int) -> Term:
    term = Term.objects.filter(pk=term_id).first() if valid_id(term_id) else None
    if term is None:
        raise NotFound("No such term.", code="term.not_found")
    return term


def stage_names() -> dict[tuple[int, str], str]:
    """(process id, stage key) → the stage's name in the published version: for exports and reports."""
    names = {}
    for process in Process.objects.filter(current__isnull=False).select_related("current"):
        assert process.current is not None
        for stage in process.current.definition.stages:
            names[(process.pk, stage.key)] = stage.name
    return names


def process_list() -> QuerySet[Process]:
    return Process.objects.select_related("current").order_by("applies_to", "name")


def process_get(*, key: str) -> Process:
    process = Process.objects.select_related("current").filter(key=key).first()
    if process is None:
        raise NotFound(f"No process {key!r}.", code="process.not_found")
    return process


def version_get(*, process: Process, number: int | None = None, field: str = "version") -> ProcessVersion:
    """A version of `process` by number (default: the current one)."""
    version = process.current if number is None else process.versions.filter(number=number).first()
    if version is None:
        detail = (
            f"{process.name} has no version {number}." if number else f"{process.name} is not published yet."
        )
        raise NotFound(detail, code="process.version_not_found", field=field)
    return version


def stage_definitions(definition: ProcessDefinition) -> dict[str, str]:
    """Stage key → its definition: the process's own words, or the glossary's for a stage that has none."""
    glossary = {name.casefold(): text for name, text in Term.objects.values_list("name", "definition")}
    return {
        s.key: s.definition.strip() or glossary.get(s.name.strip().casefold(), "") for s in definition.stages
    }


def stage_history(*, record_type: str, record_id: int, cursor: str | None = None, limit: int = 50) -> Page:
    """Moves of one record the caller may see (the caller fetched it through its scoped selector)."""
    qs = StageChange.objects.filter(record_type=record_type, record_id=record_id).select_related(
        "process", "version", "by"
    )
    return keyset_page(qs, order=["-at", "-id"], cursor=cursor, limit=limit)


def party_stage(party_id: int) -> tuple[PartyStage, str, str] | None:
    """Where a party is in the lifecycle: (row, stage name, definition), or None."""
    row = PartyStage.objects.select_related("stage_version").filter(party_id=party_id).first()
    if row is None:
        return None
    definition = row.stage_version.definition
    stage = definition.stage(row.stage)
    name = stage.name if stage else row.stage
    return row, name, stage_definitions(definition).get(row.stage, "")

"""Stages in any page: the name, with the business's definition shown on hover and keyboard focus."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import template

from friday.processes.models import PartyStage
from friday.processes.selectors import stage_definitions

register = template.Library()


@dataclass(frozen=True)
class StageLabel:
    key: str
    name: str
    definition: str
    kind: str


@register.inclusion_tag("processes/_stage.html")
def stage(label: StageLabel | None) -> dict[str, Any]:
    return {"label": label}


def stage_labels(version, keys: Iterable[str] | None = None) -> dict[str, StageLabel]:
    """Stage key → label (name, definition, kind) for every stage of a version."""
    definition = version.definition
    definitions = stage_definitions(definition)
    return {
        s.key: StageLabel(s.key, s.name, definitions.get(s.key, ""), s.kind)
        for s in definition.stages
        if keys is None or s.key in keys
    }


@register.simple_tag
def party_stages(parties: Iterable[Any]) -> dict[int, StageLabel]:
    """Party id → its lifecycle stage, for a page of parties: one query, whatever the page size."""
    ids = [p.pk for p in parties]
    rows = PartyStage.objects.filter(party_id__in=ids).select_related("stage_version")
    labels: dict[int, StageLabel] = {}
    by_version: dict[int, dict[str, StageLabel]] = {}
    for row in rows:
        if row.stage_version_id not in by_version:
            by_version[row.stage_version_id] = stage_labels(row.stage_version)
        label = by_version[row.stage_version_id].get(row.stage)
        labels[row.party_id] = label or StageLabel(row.stage, row.stage, "", "open")
    return labels


@register.filter
def lookup(mapping: dict, key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def timestage(seconds: int | None) -> str:
    """A time in a stage, the way people say it: "3 d 4 h", "5 h", "12 min"."""
    if seconds is None:
        return ""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h" if hours and days < 10 else f"{days} d"
    if hours:
        return f"{hours} h"
    return f"{max(1, rest // 60)} min"


@register.simple_tag
def party_stages_one(party: Any) -> StageLabel | None:
    return party_stages([party]).get(party.pk)


@register.simple_tag
def lifecycle_options() -> list[tuple[str, str]]:
    """(key, name) of the lifecycle's stages, and "not in the lifecycle", for list filters."""
    from friday.processes.services import lifecycle_process

    process = lifecycle_process()
    if process is None or process.current is None:
        return []
    options = [(s.key, s.name) for s in process.current.definition.stages]
    return [*options, ("none", "Not in the lifecycle")]


@register.simple_tag
def segment_options(user: Any) -> list[tuple[str, str]]:
    from friday.processes.segments import segments_visible

    return [(str(pk), name) for pk, name in segments_visible(user).order_by("name").values_list("pk", "name")]

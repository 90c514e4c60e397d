"""Segments: saved filters over parties — lifecycle stage, kind, roles, tags, owner and team, custom fields,
when they were created and when they were last contacted.

A filter is plain JSON (so the API, the page's filter builder and automation rules share it), validated by
`clean_filters` with an error path for every bad part (`filters.custom.0.value`), and turned into one
queryset by `segment_q`, always inside the user's scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import DecimalField, Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    In,
    LessThan,
    LessThanOrEqual,
)

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.core import clock
from friday.core.errors import Collector, FridayError, NotFound, PermissionDenied, ValidationFailed
from friday.core.events import event_emit
from friday.core.ids import valid_id
from friday.parties.models import (
    Activity,
    ActivityKind,
    CustomField,
    FieldType,
    Party,
    PartyKind,
    PartyRole,
    PartyTag,
    RoleName,
)
from friday.parties.selectors import register_party_filter
from friday.processes.models import PartyStage, RecordType, Segment

NOT_IN_LIFECYCLE = "none"
CONTACT_KINDS = (ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL_IN, ActivityKind.EMAIL_OUT)
OPS = {
    FieldType.TEXT: ("eq", "ne", "contains", "set", "unset"),
    FieldType.CHOICE: ("eq", "ne", "in", "set", "unset"),
    FieldType.NUMBER: ("eq", "ne", "lt", "lte", "gt", "gte", "set", "unset"),
    FieldType.DATE: ("eq", "lt", "lte", "gt", "gte", "set", "unset"),
    FieldType.YES_NO: ("eq", "set", "unset"),
}
LIST_FIELDS = ("stages", "kinds", "roles", "tags", "owner_ids", "team_ids")
DATE_FIELDS = ("created_after", "created_before", "last_contact_after", "last_contact_before")
DAY_FIELDS = ("created_within_days", "no_contact_days", "contacted_within_days")
FIELDS = (*LIST_FIELDS, *DATE_FIELDS, *DAY_FIELDS, "custom")


@dataclass(frozen=True)
class ExtraFilter:
    """A filter an app above this one adds (jobs: "paid_jobs"): how to check its value, and its condition."""

    name: str
    clean: Callable[[Any, Collector, str], Any]  # (value, errors, path) → the clean value
    q: Callable[[Any], Q]


EXTRA_FILTERS: dict[str, ExtraFilter] = {}


def register_filter(extra: ExtraFilter) -> None:
    EXTRA_FILTERS[extra.name] = extra


def _fields() -> tuple[str, ...]:
    return (*FIELDS, *EXTRA_FILTERS)


def _stage_keys() -> set[str]:
    """Every stage key of every version of the lifecycle (records may be on an older version)."""
    from friday.processes.models import ProcessVersion

    keys = {NOT_IN_LIFECYCLE}
    for version in ProcessVersion.objects.filter(process__applies_to=RecordType.PARTY):
        keys |= {s.key for s in version.definition.stages}
    return keys


def clean_filters(data: Any, *, prefix: str = "filters") -> dict[str, Any]:
    """The filter, validated and normalised; ValidationFailed lists every bad part with its path."""
    errors = Collector()
    if not isinstance(data, dict):
        errors.add(prefix, "A segment's filter is an object.", code="invalid.filters")
        errors.raise_if_any()
    out: dict[str, Any] = {}
    for name in data:
        if name not in _fields():
            errors.add(
                f"{prefix}.{name}", f"Unknown filter; use {', '.join(_fields())}.", code="invalid.filter"
            )
    for name in LIST_FIELDS:
        value = data.get(name)
        if value in (None, []):
            continue
        if not isinstance(value, list) or len(value) > 200:
            errors.add(f"{prefix}.{name}", "Give a list (at most 200 items).", code="invalid.list")
            continue
        out[name] = list(dict.fromkeys(value))
    stages = _stage_keys() if out.get("stages") else set()
    allowed: dict[str, Any] = {
        "stages": stages,
        "kinds": set(PartyKind.values),
        "roles": set(RoleName.values),
    }
    for name, choices in allowed.items():
        for i, value in enumerate(out.get(name, [])):
            if value not in choices:
                errors.add(
                    f"{prefix}.{name}.{i}",
                    f"{value!r} is not one of {', '.join(sorted(choices))}.",
                    "invalid.choice",
                )
    for i, value in enumerate(out.get("tags", [])):
        if not isinstance(value, str) or not value.strip() or len(value) > 60 or "\x00" in value:
            errors.add(f"{prefix}.tags.{i}", "A tag is 1 to 60 characters.", code="invalid.tag")
    out["tags"] = [str(t).strip().lower() for t in out.get("tags", [])] if out.get("tags") else []
    if not out["tags"]:
        del out["tags"]
    for name in ("owner_ids", "team_ids"):
        for i, value in enumerate(out.get(name, [])):
            if isinstance(value, bool) or not isinstance(value, int) or not valid_id(value):
                errors.add(f"{prefix}.{name}.{i}", "Give a user or team id.", code="invalid.id")
    for name in DATE_FIELDS:
        value = data.get(name)
        if value in (None, ""):
            continue
        try:
            out[name] = dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            errors.add(f"{prefix}.{name}", "Give a date as YYYY-MM-DD.", code="invalid.date")
    for name in DAY_FIELDS:
        value = data.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
            errors.add(f"{prefix}.{name}", "Give a number of days from 0 to 36500.", code="invalid.days")
        else:
            out[name] = value
    custom = data.get("custom")
    if custom not in (None, []):
        out["custom"] = _clean_custom(errors, custom, f"{prefix}.custom")
    for name, extra in EXTRA_FILTERS.items():
        if data.get(name) not in (None, "", {}):
            out[name] = extra.clean(data[name], errors, f"{prefix}.{name}")
    errors.raise_if_any()
    return out


def _clean_custom(errors: Collector, conditions: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(conditions, list) or len(conditions) > 20:
        errors.add(path, "Give a list of at most 20 conditions.", code="invalid.list")
        return []
    fields = {f.key: f for f in CustomField.objects.all()}
    out = []
    for i, condition in enumerate(conditions):
        here = f"{path}.{i}"
        if not isinstance(condition, dict) or set(condition) - {"field", "op", "value"}:
            errors.add(here, "A condition is {field, op, value}.", code="invalid.condition")
            continue
        definition = fields.get(str(condition.get("field", "")))
        if definition is None:
            errors.add(f"{here}.field", f"No custom field {condition.get('field')!r}.", code="invalid.field")
            continue
        op = condition.get("op", "eq")
        ops = OPS[FieldType(definition.field_type)]
        if op not in ops:
            errors.add(
                f"{here}.op", f"For {definition.label} use one of {', '.join(ops)}.", code="invalid.op"
            )
            continue
        value = condition.get("value")
        clean: dict[str, Any] = {"field": definition.key, "op": op}
        if op not in ("set", "unset"):
            try:
                clean["value"] = _custom_operand(definition, op, value)
            except (TypeError, ValueError, InvalidOperation) as exc:
                errors.add(f"{here}.value", str(exc) or "Not a valid value.", code="invalid.value")
                continue
        out.append(clean)
    return out


def _custom_operand(definition: CustomField, op: str, value: Any) -> Any:
    kind = definition.field_type
    if kind == FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError("Give a number.")
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise ValueError("Give a finite number.")
        return str(number)
    if kind == FieldType.DATE:
        return dt.date.fromisoformat(str(value)).isoformat()
    if kind == FieldType.YES_NO:
        if not isinstance(value, bool):
            raise TypeError("Give true or false.")
        return value
    if kind == FieldType.CHOICE:
        values = value if op == "in" else [value]
        if not isinstance(values, list) or not values:
            raise TypeError("Give a list of choices.")
        for v in values:
            if v not in definition.choices:
                raise ValueError(f"{v!r} is not one of {', '.join(map(str, definition.choices))}.")
        return values if op == "in" else value
    if not isinstance(value, str) or len(value) > 1000 or "\x00" in value:
        raise TypeError("Give text of at most 1000 characters.")
    return value


def _start_of(day: str | dt.date) -> dt.datetime:
    date = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime.combine(date, dt.time.min, tzinfo=clock.business_tz())


def _contacted_since(moment: dt.datetime) -> Q:
    return Q(
        Exists(Activity.objects.filter(party=OuterRef("pk"), kind__in=CONTACT_KINDS, occurred_at__gte=moment))
    )


def segment_q(filters: dict[str, Any]) -> Q:
    """The condition a (clean) filter stands for, over Party rows. Combine with the user's scope."""
    q = Q()
    stages = filters.get("stages") or []
    if stages:
        keys = [s for s in stages if s != NOT_IN_LIFECYCLE]
        stage_q = (
            Q(pk__in=PartyStage.objects.filter(stage__in=keys).values("party_id")) if keys else Q(pk__in=[])
        )
        if NOT_IN_LIFECYCLE in stages:
            stage_q |= ~Q(pk__in=PartyStage.objects.values("party_id"))
        q &= stage_q
    if filters.get("kinds"):
        q &= Q(kind__in=filters["kinds"])
    if filters.get("roles"):
        q &= Q(pk__in=PartyRole.objects.filter(role__in=filters["roles"]).values("party_id"))
    if filters.get("tags"):
        q &= Q(pk__in=PartyTag.objects.filter(tag__slug__in=filters["tags"]).values("party_id"))
    if filters.get("owner_ids"):
        q &= Q(owner_id__in=filters["owner_ids"])
    if filters.get("team_ids"):
        q &= Q(team_id__in=filters["team_ids"])
    if filters.get("created_after"):
        q &= Q(created_at__gte=_start_of(filters["created_after"]))
    if filters.get("created_before"):
        q &= Q(created_at__lt=_start_of(filters["created_before"]))
    today = clock.today()
    if filters.get("created_within_days") is not None:
        q &= Q(created_at__gte=_start_of(today - dt.timedelta(days=filters["created_within_days"])))
    if filters.get("no_contact_days") is not None:
        q &= ~_contacted_since(_start_of(today - dt.timedelta(days=filters["no_contact_days"])))
    if filters.get("contacted_within_days") is not None:
        q &= _contacted_since(_start_of(today - dt.timedelta(days=filters["contacted_within_days"])))
    if filters.get("last_contact_after"):
        q &= _contacted_since(_start_of(filters["last_contact_after"]))
    if filters.get("last_contact_before"):
        # Contacted at some time, but not since that day.
        q &= _contacted_since(_start_of("1900-01-01")) & ~_contacted_since(
            _start_of(filters["last_contact_before"])
        )
    for condition in filters.get("custom", []):
        q &= _custom_q(condition)
    for name, extra in EXTRA_FILTERS.items():
        if filters.get(name) is not None:
            q &= extra.q(filters[name])
    return q


def _custom_q(condition: dict[str, Any]) -> Q:
    key, op, value = condition["field"], condition["op"], condition.get("value")
    has = Q(custom__has_key=key)
    if op == "set":
        return has
    if op == "unset":
        return ~has
    definition = CustomField.objects.filter(key=key).first()
    kind = definition.field_type if definition else FieldType.TEXT
    if kind == FieldType.YES_NO:
        return Q(**{f"custom__{key}": value})
    if kind == FieldType.NUMBER:
        expr: Any = Cast(KT(f"custom__{key}"), DecimalField(max_digits=30, decimal_places=10))
        operand: Any = Decimal(str(value))
    else:
        expr, operand = KT(f"custom__{key}"), value
    lookup = {
        "eq": Exact,
        "ne": Exact,
        "lt": LessThan,
        "lte": LessThanOrEqual,
        "gt": GreaterThan,
        "gte": GreaterThanOrEqual,
        "contains": IContains,
        "in": In,
    }[op]
    match = Q(lookup(expr, operand))
    return has & ~match if op == "ne" else match


# --- reads ----------------------------------------------------------------------------------------------------


def segments_visible(user: User) -> QuerySet[Segment]:
    """Shared segments and the user's own."""
    return Segment.objects.filter(Q(shared=True) | Q(owner=user)).select_related("owner")


def segment_get(*, user: User, segment_id: int) -> Segment:
    segment = segments_visible(user).filter(pk=segment_id).first() if valid_id(segment_id) else None
    if segment is None:
        raise NotFound("No such segment.", code="segment.not_found")
    return segment


def segment_parties(*, user: User, filters: dict[str, Any]) -> QuerySet[Party]:
    """The parties a filter selects that `user` may see: the same rule for counts, lists and automation."""
    from friday.parties.selectors import parties_visible

    return parties_visible(user).filter(segment_q(filters))


def segment_count(*, user: User, filters: dict[str, Any]) -> int:
    return segment_parties(user=user, filters=filters).count()


# --- writes ---------------------------------------------------------------------------------------------------


@transaction.atomic
def segment_save(
    *,
    by: User,
    segment: Segment | None = None,
    name: str,
    description: str = "",
    filters: Any,
    shared: bool = True,
) -> Segment:
    """Create or change a segment. Anyone who can write may save their own; shared ones are edited by their
    owner or a process editor."""
    require_write(by)
    if segment is not None and segment.owner_id != by.pk and not by.can_edit_processes:
        raise PermissionDenied(
            "Only its owner or a manager can change this segment.", code="permission.segment"
        )
    errors = Collector()
    name, description = " ".join(name.split()), description.strip()
    if not name:
        errors.add("name", "A segment needs a name.", code="invalid.required")
    elif len(name) > 100 or "\x00" in name:
        errors.add("name", "A name has at most 100 characters.", code="invalid.too_long")
    if len(description) > 2000 or "\x00" in description:
        errors.add("description", "A description has at most 2,000 characters.", code="invalid.too_long")
    clash = Segment.objects.annotate(lname=Lower("name")).filter(lname=name.casefold())
    if segment is not None:
        clash = clash.exclude(pk=segment.pk)
    if name and clash.exists():
        errors.add("name", f"There is already a segment called {name!r}.", code="segment.duplicate")
    try:
        clean = clean_filters(filters)
    except ValidationFailed as exc:
        errors.errors.extend(exc.errors)
        clean = {}
    errors.raise_if_any()
    now = clock.now()
    created = segment is None
    if segment is None:
        segment = Segment(owner=by, created_at=now)
    segment.name, segment.description, segment.filters, segment.shared = name, description, clean, shared
    segment.updated_at = now
    segment.save()
    event_emit(
        name="segment.created" if created else "segment.updated",
        subject=segment,
        actor=by,
        payload={"name": name},
    )
    return segment


@transaction.atomic
def segment_delete(*, by: User, segment: Segment) -> None:
    require_write(by)
    if segment.owner_id != by.pk and not by.can_edit_processes:
        raise PermissionDenied(
            "Only its owner or a manager can delete this segment.", code="permission.segment"
        )
    event_emit(name="segment.deleted", subject=segment, actor=by, payload={"name": segment.name})
    segment.delete()


# --- the party list filters this app adds ---------------------------------------------------------------------


def _stage_filter(user: User, value: str) -> Q:
    if value not in _stage_keys():
        raise FridayError(
            f"The customer lifecycle has no stage {value!r}.", code="invalid.stage", field="stage"
        )
    return segment_q({"stages": [value]})


def _segment_filter(user: User, value: str) -> Q:
    if not str(value).isdigit():
        raise FridayError("Give a segment id.", code="invalid.segment", field="segment")
    try:
        segment = segment_get(user=user, segment_id=int(value))
    except NotFound as exc:
        exc.field = "segment"
        raise
    return segment_q(segment.filters)


register_party_filter("stage", _stage_filter)
register_party_filter("segment", _segment_filter)

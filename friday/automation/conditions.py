"""A rule's conditions: a validated tree, evaluated as one query over the candidate parties.

    {}                                      always
    {"all": [C, …]}  {"any": [C, …]}  {"not": C}
    {"segment": 12}                         in the saved segment 12 (its filter as it is now)
    {"filter": {…}}                         a segment filter written in place: lifecycle stages, roles, tags,
                                            owner and team, custom fields, created / last-contact dates
    {"record": {"field": "value", "op": "gte", "value": 1000}}
                                            a field of the record that fired (a deal's value, a job's stage …)

Party conditions become one `Q` (the segments' own), so a sweep filters its candidates in the database; record
conditions are read from the record's snapshot. The two parts are evaluated apart: under `any` or `not`, a
branch of the other kind counts as true.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q

from friday.core.errors import Collector, ValidationFailed
from friday.core.ids import valid_id
from friday.processes import segments

MAX_DEPTH = 6
MAX_NODES = 100
RECORD_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "set", "unset", "in")


def clean_conditions(tree: Any, *, prefix: str = "conditions") -> dict[str, Any]:
    """The tree, validated and normalised; ValidationFailed lists every bad node by its path."""
    errors = Collector()
    count = [0]
    out = _clean(tree if tree is not None else {}, prefix, errors, 0, count)
    errors.raise_if_any()
    return out


def _clean(node: Any, path: str, errors: Collector, depth: int, count: list[int]) -> dict[str, Any]:
    count[0] += 1
    if count[0] > MAX_NODES:
        errors.add(path, f"At most {MAX_NODES} conditions in a rule.", code="invalid.too_many")
        return {}
    if depth > MAX_DEPTH:
        errors.add(path, f"Conditions nest at most {MAX_DEPTH} deep.", code="invalid.too_deep")
        return {}
    if not isinstance(node, dict):
        errors.add(path, "A condition is an object.", code="invalid.condition")
        return {}
    if not node:
        return {}
    if len(node) != 1:
        errors.add(
            path,
            "A condition has one key: all, any, not, segment, filter or record.",
            code="invalid.condition",
        )
        return {}
    ((key, value),) = node.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            errors.add(f"{path}.{key}", f"'{key}' takes a list of conditions.", code="invalid.condition")
            return {}
        return {key: [_clean(v, f"{path}.{key}.{i}", errors, depth + 1, count) for i, v in enumerate(value)]}
    if key == "not":
        return {"not": _clean(value, f"{path}.not", errors, depth + 1, count)}
    if key == "segment":
        if not isinstance(value, int) or isinstance(value, bool) or not valid_id(value):
            errors.add(f"{path}.segment", "Give a segment's id.", code="invalid.segment")
            return {}
        from friday.processes.models import Segment

        if not Segment.objects.filter(pk=value).exists():
            errors.add(f"{path}.segment", f"There is no segment {value}.", code="invalid.segment")
        return {"segment": value}
    if key == "filter":
        try:
            return {"filter": segments.clean_filters(value, prefix=f"{path}.filter")}
        except ValidationFailed as exc:
            for e in exc.errors:
                errors.add(e.field or path, e.detail, code=e.code)
            return {}
    if key == "record":
        if not isinstance(value, dict) or not isinstance(value.get("field"), str) or not value.get("field"):
            errors.add(f"{path}.record.field", "Name the record's field.", code="invalid.field")
            return {}
        op = value.get("op", "eq")
        if op not in RECORD_OPS:
            errors.add(f"{path}.record.op", f"Use one of {', '.join(RECORD_OPS)}.", code="invalid.op")
        if op not in ("set", "unset") and "value" not in value:
            errors.add(f"{path}.record.value", "Give the value to compare with.", code="invalid.required")
        return {"record": {"field": value["field"][:60], "op": op, "value": value.get("value")}}
    errors.add(
        path,
        f"Unknown condition {key!r}: use all, any, not, segment, filter or record.",
        code="invalid.condition",
    )
    return {}


def party_q(tree: dict[str, Any]) -> Q:
    """The party part of a clean tree, as a condition on Party rows (record conditions count as true here)."""
    if not tree:
        return Q()
    ((key, value),) = tree.items()
    if key == "all":
        q = Q()
        for child in value:
            q &= party_q(child)
        return q
    if key == "any":
        if not all(_has_party(c) for c in value):
            return Q()  # a record-only branch may be the true one: the party part cannot rule anyone out
        q = Q(pk__in=[])
        for child in value:
            q |= party_q(child)
        return q
    if key == "not":
        return ~party_q(value) if _has_party(value) else Q()
    if key == "segment":
        from friday.processes.models import Segment

        segment = Segment.objects.filter(pk=value).first()
        return segments.segment_q(segment.filters) if segment else Q(pk__in=[])
    if key == "filter":
        return segments.segment_q(value)
    return Q()


def _has_party(tree: dict[str, Any]) -> bool:
    if not tree:
        return False
    ((key, value),) = tree.items()
    if key in ("all", "any"):
        return any(_has_party(c) for c in value)
    if key == "not":
        return _has_party(value)
    return key in ("segment", "filter")


def record_matches(tree: dict[str, Any], record: dict[str, Any]) -> bool:
    """The record part of a clean tree, on the record's snapshot (party conditions count as true here)."""
    if not tree:
        return True
    ((key, value),) = tree.items()
    if key == "all":
        return all(record_matches(c, record) for c in value)
    if key == "any":
        relevant = [c for c in value if _has_record(c)]
        return any(record_matches(c, record) for c in relevant) if relevant else True
    if key == "not":
        return not record_matches(value, record) if _has_record(value) else True
    if key == "record":
        return _compare(record.get(value["field"]), value["op"], value.get("value"))
    return True


def _has_record(tree: dict[str, Any]) -> bool:
    if not tree:
        return False
    ((key, value),) = tree.items()
    if key in ("all", "any"):
        return any(_has_record(c) for c in value)
    if key == "not":
        return _has_record(value)
    return key == "record"


def _coerce(actual: Any, expected: Any) -> tuple[Any, Any]:
    if isinstance(actual, (int, float, Decimal)) and not isinstance(actual, bool):
        try:
            return Decimal(str(actual)), Decimal(str(expected))
        except (InvalidOperation, ValueError):
            return str(actual), str(expected)
    if isinstance(actual, (dt.date, dt.datetime)):
        return actual.isoformat(), str(expected)
    return actual, expected


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "set":
        return actual not in (None, "", [])
    if op == "unset":
        return actual in (None, "", [])
    if actual is None:
        return False
    if op == "in":
        return str(actual) in [str(v) for v in (expected or [])]
    a, b = _coerce(actual, expected)
    try:
        return {
            "eq": a == b,
            "ne": a != b,
            "lt": a < b,
            "lte": a <= b,
            "gt": a > b,
            "gte": a >= b,
        }[op]
    except TypeError:
        return False

"""Keyset pagination: an opaque cursor holds the last row's sort key, so page 10,000 costs what page 1 costs."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet

from friday.core.errors import FridayError, ValidationFailed


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return dt.datetime.fromisoformat(value["dt"])
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
        if "dec" in value:
            return Decimal(value["dec"])
    return value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("wrong shape")
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, KeyError) as exc:
        error = FridayError(
            "The cursor is not valid; start again from the first page.", code="invalid.cursor", field="cursor"
        )
        raise ValidationFailed([error]) from exc


def page_order(sorts: dict[str, list[str]], sort: str, limit: int, max_limit: int = 200) -> list[str]:
    """The keyset order a sort name stands for, after checking the sort and the page size a caller sent."""
    if sort not in sorts:
        raise FridayError(
            f"Cannot sort by {sort!r}; use one of {', '.join(sorts)}.", code="invalid.sort", field="sort"
        )
    if not 1 <= limit <= max_limit:
        raise FridayError(f"Limit must be between 1 and {max_limit}.", code="invalid.limit", field="limit")
    return sorts[sort]


def keyset_page(qs: QuerySet, *, order: list[str], cursor: str | None, limit: int) -> Page:
    """Page through `qs` ordered by `order` (field names, '-' for descending; the last must be unique).

    NULLs are not supported in sort keys: sort only on non-null columns (or coalesce them first).
    """
    fields = [o.lstrip("-") for o in order]
    if cursor:
        values = decode_cursor(cursor, len(fields))
        # (a, b, c) after (x, y, z)  ==  a>x OR (a=x AND b>y) OR (a=x AND b=y AND c>z), per direction.
        condition = Q()
        for i, name in enumerate(fields):
            step = Q(**{f"{fields[j]}": values[j] for j in range(i)})
            op = "lt" if order[i].startswith("-") else "gt"
            step &= Q(**{f"{name}__{op}": values[i]})
            condition |= step
        # The leading column's bound on its own lets the database seek the index instead of scanning it.
        first_op = "lte" if order[0].startswith("-") else "gte"
        qs = qs.filter(Q(**{f"{fields[0]}__{first_op}": values[0]}) & condition)
    rows = list(
        qs.order_by(
            *[F(f).desc() if o.startswith("-") else F(f).asc() for f, o in zip(fields, order, strict=True)]
        )[: limit + 1]
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_attr(last, f) for f in fields])
    return Page(items=rows, next_cursor=next_cursor)


def _attr(obj: Any, path: str) -> Any:
    if isinstance(obj, dict):  # rows of a .values() queryset
        return obj[path]
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj

"""`field__in_list=values`: `IN` with one parameter however many values, for the bulk paths (imports, their
undo) that look up thousands of keys at a time.

Django's `__in` prepares every value on its own (resolving each as a possible expression, then converting it):
over 5,000 values that costs more than the query. Here the values go as one parameter — a JSON array read by
`json_each` on SQLite, an array compared with `= ANY` on PostgreSQL — and both databases still search the
column's index for each value (SQLite: `SEARCH … USING INDEX (x=?)` over a `LIST SUBQUERY`).

Values must be plain strings or integers (what the column stores): they are not converted. Pass a set, tuple
or list; an empty one matches nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models import Lookup


class Many:
    """Values for `__in_list`, wrapped so the ORM does not walk them one by one before the lookup sees them."""

    __slots__ = ("values",)

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = list(values)


class InList(Lookup):
    lookup_name = "in_list"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_prep_lookup(self) -> Any:
        values = self.rhs.values if isinstance(self.rhs, Many) else list(self.rhs)
        for value in values[:1]:
            if not isinstance(value, str | int):
                raise TypeError(f"__in_list takes strings or integers, not {type(value).__name__}")
        return values

    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        if not self.rhs:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return "%s", (self.rhs,)
        return "(SELECT value FROM json_each(%s))", (json.dumps(self.rhs),)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)
        return f"{lhs} IN {rhs}", (*lhs_params, *rhs_params)


models.Field.register_lookup(InList)
models.ForeignObject.register_lookup(InList)  # party_id__in_list: a foreign key's own lookups are its class's

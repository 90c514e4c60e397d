"""The segment filter jobs add: customers by their paid jobs ("three or more paid jobs in 24 months")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q

from friday.core import clock
from friday.core.errors import Collector
from friday.processes.segments import ExtraFilter, register_filter


def _clean(value: Any, errors: Collector, path: str) -> dict[str, int]:
    if not isinstance(value, dict) or set(value) - {"at_least", "months"}:
        errors.add(
            path, "Give at_least (jobs) and months, e.g. {at_least: 3, months: 24}.", code="invalid.filter"
        )
        return {}
    out: dict[str, int] = {}
    for name, low, high, default in (("at_least", 1, 10_000, None), ("months", 1, 240, 24)):
        number = value.get(name, default)
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            errors.add(f"{path}.{name}", f"Give a whole number from {low} to {high}.", code="invalid.number")
        else:
            out[name] = number
    return out


def paid_since(months: int) -> dt.datetime:
    from friday.jobs.services import add_interval

    start = add_interval(clock.today(), -months, "months")
    return dt.datetime.combine(start, dt.time.min, tzinfo=clock.business_tz())


def _q(value: dict[str, int]) -> Q:
    from friday.jobs.models import Job

    paid = (
        Job.objects.filter(paid_at__gte=paid_since(value["months"]))
        .values("party_id")
        .annotate(n=Count("id"))
        .filter(n__gte=value["at_least"])
        .values("party_id")
    )
    return Q(pk__in=paid)


register_filter(ExtraFilter(name="paid_jobs", clean=_clean, q=_q))

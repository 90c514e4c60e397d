"""The segment filters insights add, so automation can act on them: customers at risk (score at least N), in
RFM segments (`{"rfm": ["champions", "loyal"]}`), and by 12-month lifetime value (`{"clv": {"at_least": 500}}`)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q

from friday.core.errors import Collector
from friday.insights.rfm import Segment
from friday.processes.segments import ExtraFilter, register_filter

MAX_AMOUNT = Decimal("1e14")


def _clean(value: Any, errors: Collector, path: str) -> dict[str, int]:
    if value is True:
        from friday.insights.risk import threshold

        return {"min_score": threshold()}
    if not isinstance(value, dict) or set(value) - {"min_score"}:
        errors.add(
            path,
            "Give min_score, e.g. {min_score: 30} (or true for the business's threshold).",
            code="invalid.filter",
        )
        return {}
    number = value.get("min_score", 30)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 100:
        errors.add(f"{path}.min_score", "Give a whole number from 1 to 100.", code="invalid.number")
        return {}
    return {"min_score": number}


def _q(value: dict[str, int]) -> Q:
    from friday.insights.models import CustomerMetrics

    return Q(pk__in=CustomerMetrics.objects.filter(risk_score__gte=value["min_score"]).values("party_id"))


def _clean_rfm(value: Any, errors: Collector, path: str) -> list[str]:
    names = ", ".join(Segment.values)
    if not isinstance(value, list) or not value or len(value) > len(Segment.values):
        errors.add(path, f'Give a list of RFM segments, e.g. ["champions"]: {names}.', code="invalid.list")
        return []
    for i, item in enumerate(value):
        if item not in Segment.values:
            errors.add(
                f"{path}.{i}", f"{item!r} is not an RFM segment; use one of {names}.", code="invalid.choice"
            )
    return list(dict.fromkeys(value))


def _q_rfm(value: list[str]) -> Q:
    from friday.insights.models import CustomerMetrics

    return Q(pk__in=CustomerMetrics.objects.filter(rfm_segment__in=value).values("party_id"))


def _clean_clv(value: Any, errors: Collector, path: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value or set(value) - {"at_least", "at_most"}:
        errors.add(
            path,
            "Give at_least and/or at_most in the business's currency, e.g. {at_least: 500}.",
            code="invalid.filter",
        )
        return {}
    out: dict[str, str] = {}
    for name in ("at_least", "at_most"):
        if name not in value:
            continue
        raw = value[name]
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise TypeError
            amount = Decimal(str(raw).strip())
            if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
                raise ValueError
        except (TypeError, ValueError, InvalidOperation):
            errors.add(f"{path}.{name}", "Give an amount, e.g. 500 or 499.99.", code="invalid.number")
            continue
        out[name] = str(amount)
    if "at_least" in out and "at_most" in out and Decimal(out["at_most"]) < Decimal(out["at_least"]):
        errors.add(f"{path}.at_most", "at_most is below at_least.", code="invalid.range")
    return out


def _q_clv(value: dict[str, str]) -> Q:
    """Customers whose 12-month CLV is in range; those without one (no usable fit, never bought) never match."""
    from friday.insights.models import CustomerMetrics

    rows = CustomerMetrics.objects.filter(clv_12m__isnull=False)
    if "at_least" in value:
        rows = rows.filter(clv_12m__gte=Decimal(value["at_least"]))
    if "at_most" in value:
        rows = rows.filter(clv_12m__lte=Decimal(value["at_most"]))
    return Q(pk__in=rows.values("party_id"))


register_filter(ExtraFilter(name="at_risk", clean=_clean, q=_q))
register_filter(ExtraFilter(name="rfm", clean=_clean_rfm, q=_q_rfm))
register_filter(ExtraFilter(name="clv", clean=_clean_clv, q=_q_clv))

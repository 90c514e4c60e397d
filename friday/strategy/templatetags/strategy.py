"""How a goal's figures are written: 92.5%, £12,500, 3, NPS 41.2."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from friday.core import business
from friday.core.money import money
from friday.strategy import metrics

register = template.Library()


def _plain(value: Decimal) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@register.filter
def figure(value: Decimal | None, goal: Any) -> str:
    """`value` in the unit of `goal`'s metric; "—" when there is no figure."""
    if value is None:
        return "—"
    metric = metrics.get(goal.metric)
    unit = metric.unit if metric else "count"
    value = Decimal(value)
    if unit == "money":
        return money(value, business.currency(), whole=value == value.to_integral_value())
    if unit == "percent":
        return f"{_plain(value)}%"
    return _plain(value)


STATUS_STYLE = {
    "met": "background:var(--ok-bg);color:var(--ok)",
    "on_track": "background:var(--accent-bg);color:var(--accent)",
    "at_risk": "background:#fff4d6;color:#7a5300",
    "off_track": "background:var(--bad-bg);color:var(--bad)",
    "unknown": "background:#eef0f4;color:var(--muted)",
}


@register.filter
def status_style(status: str) -> str:
    return STATUS_STYLE.get(str(status), STATUS_STYLE["unknown"])


@register.filter
def target_text(goal: Any) -> str:
    """ "at least 90% a month", "at most £5,000 a quarter", "at least 20 over rolling 30 days"."""
    when = f"over rolling {goal.rolling_days} days" if goal.period == "rolling" else f"a {goal.period}"
    return f"{goal.get_direction_display().lower()} {figure(goal.target, goal)} {when}"

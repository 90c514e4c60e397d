"""Who is about to leave, and why: explicit signals on a customer's figures, each a reason in plain words with
its weight, and the customer-value model's chance that they are still a customer; the score is their sum (at
most 100). See docs/insights.md.

Every reason is computed from the row's own figures, so a reason shows exactly when its condition holds, and
the list, the party page, the segment filter and automation all read the same stored score and reasons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

LAPSED_FACTOR = 2  # silent for more than twice the usual interval between purchases
SPEND_DROP = Decimal("0.5")  # spent at most half of the year before
OVERDUE_DAYS = 30
NO_CONTACT_DAYS = 90
# The model's P(alive) below this, for a customer who bought more than once. Under BG/NBD a customer with one
# purchase cannot have dropped out (dropout follows a repeat purchase), so their P(alive) is 1 and says nothing.
STOPPED_BELOW = Decimal("0.3")


@dataclass(frozen=True)
class Reason:
    code: str
    weight: int
    text: str


def _day(value: dt.date | dt.datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def reasons(row: Any, *, today: dt.date, now: dt.datetime) -> list[Reason]:
    """The reasons that hold for a CustomerMetrics row (saved or not), strongest first."""
    out: list[Reason] = []
    if row.purchases >= 2 and row.usual_interval_days and row.last_purchase_on:
        silent = (today - row.last_purchase_on).days
        if silent > LAPSED_FACTOR * row.usual_interval_days:
            out.append(
                Reason(
                    "lapsing",
                    35,
                    f"usually buys every {row.usual_interval_days} days; {silent} days since the last purchase",
                )
            )
    if row.purchases >= 2 and row.p_alive is not None and row.p_alive < STOPPED_BELOW:
        chance = int(100 * row.p_alive)  # rounded down, so the text never says 30% for a chance under 30%
        out.append(
            Reason(
                "stopped",
                30,
                f"probably stopped buying: {chance}% chance they are still a customer (model)",
            )
        )
    if row.revenue_prev_12m > 0 and row.revenue_12m <= row.revenue_prev_12m * SPEND_DROP:
        drop = round(100 * (1 - row.revenue_12m / row.revenue_prev_12m))
        out.append(Reason("spend_down", 20, f"spend down {drop}% on the year before"))
    if row.latest_nps is not None and row.latest_nps <= 6 and row.latest_nps_at:
        out.append(Reason("detractor", 25, f"detractor (NPS {row.latest_nps}) on {_day(row.latest_nps_at)}"))
    if row.oldest_overdue_on and (today - row.oldest_overdue_on).days >= OVERDUE_DAYS:
        out.append(Reason("overdue", 15, f"invoice {(today - row.oldest_overdue_on).days} days overdue"))
    if row.escalated_reminders:
        n = row.escalated_reminders
        out.append(
            Reason(
                "escalated",
                10,
                "escalated reminder open" if n == 1 else f"{n} escalated reminders open",
            )
        )
    if row.purchases and (row.last_contact_at is None or (now - row.last_contact_at).days >= NO_CONTACT_DAYS):
        out.append(
            Reason(
                "no_contact",
                10,
                "never contacted"
                if row.last_contact_at is None
                else f"no contact in {(now - row.last_contact_at).days} days",
            )
        )
    if not row.has_people and row.purchases:
        out.append(Reason("no_people", 5, "nobody at the organisation is on file any more"))
    return sorted(out, key=lambda r: -r.weight)


def score(found: list[Reason]) -> int:
    return min(100, sum(r.weight for r in found))


def apply(row: Any, *, today: dt.date, now: dt.datetime) -> None:
    """Set the row's score, reasons and lapsing flag from its own figures (the one place that does)."""
    holding = reasons(row, today=today, now=now)
    row.risk_score = score(holding)
    row.risk_reasons = [{"code": r.code, "text": r.text} for r in holding]
    row.lapsing = any(r.code == "lapsing" for r in holding)


def threshold() -> int:
    """At risk from this score on (FRIDAY_RISK_THRESHOLD, default 30)."""
    return int(getattr(settings, "FRIDAY_RISK_THRESHOLD", 30))

"""RFM: recency, frequency and monetary value scored 1–5 by quintiles over the customers who bought, and the
segment each (R, F, M) falls in. Pure functions: the cut points are worked out by the customer-value fit
(`insights.value.fit`) and stored with it, so every row scored against the same fit gets the same scores.

Scores. For n values sorted ascending v₁ ≤ … ≤ vₙ, the k-th cut (k = 1..4) is v at position ⌈k·n/5⌉; a value
scores 1 + the number of cuts it exceeds. With n distinct values each fifth gets one score; tied values always
get the same score, so heavily tied figures (most customers bought once) leave some scores unused rather than
split equal customers arbitrarily. Recency is scored on the date of the last purchase (later is better), so
the cuts stay meaningful between two fits; frequency on purchases (days with a paid invoice); monetary on revenue.

Segments. The names and the shape of the grid follow the example segments of the R package `rfm`
(Aravind Hebbali, Rsquared Academy; `rfm_segment`, https://cran.r-project.org/package=rfm), whose ten ranges
overlap and leave gaps; here they are folded into eight that cover every cell once, on R and FM = ⌊(F + M) / 2⌋ (frequency and spend together):

    R \\ FM   1             2                    3          4            5
    5, 4     New           Potential loyalists  Loyal      Champions    Champions
    3        Hibernating   Potential loyalists  Loyal      Loyal        Loyal
    2        Hibernating   Hibernating          At risk    At risk      Can't lose them
    1        Lost          Lost                 At risk    At risk      Can't lose them
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import models


class Segment(models.TextChoices):
    CHAMPIONS = "champions", "Champions"
    LOYAL = "loyal", "Loyal"
    POTENTIAL = "potential_loyalists", "Potential loyalists"
    NEW = "new", "New"
    AT_RISK = "at_risk", "At risk"
    CANT_LOSE = "cant_lose", "Can't lose them"
    HIBERNATING = "hibernating", "Hibernating"
    LOST = "lost", "Lost"


DESCRIPTIONS = {
    Segment.CHAMPIONS: "bought lately, often and for the most",
    Segment.LOYAL: "buy regularly and well, not necessarily the latest",
    Segment.POTENTIAL: "recent customers with a modest record so far",
    Segment.NEW: "bought lately, little so far",
    Segment.AT_RISK: "used to buy well, not lately",
    Segment.CANT_LOSE: "among the best ever, but not lately",
    Segment.HIBERNATING: "a while since they bought, and not much",
    Segment.LOST: "the longest since they bought, and little",
}

_GRID: dict[int, tuple[Segment, Segment, Segment, Segment, Segment]] = {
    5: (Segment.NEW, Segment.POTENTIAL, Segment.LOYAL, Segment.CHAMPIONS, Segment.CHAMPIONS),
    4: (Segment.NEW, Segment.POTENTIAL, Segment.LOYAL, Segment.CHAMPIONS, Segment.CHAMPIONS),
    3: (Segment.HIBERNATING, Segment.POTENTIAL, Segment.LOYAL, Segment.LOYAL, Segment.LOYAL),
    2: (Segment.HIBERNATING, Segment.HIBERNATING, Segment.AT_RISK, Segment.AT_RISK, Segment.CANT_LOSE),
    1: (Segment.LOST, Segment.LOST, Segment.AT_RISK, Segment.AT_RISK, Segment.CANT_LOSE),
}


def cuts(values: Sequence[Any]) -> list[Any]:
    """The four quintile cuts of `values` (any order), as defined above; none for no values."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return []
    return [ordered[math.ceil(k * n / 5) - 1] for k in range(1, 5)]


def score(value: Any, cut_points: Sequence[Any]) -> int:
    """1 + the number of cuts `value` exceeds (5 is best)."""
    return 1 + sum(1 for c in cut_points if value > c)


def segment(r: int, f: int, m: int) -> Segment:
    return _GRID[r][(f + m) // 2 - 1]


def stored_cuts(recency: Sequence[dt.date], frequency: Sequence[int], monetary: Sequence[Decimal]) -> dict:
    """The cuts as JSON (dates and amounts as strings), for the fit's row."""
    return {
        "recency": [d.isoformat() for d in cuts(recency)],
        "frequency": cuts(frequency),
        "monetary": [str(m) for m in cuts(monetary)],
    }


def loaded_cuts(stored: dict) -> tuple[list[dt.date], list[int], list[Decimal]] | None:
    """The stored cuts back in their types; None when the fit had no customer to cut."""
    if not stored or len(stored.get("recency") or []) != 4:
        return None
    return (
        [dt.date.fromisoformat(d) for d in stored["recency"]],
        [int(f) for f in stored["frequency"]],
        [Decimal(m) for m in stored["monetary"]],
    )

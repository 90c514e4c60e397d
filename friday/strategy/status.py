"""Whether a goal is met, on track, at risk or off track — the rules, in one place (docs/strategy.md repeats them).

A total (revenue, new prospects, lost value, customers back) grows as the period goes, so it is judged by its
pace: the target scaled to the share of the period gone. A ratio (NPS, margin) or a level (reminders overdue now)
is judged as it stands. TOLERANCE is how near the line "at risk" is: within 10% of the figure it is held to.

At least a target:
- met: the figure has reached the target;
- total: on track when it has reached the target × the share of the period gone, at risk within 10% under that
  pace, off track below;
- ratio or level: at risk within 10% of the target under it, off track below.

At most a target:
- total: off track once the figure is over the target (it can only grow); otherwise projected to the end of
  the period (figure ÷ share gone): on track when the projection is within the target, at risk when it is within
  10% over, off track beyond; a period that is over is judged as it stands (below);
- ratio or level: met within the target, at risk within 10% over it, off track beyond.

No figure (no NPS answer yet, no revenue to take a margin of, no customers last period): no status.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from friday.strategy.metrics import TOTAL
from friday.strategy.models import Direction, Status

TOLERANCE = Fraction(1, 10)
RANK = {Status.MET: 0, Status.ON_TRACK: 1, Status.AT_RISK: 2, Status.OFF_TRACK: 3}


def judge(
    *, value: Decimal | None, target: Decimal, direction: str, kind: str, elapsed: Fraction = Fraction(1)
) -> Status:
    """The status of a figure against its target, `elapsed` of its period gone (1: over, or not paced)."""
    if value is None:
        return Status.UNKNOWN
    v, t = Fraction(value), Fraction(target)
    paced = kind == TOTAL and elapsed < 1
    if direction == Direction.AT_LEAST:
        if v >= t:
            return Status.MET
        line = t * elapsed if paced else t
        if paced and v >= line:
            return Status.ON_TRACK
        return Status.AT_RISK if v >= line - abs(line) * TOLERANCE else Status.OFF_TRACK
    if not paced:
        if v <= t:
            return Status.MET
        return Status.AT_RISK if v <= t + abs(t) * TOLERANCE else Status.OFF_TRACK
    if v > t:
        return Status.OFF_TRACK
    projected = v / elapsed if elapsed else v
    if projected <= t:
        return Status.ON_TRACK
    return Status.AT_RISK if projected <= t + abs(t) * TOLERANCE else Status.OFF_TRACK


def worse(now: str, before: str) -> bool:
    """Whether `now` is a worse status than `before` (no figure, on either side, is not a slip)."""
    if now not in RANK or before not in RANK:
        return False
    return RANK[Status(now)] > RANK[Status(before)]

"""The daily digest's "goals" section: the goals whose status got worse since the reader's previous digest."""

from __future__ import annotations

from django.urls import reverse

from friday.core import clock
from friday.insights import digest
from friday.strategy import selectors
from friday.strategy.models import Status
from friday.strategy.templatetags.strategy import figure

STATE_KEY = "goals"


def section_goals(ctx: digest.DigestContext) -> digest.Section | None:
    """Goals that slipped: their status now is worse than the last digest saw (it remembers them in its state), or,
    without one, than their daily reading on the day the digest looks back to."""
    known = ctx.previous_state.get(STATE_KEY)
    found, now = selectors.slipped(
        since=clock.local_date(ctx.since), known=known if isinstance(known, dict) else None
    )
    ctx.state[STATE_KEY] = now
    if not found:
        return None
    labels = dict(Status.choices)
    lines = [
        digest.Line(
            text=slip.goal.title,
            url=ctx.link(reverse("strategy:goal", args=[slip.goal.pk])),
            when=f"{labels.get(slip.before, slip.before)} → {labels.get(slip.status, slip.status)}".lower().capitalize(),
            detail=f"{figure(slip.value, slip.goal)} against {figure(slip.goal.target, slip.goal)}"
            + (" — yours" if slip.goal.owner_id == ctx.user.pk else ""),
        )
        for slip in found[: digest.LINES]
    ]
    total = len(found)
    return digest.Section(
        "goals",
        "Goals that slipped",
        lines,
        total,
        f"{total} goal{'s' if total != 1 else ''} slipped",
        more_url=ctx.link(reverse("strategy:index")),
    )


def register() -> None:
    digest.register_section("goals", section_goals, order=5)

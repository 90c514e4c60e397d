"""Reads for the home page, built from the parties selectors (scoped to the user)."""

from __future__ import annotations

from friday.accounts.models import User
from friday.accounts.scoping import visible_q
from friday.parties.models import Activity, Party


def home_summary(*, user: User) -> dict:
    mine = Party.objects.filter(owner=user).order_by("-updated_at", "-id")[:10]
    # The scope is checked through the join, row by row, while the newest-first index is walked: no IN over
    # every visible party (see docs/performance.md, finding 3).
    recent = (
        Activity.objects.filter(visible_q(user, owner="party__owner", team="party__team"))
        .select_related("party", "author")
        .order_by("-occurred_at", "-id")[:15]
    )
    return {"mine": list(mine), "recent": list(recent)}

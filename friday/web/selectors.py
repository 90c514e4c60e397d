"""Reads for the home page, built from the parties selectors (scoped to the user)."""

from __future__ import annotations

from friday.accounts.models import User
from friday.parties.models import Activity, Party
from friday.parties.selectors import parties_visible


def home_summary(*, user: User) -> dict:
    visible = parties_visible(user)
    mine = Party.objects.filter(owner=user).order_by("-updated_at", "-id")[:10]
    recent = (
        Activity.objects.filter(party__in=visible.values("id"))
        .select_related("party", "author")
        .order_by("-occurred_at", "-id")[:15]
    )
    return {"mine": list(mine), "recent": list(recent)}

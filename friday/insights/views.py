"""Insight pages. The party page's card of figures lives here too."""

from __future__ import annotations

from typing import Any

from friday.accounts.models import User
from friday.insights.models import CustomerMetrics


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Figures card on a party page (the party page has already checked the user may see it)."""
    return {"metrics": CustomerMetrics.objects.filter(party=party).first()}

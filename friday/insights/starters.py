"""Insights' starter: a segment of the customers at risk, and a rule that asks their owner to check in."""

from __future__ import annotations

from typing import Any

from friday.automation import starters

AT_RISK = "segment:at_risk"
AT_RISK_SEGMENT: dict[str, Any] = {
    "name": "Customers at risk",
    "description": "Customers whose risk signals add up to 30 or more (see Customers at risk for why).",
    "filters": {"at_risk": {"min_score": 30}},
}
RULES: list[dict[str, Any]] = [
    {
        "name": "Check in with customers at risk",
        "description": "Every Monday at 9:00, remind the owner of each customer at risk to get in touch — at most "
        "once a month per customer. Their page says why they are at risk.",
        "trigger": {"type": "campaign", "cron": "0 9 * * 1", "period": "month"},
        "conditions": AT_RISK,
        "actions": [
            {
                "type": "create_reminder",
                "title": "Check in with {party}: at risk",
                "for": "owner",
                "due_in_minutes": 1440,
            }
        ],
    }
]


def add() -> None:
    starters.SEGMENTS.setdefault(AT_RISK, AT_RISK_SEGMENT)
    known = {r["name"] for r in starters.RULES}
    starters.RULES.extend(r for r in RULES if r["name"] not in known)

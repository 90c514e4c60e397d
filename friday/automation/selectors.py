"""Reads of rules and their firings. Rules are the business's: everyone may read them (so a colleague can see why
a message went out); firings and runs are scoped by the party they were for."""

from __future__ import annotations

from typing import Any

import yaml
from django.db.models import Q, QuerySet

from friday.accounts.models import User
from friday.automation.models import Firing, Rule
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page
from friday.parties.selectors import parties_visible


def rules(*, user: User) -> QuerySet[Rule]:
    return (
        Rule.objects.select_related("owner").order_by("name", "id") if user.is_active else Rule.objects.none()
    )


def rule_get(*, user: User, rule_id: int) -> Rule:
    rule = rules(user=user).filter(pk=rule_id).first() if valid_id(rule_id) else None
    if rule is None:
        raise NotFound("No such rule.", code="rule.not_found")
    return rule


def firings_visible(user: User) -> QuerySet[Firing]:
    qs = Firing.objects.all()
    if not user.is_active:
        return qs.none()
    if user.sees_all:
        return qs
    return qs.filter(Q(party__in=parties_visible(user)) | Q(party__isnull=True, rule__owner=user))


def firings(
    *,
    user: User,
    rule_id: int | None = None,
    party_id: int | None = None,
    status: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    if not 1 <= limit <= 200:
        raise FridayError("Limit must be between 1 and 200.", code="invalid.limit", field="limit")
    qs = firings_visible(user).select_related("rule", "party").prefetch_related("runs")
    if rule_id is not None:
        qs = qs.filter(rule_id=rule_id)
    if party_id is not None:
        qs = qs.filter(party_id=party_id)
    if status:
        qs = qs.filter(runs__status=status).distinct()
    return keyset_page(qs, order=["-fired_at", "-id"], cursor=cursor, limit=limit)


def rule_yaml(rule: Rule) -> str:
    data: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "enabled": rule.enabled,
        "trigger": rule.trigger,
        "conditions": rule.conditions,
        "actions": rule.actions,
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def conditions_text(tree: dict[str, Any]) -> str:
    """A condition tree as one line of YAML, for putting a draft beside the live rule ("" when none)."""
    if not tree:
        return "(every party the trigger finds)"
    return yaml.safe_dump(
        tree, default_flow_style=True, sort_keys=True, allow_unicode=True, width=10_000
    ).strip()


def drafts_pending() -> QuerySet[Rule]:
    """Rules with a draft waiting in the sandbox, the most recently edited first."""
    return (
        Rule.objects.filter(draft_updated_at__isnull=False)
        .select_related("owner", "draft_updated_by")
        .order_by("-draft_updated_at", "-id")
    )

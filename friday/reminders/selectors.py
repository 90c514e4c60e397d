"""Reads of reminders, already scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from friday.accounts.models import Scope, User
from friday.core import clock
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page
from friday.reminders.models import ACTIVE, Reminder, ReminderStatus


def reminders_visible(user: User) -> QuerySet[Reminder]:
    """Managers and admins see every reminder; others those for them, for their role, that they made, and
    (team scope) their teams'."""
    qs = Reminder.objects.all()
    if not user.is_active:
        return qs.none()
    if user.sees_all:
        return qs
    q = Q(assignee_id=user.pk) | Q(created_by_id=user.pk) | Q(assignee_role=user.role)
    if user.scope != Scope.OWN:
        q |= Q(team_id__in=user.teams.through.objects.filter(user_id=user.pk).values("team_id"))
    return qs.filter(q)


def reminder_get(*, user: User, reminder_id: int) -> Reminder:
    reminder = None
    if valid_id(reminder_id):
        reminder = (
            reminders_visible(user)
            .select_related("party", "assignee", "chase", "created_by", "done_by")
            .filter(pk=reminder_id)
            .first()
        )
    if reminder is None:
        raise NotFound("No such reminder.", code="reminder.not_found")
    return reminder


def mine(user: User) -> QuerySet[Reminder]:
    """What this colleague is asked to do: theirs, and their role's."""
    return Reminder.objects.filter(Q(assignee_id=user.pk) | Q(assignee_role=user.role), status__in=ACTIVE)


@dataclass
class MyDay:
    overdue: list[Reminder] = field(default_factory=list)
    today: list[Reminder] = field(default_factory=list)
    upcoming: list[Reminder] = field(default_factory=list)
    overdue_count: int = 0
    upcoming_more: bool = False


def end_of_today() -> dt.datetime:
    tz = clock.business_tz()
    return dt.datetime.combine(clock.today() + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def my_day(user: User, *, limit: int = 50) -> MyDay:
    """My reminders: overdue (oldest first), the rest of today, and what is coming."""
    now, tonight = clock.now(), end_of_today()
    base = mine(user).select_related("party", "chase").order_by("remind_at", "id")
    overdue = base.filter(remind_at__lt=now)
    out = MyDay(
        overdue=list(overdue[:limit]),
        today=list(base.filter(remind_at__gte=now, remind_at__lt=tonight)[:limit]),
    )
    upcoming = list(base.filter(remind_at__gte=tonight)[: limit + 1])
    out.upcoming, out.upcoming_more = upcoming[:limit], len(upcoming) > limit
    out.overdue_count = len(out.overdue) if len(out.overdue) < limit else overdue.count()
    return out


def attention_count(user: User) -> int:
    """For the navigation: my reminders overdue or due by tonight (capped, so the count stays cheap)."""
    if not user.is_authenticated or not user.is_active:
        return 0
    return mine(user).filter(remind_at__lt=end_of_today())[:100].count()


STATUSES = {*ReminderStatus.values, "active"}
MAX_LIMIT = 200


@dataclass
class ReminderFilters:
    status: str = "active"  # a status, or "active" (open or snoozed), or "" for all
    assignee_id: int | None = None
    party_id: int | None = None
    due_before: dt.datetime | None = None
    due_after: dt.datetime | None = None
    mine: bool = False


def reminder_list(
    *, user: User, filters: ReminderFilters, cursor: str | None = None, limit: int = 50
) -> Page:
    """Reminders the user may see, soonest first (keyset-paginated on (remind_at, id))."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FridayError(f"Limit must be between 1 and {MAX_LIMIT}.", code="invalid.limit", field="limit")
    qs = mine(user) if filters.mine else reminders_visible(user)
    if filters.status:
        if filters.status not in STATUSES:
            raise FridayError(
                "Status must be active, open, snoozed, done or cancelled.",
                code="invalid.status",
                field="status",
            )
        qs = qs.filter(status__in=ACTIVE) if filters.status == "active" else qs.filter(status=filters.status)
    for name in ("assignee_id", "party_id"):
        value = getattr(filters, name)
        if value is not None:
            if not valid_id(value):
                raise FridayError("No such id.", code="invalid.id", field=name)
            qs = qs.filter(**{name: value})
    if filters.due_after is not None:
        qs = qs.filter(remind_at__gte=filters.due_after)
    if filters.due_before is not None:
        qs = qs.filter(remind_at__lt=filters.due_before)
    qs = qs.select_related("party", "assignee", "chase")
    return keyset_page(qs, order=["remind_at", "id"], cursor=cursor, limit=limit)


def party_reminders(user: User, party_id: int, *, limit: int = 10) -> list[Reminder]:
    return list(
        reminders_visible(user)
        .filter(Q(party_id=party_id) | Q(chase_id=party_id), status__in=ACTIVE)
        .select_related("assignee")
        .order_by("remind_at", "id")[:limit]
    )

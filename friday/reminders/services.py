"""The only write path for reminders: create (idempotent by key), change, done, snooze, cancel, reopen; and the
secret calendar address of a colleague's reminders."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from friday.accounts.models import Role, User
from friday.accounts.scoping import require_write
from friday.core import clock
from friday.core.errors import Collector, FridayError, PermissionDenied
from friday.core.events import event_emit
from friday.parties.models import Party
from friday.parties.services import timeline_add
from friday.reminders.models import ACTIVE, CalendarFeed, Reminder, ReminderStatus

UNSET: Any = object()


@dataclass
class ReminderIn:
    title: Any = UNSET
    due_at: Any = UNSET
    notes: Any = UNSET
    assignee: Any = UNSET  # a User, or None with assignee_role
    assignee_role: Any = UNSET
    party: Any = UNSET
    chase: Any = UNSET


def _when(value: dt.datetime) -> str:
    local = value.astimezone(clock.business_tz())
    return f"{local.day} {local:%b %Y %H:%M}"


def _clean(errors: Collector, data: ReminderIn, reminder: Reminder | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data.title is not UNSET:
        title = " ".join(str(data.title or "").split())
        if not title:
            errors.add("title", "Say what is to be done.", code="invalid.required")
        elif len(title) > 200 or "\x00" in title:
            errors.add("title", "A title has at most 200 characters.", code="invalid.too_long")
        out["title"] = title
    if data.notes is not UNSET:
        notes = str(data.notes or "").strip()
        if len(notes) > 10_000 or "\x00" in notes:
            errors.add("notes", "Notes have at most 10,000 characters.", code="invalid.too_long")
        out["notes"] = notes
    if data.due_at is not UNSET:
        if not isinstance(data.due_at, dt.datetime):
            errors.add("due_at", "Give a date and time.", code="invalid.datetime")
        elif data.due_at.tzinfo is None:
            out["due_at"] = data.due_at.replace(tzinfo=clock.business_tz())  # as the business reads its clock
        else:
            out["due_at"] = data.due_at
    if data.assignee is not UNSET:
        if data.assignee is not None and not (isinstance(data.assignee, User) and data.assignee.is_active):
            errors.add("assignee", "Choose an active colleague.", code="invalid.assignee")
        out["assignee"] = data.assignee
    if data.assignee_role is not UNSET:
        role = str(data.assignee_role or "")
        if role and role not in Role.values:
            errors.add("assignee_role", f"Role must be one of {', '.join(Role.values)}.", code="invalid.role")
        out["assignee_role"] = role
    for name in ("party", "chase"):
        value = getattr(data, name)
        if value is not UNSET:
            if value is not None and not isinstance(value, Party):
                errors.add(name, "Choose a party.", code="invalid.party")
            out[name] = value
    assignee = out.get("assignee", reminder.assignee if reminder else None)
    role = out.get("assignee_role", reminder.assignee_role if reminder else "")
    if assignee is None and not role:
        errors.add("assignee", "Say who is to do it: a colleague or a role.", code="invalid.required")
    elif assignee is not None and role:
        errors.add("assignee_role", "Choose a colleague or a role, not both.", code="invalid.assignee")
    return out


@transaction.atomic
def reminder_create(
    *,
    by: User | None,
    data: ReminderIn,
    record: tuple[str, int] | None = None,
    key: str | None = None,
) -> Reminder:
    """Create a reminder. `by` None is Friday itself (automation). With a `key`, creating the same reminder
    again returns the first one — a rule that fires twice, a retried task, a second worker make one reminder."""
    if by is not None:
        require_write(by)
    if key is not None:
        existing = Reminder.objects.filter(key=key).first()
        if existing is not None:
            return existing
    if data.assignee is UNSET and data.assignee_role is UNSET:
        data.assignee = by
    for name in ("title", "due_at"):
        if getattr(data, name) is UNSET:
            setattr(data, name, None)
    errors = Collector()
    values = _clean(errors, data, None)
    errors.raise_if_any()
    now = clock.now()
    party: Party | None = values.get("party")
    assignee: User | None = values.get("assignee")
    team_id = party.team_id if party is not None else None
    if team_id is None and assignee is not None:
        team_id = assignee.teams.order_by("pk").values_list("pk", flat=True).first()
    reminder = Reminder(
        title=values["title"],
        notes=values.get("notes", ""),
        party=party,
        record_type=record[0] if record else "",
        record_id=record[1] if record else None,
        assignee=assignee,
        assignee_role=values.get("assignee_role", ""),
        team_id=team_id,
        chase=values.get("chase"),
        due_at=values["due_at"],
        remind_at=values["due_at"],
        key=key,
        created_at=now,
        created_by=by,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            reminder.save()
    except IntegrityError:
        if key is not None:
            existing = Reminder.objects.filter(key=key).first()
            if existing is not None:  # a concurrent firing made it first
                return existing
        raise
    who = assignee.display if assignee else f"every {reminder.get_assignee_role_display().lower()}"
    _timeline(
        reminder,
        "reminder.created",
        f"Reminder for {who}: {reminder.title} (due {_when(reminder.due_at)})",
        by,
    )
    event_emit(
        name="reminder.created",
        subject=reminder,
        actor=by,
        payload={"party_id": reminder.party_id, "due_at": reminder.due_at.isoformat(), "key": key or ""},
    )
    return reminder


def _timeline(reminder: Reminder, event: str, subject: str, by: User | None) -> None:
    for party in {p for p in (reminder.party, reminder.chase) if p is not None}:
        timeline_add(party, event=event, subject=subject[:200], by=by, data={"reminder_id": reminder.pk})


def _may_change(by: User, reminder: Reminder) -> Reminder:
    """Lock and re-read the reminder; refuse a read-only user."""
    require_write(by)
    return (
        Reminder.objects.select_for_update(of=("self",))
        .select_related("party", "chase", "assignee")
        .get(pk=reminder.pk)
    )


@transaction.atomic
def reminder_update(*, by: User, reminder: Reminder, data: ReminderIn) -> Reminder:
    reminder = _may_change(by, reminder)
    errors = Collector()
    values = _clean(errors, data, reminder)
    errors.raise_if_any()
    for name, value in values.items():
        setattr(reminder, name, value)
    if "due_at" in values and reminder.status == ReminderStatus.OPEN:
        reminder.remind_at = reminder.due_at
    reminder.updated_at = clock.now()
    reminder.save()
    event_emit(name="reminder.updated", subject=reminder, actor=by, payload={"fields": sorted(values)})
    return reminder


@transaction.atomic
def reminder_done(*, by: User, reminder: Reminder) -> Reminder:
    """Mark it done. Doing it twice (a double click, two colleagues) records it once."""
    reminder = _may_change(by, reminder)
    if reminder.status == ReminderStatus.DONE:
        return reminder
    if reminder.status == ReminderStatus.CANCELLED:
        raise FridayError("This reminder was cancelled; reopen it first.", code="reminder.cancelled")
    now = clock.now()
    reminder.status, reminder.done_at, reminder.done_by, reminder.updated_at = (
        ReminderStatus.DONE,
        now,
        by,
        now,
    )
    reminder.save()
    late = now > reminder.due_at
    _timeline(reminder, "reminder.done", f"Done: {reminder.title}{' (late)' if late else ''}", by)
    event_emit(name="reminder.done", subject=reminder, actor=by, payload={"late": late})
    return reminder


@transaction.atomic
def reminder_snooze(*, by: User, reminder: Reminder, until: dt.datetime) -> Reminder:
    reminder = _may_change(by, reminder)
    if reminder.status not in ACTIVE:
        raise FridayError("Only an open reminder can be snoozed.", code="reminder.not_open")
    if not isinstance(until, dt.datetime):
        raise FridayError("Give a date and time.", code="invalid.datetime", field="until")
    if until.tzinfo is None:
        until = until.replace(tzinfo=clock.business_tz())
    now = clock.now()
    if until <= now:
        raise FridayError("Snooze until a time in the future.", code="invalid.past", field="until")
    if until > now + dt.timedelta(days=366):
        raise FridayError("Snooze for at most a year.", code="invalid.too_far", field="until")
    reminder.status, reminder.remind_at, reminder.updated_at = ReminderStatus.SNOOZED, until, now
    reminder.save()
    event_emit(name="reminder.snoozed", subject=reminder, actor=by, payload={"until": until.isoformat()})
    return reminder


@transaction.atomic
def reminder_cancel(*, by: User, reminder: Reminder, reason: str = "") -> Reminder:
    reminder = _may_change(by, reminder)
    if reminder.status == ReminderStatus.CANCELLED:
        return reminder
    if reminder.status == ReminderStatus.DONE:
        raise FridayError("This reminder is done; reopen it to cancel it.", code="reminder.done")
    reason = reason.strip()
    if len(reason) > 2000 or "\x00" in reason:
        raise FridayError("A reason has at most 2,000 characters.", code="invalid.too_long", field="reason")
    reminder.status, reminder.cancelled_reason, reminder.updated_at = (
        ReminderStatus.CANCELLED,
        reason,
        clock.now(),
    )
    reminder.save()
    _timeline(reminder, "reminder.cancelled", f"Cancelled: {reminder.title}", by)
    event_emit(name="reminder.cancelled", subject=reminder, actor=by, payload={"reason": reason})
    return reminder


@transaction.atomic
def reminder_reopen(*, by: User, reminder: Reminder) -> Reminder:
    reminder = _may_change(by, reminder)
    if reminder.status in ACTIVE:
        return reminder
    reminder.status, reminder.remind_at = ReminderStatus.OPEN, reminder.due_at
    reminder.done_at, reminder.done_by, reminder.cancelled_reason = None, None, ""
    reminder.updated_at = clock.now()
    reminder.save()
    event_emit(name="reminder.reopened", subject=reminder, actor=by, payload={})
    return reminder


# --- the calendar feed -----------------------------------------------------------------------------------------


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def calendar_feed_reset(*, user: User, by: User) -> str:
    """A new secret calendar address for `user` (the old one stops working). Returns the token, shown once."""
    if by.pk != user.pk and not by.is_admin:
        raise PermissionDenied("You can only manage your own calendar address.", code="permission.own_only")
    raw = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        user=user, defaults={"token_hash": _digest(raw), "created_at": clock.now(), "last_used_at": None}
    )
    event_emit(name="calendar_feed.reset", subject=user, actor=by, payload={})
    return raw


@transaction.atomic
def calendar_feed_remove(*, user: User, by: User) -> None:
    if by.pk != user.pk and not by.is_admin:
        raise PermissionDenied("You can only manage your own calendar address.", code="permission.own_only")
    CalendarFeed.objects.filter(user=user).delete()


def calendar_feed_user(raw: str) -> User | None:
    """The active colleague a calendar token belongs to, or None."""
    if not raw or len(raw) > 100:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=_digest(raw)).first()
    if feed is None or not feed.user.is_active:
        return None
    now = clock.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(hours=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user

"""Reminders: something a colleague (or everyone with a role) must do by a time, about a party or a record —
including chasing a supplier. Automation creates them with a key, so a rule that fires again never makes two."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from friday.accounts.models import Role


class ReminderStatus(models.TextChoices):
    OPEN = "open", "Open"
    SNOOZED = "snoozed", "Snoozed"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = (ReminderStatus.OPEN, ReminderStatus.SNOOZED)


class Reminder(models.Model):
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    # What it is about: a party, and optionally one of its records (a deal, a job) by type and id.
    party = models.ForeignKey(
        "parties.Party", null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    record_type = models.CharField(
        max_length=16, blank=True
    )  # as Firing.record_type: deal, job, service_plan …
    record_id = models.BigIntegerField(null=True, blank=True)
    # Who does it: a colleague, or everyone with a role (the first to act on it).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="reminders"
    )
    assignee_role = models.CharField(max_length=16, blank=True, choices=Role.choices)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A supplier (or any party) being chased: the reminder is done when they have delivered.
    chase = models.ForeignKey(
        "parties.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="chased_in"
    )
    due_at = models.DateTimeField()
    # When it next asks for attention: the due time, or the end of a snooze. Lists and sweeps read this.
    remind_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_reason = models.TextField(blank=True)
    # Set by automation: (rule, record, occurrence, action). A second firing finds the first reminder.
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["assignee", "status", "remind_at", "id"], name="reminder_mine_idx"),
            models.Index(fields=["assignee_role", "status", "remind_at", "id"], name="reminder_role_idx"),
            # Sweeps (overdue, escalation) and the all-reminders list: what needs attention, in time order.
            models.Index(fields=["status", "remind_at", "id"], name="reminder_due_idx"),
            models.Index(fields=["party", "status", "remind_at"], name="reminder_party_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="reminder_has_title"),
            models.CheckConstraint(
                condition=Q(assignee__isnull=False) | ~Q(assignee_role=""), name="reminder_has_assignee"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class CalendarFeed(models.Model):
    """A colleague's secret calendar address (iCalendar) for their open reminders. Only its hash is kept."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar of {self.user_id}"

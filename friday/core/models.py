"""Rows every app shares: domain events, the scheduler's claimed slots, and the business itself."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DomainEvent(models.Model):
    """Something that happened, written in the same transaction as the change it describes.

    Later layers (automation, insights) read these rows in id order; they never need the change to be
    re-derived, and nothing is published for a change that rolled back.
    """

    name = models.CharField(max_length=80)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "id"], name="event_subject_idx"),
            models.Index(fields=["name", "id"], name="event_name_idx"),
            # Automation reads the events of one name over a window of time.
            models.Index(fields=["name", "occurred_at"], name="event_name_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.subject_type}#{self.subject_id}"


class ScheduleSlot(models.Model):
    """A claimed run of a periodic job. Unique (name, slot): two schedulers never run one slot twice."""

    name = models.CharField(max_length=80)
    slot = models.DateTimeField()
    claimed_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="schedule_slot_unique")]
        indexes = [models.Index(fields=["name", "-slot"], name="schedule_slot_latest_idx")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot.isoformat()}"


class Business(models.Model):
    """The business Friday works for: its name, time zone, currency and phone region — one row (pk 1).

    Ordinary data rather than environment settings, so the setup guide and the Business page can change them;
    the first read copies the environment's values (FRIDAY_BUSINESS_NAME, FRIDAY_TIME_ZONE, FRIDAY_CURRENCY,
    FRIDAY_DEFAULT_REGION). Read it through `friday.core.business`, which caches it per process; `version` goes up
    on every change so a cached copy can tell it is stale.
    """

    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    region = models.CharField(max_length=2, help_text="Phone numbers without a country code are read here")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="business_single_row")]

    def __str__(self) -> str:
        return self.name

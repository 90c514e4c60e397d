"""Rows every app shares: domain events and the scheduler's claimed slots."""

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

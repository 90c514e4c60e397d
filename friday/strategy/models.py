"""Strategy: the business's few goals, each a target on a metric Friday already computes, and a daily reading of
each so that a goal slipping (its status getting worse) can be told."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Direction(models.TextChoices):
    AT_LEAST = "at_least", "At least"
    AT_MOST = "at_most", "At most"


class Period(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"
    ROLLING = "rolling", "Rolling days"


class Status(models.TextChoices):
    """Best first: a status "slipped" when today's is further down this list than the last one seen."""

    MET = "met", "Met"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    UNKNOWN = "unknown", "No figure yet"


class Goal(models.Model):
    """One goal: "at least 90% retention a year", "NPS at least 50 a quarter", "no reminder overdue more than 2
    days". Written only by `strategy.services`."""

    title = models.CharField(max_length=200)
    metric = models.CharField(max_length=40, help_text="A key of the metric catalog (strategy.metrics)")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.AT_LEAST)
    target = models.DecimalField(max_digits=16, decimal_places=2)
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    rolling_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="For a rolling period")
    # What the metric needs beyond the period, checked by the metric (a lifecycle stage, days overdue).
    params = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="goals")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-active", "title", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(title=""), name="goal_has_title"),
            models.CheckConstraint(
                condition=~models.Q(period="rolling") | models.Q(rolling_days__gte=1),
                name="goal_rolling_has_days",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class GoalReading(models.Model):
    """A goal's figure and status on one business day (the last computation of that day), written by the hourly
    task: past days are kept as they were, today's is refreshed."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="readings")
    day = models.DateField()
    value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    target = models.DecimalField(max_digits=16, decimal_places=2)  # the target then (it may be edited later)
    status = models.CharField(max_length=10, choices=Status.choices)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["goal", "day"], name="goal_reading_once_a_day")]

    def __str__(self) -> str:
        return f"{self.goal_id} on {self.day}: {self.value} ({self.status})"

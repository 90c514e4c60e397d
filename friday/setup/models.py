"""What the guide remembers: who skipped or finished which step when, and what each user put out of sight."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StepStatus(models.TextChoices):
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class StepState(models.Model):
    """The last thing someone did with a guide step. Whether a step is done is decided by its data (a process
    published, a rule on); this row says who finished it from the guide, or that it was skipped for later."""

    key = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=8, choices=StepStatus.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.status}"


class Dismissal(models.Model):
    """Something a user put away for good: the finished checklist ("checklist") or one suggestion ("suggest:…")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="setup_dismissal_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"

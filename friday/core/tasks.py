"""Housekeeping tasks run by the scheduler."""

from __future__ import annotations

import datetime as dt

from django_tasks import task
from django_tasks_db.models import DBTaskResult

from friday.core import clock
from friday.core.models import ScheduleSlot

KEEP_FINISHED_DAYS = 7


@task()
def prune_task_results() -> int:
    """Delete finished task rows older than a week: a queue table full of old rows slows every worker."""
    cutoff = clock.now() - dt.timedelta(days=KEEP_FINISHED_DAYS)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    ScheduleSlot.objects.filter(slot__lt=cutoff).delete()
    return deleted

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


def database_analyze() -> str:
    """Refresh the SQLite query planner's statistics (PostgreSQL's autovacuum does this by itself).

    Without statistics SQLite picked a plan that sorted every visible row for a member's list page
    (85 ms p95 at 100k parties); with them it walks the name index (26 ms). See docs/performance.md.
    """
    from django.db import connection

    if connection.vendor != "sqlite":
        return "not needed"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return "analyzed"


@task()
def analyze_database() -> str:
    return database_analyze()

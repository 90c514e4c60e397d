"""Background work for strategy: the goals' daily readings (hourly, catching up after downtime)."""

from __future__ import annotations

from django_tasks import task

from friday.strategy import services


@task()
def goal_readings() -> str:
    result = services.readings_write()
    return f"{result.written} goal reading(s) written for {len(result.days)} day(s)"

"""The periodic-work loop run inside `friday worker`: claims each cron slot as a unique row, then enqueues.

Claiming and enqueueing happen in one transaction, so a slot is either claimed and queued, or neither;
two schedulers racing for a slot collide on the unique (name, slot) constraint and only one wins.
After downtime the scheduler runs the latest missed slot once (the sweeps catch up by themselves).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from croniter import croniter
from django.db import IntegrityError, close_old_connections, transaction

from friday.core import clock
from friday.core.models import ScheduleSlot

logger = logging.getLogger("friday.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    cron: str
    enqueue: Callable[[], object]


_jobs: dict[str, Job] = {}


def register(job: Job) -> None:
    """Apps register their periodic jobs in AppConfig.ready(), so core never imports a higher layer."""
    _jobs[job.name] = job


def registry() -> list[Job]:
    return list(_jobs.values())


def latest_slot(cron: str, now: dt.datetime) -> dt.datetime:
    """The most recent slot at or before `now` (UTC)."""
    it = croniter(cron, now.astimezone(dt.UTC) + dt.timedelta(seconds=1))
    return it.get_prev(dt.datetime)


def run_due(*, worker_id: str, now: dt.datetime | None = None, jobs: list[Job] | None = None) -> list[str]:
    """Claim and enqueue every job whose latest slot is not yet claimed. Returns the names enqueued."""
    now = now or clock.now()
    done = []
    for job in jobs if jobs is not None else registry():
        slot = latest_slot(job.cron, now)
        if ScheduleSlot.objects.filter(name=job.name, slot=slot).exists():
            continue
        try:
            with transaction.atomic():
                ScheduleSlot.objects.create(
                    name=job.name, slot=slot, claimed_at=now, claimed_by=worker_id[:64]
                )
                job.enqueue()
        except IntegrityError:
            continue  # another scheduler claimed it first
        done.append(job.name)
        logger.info("scheduled %s for slot %s", job.name, slot.isoformat())
    return done


def loop(*, worker_id: str, stop: threading.Event, interval: float = 15.0) -> None:
    while not stop.is_set():
        close_old_connections()
        try:
            run_due(worker_id=worker_id)
        except Exception:
            # The loop must survive a transient database error; it is logged with its traceback, not swallowed.
            logger.exception("scheduler pass failed; retrying in %ss", interval)
        stop.wait(interval)
    close_old_connections()

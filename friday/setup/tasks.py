"""Background work the guide queues: recounting the processes' daily roll-ups after the time zone changed."""

from __future__ import annotations

from django_tasks import task


@task()
def rollups_recount() -> int:
    """The days of the stage history are business dates: a new time zone moves them. Returns the moves read."""
    from friday.processes import rollup

    return rollup.rebuild()

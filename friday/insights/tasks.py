"""Background work for insights: the events sweep, the nightly recompute, the hourly adoption figures and the
daily digest. Nothing else."""

from __future__ import annotations

from django_tasks import task

from friday.insights import adoption, metrics, services


@task()
def insights_sweep() -> str:
    return f"{metrics.sweep()} customer(s) recomputed"


@task()
def insights_recompute() -> str:
    result = metrics.recompute()
    return f"recompute {'resumed' if result.resumed else 'run'}: {result.run.parties_done} parties"


@task()
def insights_adoption() -> str:
    weeks = adoption.refresh()
    return f"adoption: {len(weeks)} week(s) written"


@task()
def digest_send_due() -> str:
    return str(services.digest_send_due())

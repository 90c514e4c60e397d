"""Background work for insights: the events sweep, the nightly recompute and the customer-value fit after it, the
hourly adoption figures and the daily digest. Nothing else."""

from __future__ import annotations

from django_tasks import task

from friday.insights import adoption, metrics, services, value


@task()
def insights_sweep() -> str:
    return f"{metrics.sweep()} customer(s) recomputed"


@task()
def insights_recompute() -> str:
    """The full recompute; when it finishes, the value model is refitted on the fresh figures (a run that is
    interrupted fits nothing: the next night resumes it and fits then)."""
    result = metrics.recompute()
    if result.run.finished_at is not None:
        insights_fit.enqueue()
    return f"recompute {'resumed' if result.resumed else 'run'}: {result.run.parties_done} parties"


@task()
def insights_fit() -> str:
    result = value.fit()
    return f"value model fitted on {result.fit.customers} customers ({result.rows} rows rescored)"


@task()
def insights_adoption() -> str:
    weeks = adoption.refresh()
    return f"adoption: {len(weeks)} week(s) written"


@task()
def digest_send_due() -> str:
    return str(services.digest_send_due())

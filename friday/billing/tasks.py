"""Background work for billing: the overdue sweep. Nothing else."""

from __future__ import annotations

from django_tasks import task

from friday.billing import services


@task()
def invoice_overdue_sweep() -> str:
    return f"{services.overdue_sweep()} invoice(s) newly overdue"

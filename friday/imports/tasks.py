"""Background work for imports: run one, undo one. Nothing else."""

from __future__ import annotations

from django_tasks import task

from friday.accounts.models import User
from friday.imports import services
from friday.imports.models import ImportJob, ImportStatus


@task()
def import_run_task(*, job_id: int) -> str:
    job = services.import_run(job_id=job_id)
    if job is None:
        return "not runnable (finished, or running elsewhere)"
    return f"{job.status}: {job.rows_read} rows read"


@task()
def import_undo_task(*, job_id: int, by_id: int) -> str:
    job = ImportJob.objects.filter(pk=job_id, status=ImportStatus.UNDOING).first()
    by = User.objects.filter(pk=by_id).first()
    if job is None or by is None:
        return "nothing to undo"
    job = services.import_undo(by=by, job=job)
    return f"undone: {job.undo_summary}"

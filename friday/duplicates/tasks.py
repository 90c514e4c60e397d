"""Background work for duplicates: the scan. Nothing else."""

from __future__ import annotations

from django_tasks import task

from friday.duplicates import services


@task()
def duplicates_scan(full: bool = False, by_id: int | None = None) -> str:
    from friday.accounts.models import User

    by = User.objects.filter(pk=by_id).first() if by_id else None
    record = services.duplicates_scan(full=full, by=by)
    kind = "full" if record.full else "incremental"
    return f"{kind} scan: {record.parties} parties, {record.pairs} pairs in {record.seconds} s"

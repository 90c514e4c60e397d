"""Reads of imports, scoped like everything else: your own, your teams', or all (admins and managers)."""

from __future__ import annotations

from django.db.models import QuerySet

from friday.accounts.models import User
from friday.accounts.scoping import visible_q
from friday.core.errors import NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page
from friday.imports.models import ImportFailure, ImportJob, ImportMapping


def imports_visible(user: User) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(visible_q(user, owner="created_by", team="team"))


def import_get(*, user: User, job_id: int) -> ImportJob:
    job = None
    if valid_id(job_id):
        job = imports_visible(user).select_related("created_by", "saved_mapping").filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such import.", code="import.not_found")
    return job


def import_list(*, user: User, cursor: str | None = None, limit: int = 50) -> Page:
    return keyset_page(
        imports_visible(user).select_related("created_by"),
        order=["-created_at", "-id"],
        cursor=cursor,
        limit=limit,
    )


def failures_first(job: ImportJob, limit: int = 50) -> list[ImportFailure]:
    return list(ImportFailure.objects.filter(job=job).order_by("row")[:limit])


def mappings_all() -> QuerySet[ImportMapping]:
    return ImportMapping.objects.select_related("created_by").order_by("name")


def undo_kept(*, user: User, job: ImportJob, limit: int = 50) -> list:
    """The records an undo kept (worked on since), those this user may see, by name: at most `limit`."""
    from friday.parties.selectors import parties_visible

    ids = (job.undo_summary or {}).get("kept", [])[:limit]
    if not ids:
        return []
    return list(parties_visible(user).filter(pk__in=ids).only("id", "display_name").order_by("display_name"))

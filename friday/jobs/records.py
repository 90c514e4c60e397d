"""Jobs, described to `stage_move`: where their stage is kept, what a job stage may require, and what entering a
stage means for a job — closed when its journey ends, complete (once) when the work is done."""

from __future__ import annotations

import datetime as dt

from friday.accounts.models import User
from friday.core import clock
from friday.core.events import event_emit
from friday.jobs.models import Job
from friday.processes.models import ProcessVersion
from friday.processes.records import RecordKind, Requirement, StageState, register


def _get(user: User, record_id: int) -> Job:
    from friday.jobs.selectors import job_get

    return job_get(user=user, job_id=record_id)


def _state(job: Job) -> StageState:
    return StageState(job.stage_version_id, job.stage, job.stage_entered_at)


def _write(job: Job, version_id: int, stage: str, at: dt.datetime, checked: list[str]) -> None:
    definition = ProcessVersion.objects.get(pk=version_id).definition
    target = definition.stage(stage)
    closed_at = at if target is not None and target.terminal else None
    completes = stage in definition.completing() and job.completed_at is None
    completed_at = at if completes else job.completed_at
    Job.objects.filter(pk=job.pk).update(
        stage_version_id=version_id,
        stage=stage,
        stage_entered_at=at,
        closed_at=closed_at,
        completed_at=completed_at,
        updated_at=at,
    )
    job.stage_version_id, job.stage, job.stage_entered_at = version_id, stage, at
    job.closed_at, job.completed_at = closed_at, completed_at
    if completes:
        _completed(job, at)


def _completed(job: Job, at: dt.datetime) -> None:
    """The work is done: its service plans count it as their last service, and automation hears of it."""
    from friday.jobs.services import plans_serviced

    plans = plans_serviced(job=job, on=clock.local_date(at))
    event_emit(
        name="job.completed",
        subject=job,
        payload={
            "party_id": job.party_id,
            "job_id": job.pk,
            "title": job.title[:200],
            "completed_at": at.isoformat(),
            "quoted_price": str(job.quoted_price) if job.quoted_price is not None else "",
            "currency": job.currency,
            "service_plan_ids": ",".join(str(p) for p in plans),
        },
    )


def _invoiced(job: Job) -> bool:
    invoices = getattr(job, "invoices", None)  # billing's reverse relation
    return invoices is not None and invoices.exclude(status__in=("draft", "void")).exists()


JOB_REQUIREMENTS = {
    "title": Requirement("the title", lambda j: bool(j.title.strip())),
    "description": Requirement("the description", lambda j: bool(j.description.strip())),
    "owner": Requirement("the owner", lambda j: j.owner_id is not None),
    "engineer": Requirement("the staff doing the work", lambda j: j.staff.exists()),
    "staff": Requirement("the staff doing the work", lambda j: j.staff.exists()),
    "scheduled_for": Requirement("the scheduled date", lambda j: j.scheduled_for is not None),
    "due_on": Requirement("the due date", lambda j: j.due_on is not None),
    "quoted_price": Requirement("the quoted price", lambda j: j.quoted_price is not None),
    "asset": Requirement("the asset worked on", lambda j: j.asset_id is not None),
    "notes": Requirement("the notes", lambda j: bool(j.notes.strip())),
    "cancel_reason": Requirement("why the job was cancelled", lambda j: bool(j.cancel_reason.strip())),
    "invoice": Requirement("an issued invoice", _invoiced),
}

register(
    RecordKind(
        name="job",
        label="Job",
        get=_get,
        party_of=lambda job: job.party,
        title=lambda job: job.title,
        state=_state,
        write_state=_write,
        state_model=Job,
        state_record="id",
        requirements=JOB_REQUIREMENTS,
        url=lambda job: f"/jobs/{job.pk}/",
        edit_url=lambda job: f"/jobs/{job.pk}/edit/",
        titles=lambda ids: {
            pk: (title, f"/jobs/{pk}/")
            for pk, title in Job.objects.filter(pk__in=ids).values_list("pk", "title")
        },
    )
)

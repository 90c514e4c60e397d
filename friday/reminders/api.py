"""Reminders over HTTP: parse, authorise, call a service or selector, return."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Query, Router, Schema, Status

from friday.accounts.models import Role
from friday.accounts.selectors import user_get
from friday.core.errors import NotFound
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Moment, Str10k, Str200, Str500, Str2000
from friday.parties.selectors import party_get
from friday.reminders import selectors, services
from friday.reminders.models import Reminder

router = Router(tags=["reminders"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class Ref(Schema):
    id: int
    name: str


class ReminderOut(Schema):
    id: int
    title: str
    notes: str
    status: str
    due_at: dt.datetime
    remind_at: dt.datetime = Field(description="The due time, or the end of a snooze")
    overdue: bool
    assignee: Ref | None
    assignee_role: str
    party: Ref | None
    chase: Ref | None
    record_type: str
    record_id: int | None
    done_at: dt.datetime | None
    cancelled_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_overdue(obj: Reminder) -> bool:
        from friday.core import clock

        return obj.active and obj.remind_at < clock.now()

    @staticmethod
    def resolve_assignee(obj: Reminder) -> dict | None:
        return {"id": obj.assignee_id, "name": obj.assignee.display} if obj.assignee else None

    @staticmethod
    def resolve_party(obj: Reminder) -> dict | None:
        return {"id": obj.party_id, "name": obj.party.display_name} if obj.party else None

    @staticmethod
    def resolve_chase(obj: Reminder) -> dict | None:
        return {"id": obj.chase_id, "name": obj.chase.display_name} if obj.chase else None


class ReminderPage(Schema):
    items: list[ReminderOut]
    next_cursor: str | None


class ReminderIn(InSchema):
    title: Str200
    due_at: Moment = Field(description="With a time zone offset; without one, the business's time zone")
    notes: Str10k = ""
    assignee_id: Id | None = Field(None, description="Default: you (unless assignee_role is given)")
    assignee_role: Role | None = None
    party_id: Id | None = None
    chase_id: Id | None = Field(None, description="A supplier (any party) this reminder chases")


class ReminderPatchIn(InSchema):
    title: Str200 | None = None
    due_at: Moment | None = None
    notes: Str10k | None = None
    assignee_id: Id | None = None
    assignee_role: Role | None = None
    party_id: Id | None = None
    chase_id: Id | None = None


class SnoozeIn(InSchema):
    until: Moment


class CancelIn(InSchema):
    reason: Str2000 = ""


class ListParams(Schema):
    status: str = Field("active", pattern="^(|active|open|snoozed|done|cancelled)$")
    mine: bool = Field(False, description="Only yours and your role's")
    assignee_id: Id | None = None
    party_id: Id | None = None
    due_after: Moment | None = None
    due_before: Moment | None = None
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


class FeedOut(Schema):
    url: str = Field(description="Your secret calendar address (iCalendar); shown once")


def _party(request: AuthedRequest, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    try:
        return party_get(user=request.user, party_id=pk)
    except NotFound as exc:
        exc.field = field
        raise


def _data(
    request: AuthedRequest, payload: ReminderIn | ReminderPatchIn, *, creating: bool
) -> services.ReminderIn:
    given = payload.model_fields_set if not creating else {*payload.model_fields_set, "title", "due_at"}
    data = services.ReminderIn()
    for name in ("title", "due_at", "notes"):
        if name in given:
            setattr(data, name, getattr(payload, name))
    if "assignee_id" in given:
        if payload.assignee_id is None:
            data.assignee = None
        else:
            try:
                data.assignee = user_get(viewer=request.user, user_id=payload.assignee_id)
            except NotFound as exc:
                exc.field = "assignee_id"
                raise
    if "assignee_role" in given:
        data.assignee_role = payload.assignee_role or ""
        if creating and "assignee_id" not in given and payload.assignee_role:
            data.assignee = None
    if "party_id" in given:
        data.party = _party(request, payload.party_id, "party_id")
    if "chase_id" in given:
        data.chase = _party(request, payload.chase_id, "chase_id")
    return data


def _get(request: AuthedRequest, pk: int) -> Reminder:
    return selectors.reminder_get(user=request.user, reminder_id=pk)


@router.get(
    "", response={200: ReminderPage, **ERRORS}, summary="List reminders (soonest first, keyset-paginated)"
)
def reminder_list(request: AuthedRequest, params: Query[ListParams]):
    filters = selectors.ReminderFilters(
        status=params.status,
        mine=params.mine,
        assignee_id=params.assignee_id,
        party_id=params.party_id,
        due_after=params.due_after,
        due_before=params.due_before,
    )
    page = selectors.reminder_list(
        user=request.user, filters=filters, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("", response={201: ReminderOut, **ERRORS}, summary="Create a reminder")
def reminder_create(request: AuthedRequest, payload: ReminderIn):
    reminder = services.reminder_create(by=request.user, data=_data(request, payload, creating=True))
    return Status(201, _get(request, reminder.pk))


@router.get("/{reminder_id}", response={200: ReminderOut, **ERRORS}, summary="Get a reminder")
def reminder_get(request: AuthedRequest, reminder_id: int):
    return _get(request, reminder_id)


@router.patch("/{reminder_id}", response={200: ReminderOut, **ERRORS}, summary="Change a reminder")
def reminder_update(request: AuthedRequest, reminder_id: int, payload: ReminderPatchIn):
    reminder = _get(request, reminder_id)
    services.reminder_update(by=request.user, reminder=reminder, data=_data(request, payload, creating=False))
    return _get(request, reminder_id)


@router.post(
    "/{reminder_id}/done", response={200: ReminderOut, **ERRORS}, summary="Mark it done (twice is once)"
)
def reminder_done(request: AuthedRequest, reminder_id: int):
    services.reminder_done(by=request.user, reminder=_get(request, reminder_id))
    return _get(request, reminder_id)


@router.post("/{reminder_id}/snooze", response={200: ReminderOut, **ERRORS}, summary="Snooze it until a time")
def reminder_snooze(request: AuthedRequest, reminder_id: int, payload: SnoozeIn):
    services.reminder_snooze(by=request.user, reminder=_get(request, reminder_id), until=payload.until)
    return _get(request, reminder_id)


@router.post(
    "/{reminder_id}/cancel", response={200: ReminderOut, **ERRORS}, summary="Cancel it, with a reason"
)
def reminder_cancel(request: AuthedRequest, reminder_id: int, payload: CancelIn):
    services.reminder_cancel(by=request.user, reminder=_get(request, reminder_id), reason=payload.reason)
    return _get(request, reminder_id)


@router.post("/{reminder_id}/reopen", response={200: ReminderOut, **ERRORS}, summary="Reopen it")
def reminder_reopen(request: AuthedRequest, reminder_id: int):
    services.reminder_reopen(by=request.user, reminder=_get(request, reminder_id))
    return _get(request, reminder_id)


@router.post(
    "/calendar-feed",
    response={201: FeedOut, **ERRORS},
    summary="Make a new secret calendar address for your reminders (the old one stops working)",
)
def calendar_feed_reset(request: AuthedRequest):
    from django.urls import reverse

    raw = services.calendar_feed_reset(user=request.user, by=request.user)
    return Status(201, {"url": request.build_absolute_uri(reverse("reminders:feed", args=[raw]))})

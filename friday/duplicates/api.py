"""Duplicates and merges over HTTP: parse, authorise, call one service or selector, return."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Query, Router, Schema, Status

from friday.accounts.scoping import require_write
from friday.core.errors import NotFound
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Str20, Str40, Str50, Str254, Str500
from friday.duplicates import selectors, services
from friday.duplicates.models import DuplicatePair, DuplicateScan, PartyMerge
from friday.duplicates.tasks import duplicates_scan
from friday.parties.models import Party
from friday.parties.selectors import party_get

router = Router(tags=["duplicates"])
merges_router = Router(tags=["merges"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PartyRef(Schema):
    id: int
    kind: str
    display_name: str
    owner: str | None = None

    @staticmethod
    def resolve_owner(obj: Party) -> str | None:
        return obj.owner.display if obj.owner_id and obj.owner else None


class ReasonOut(Schema):
    code: Literal["email", "phone", "name", "org_name"]
    text: str


class PairOut(Schema):
    id: int
    score: int = Field(description="Confidence, 0–100")
    reasons: list[ReasonOut]
    scanned_at: dt.datetime
    dismissed_at: dt.datetime | None
    a: PartyRef
    b: PartyRef

    @staticmethod
    def resolve_a(obj: DuplicatePair) -> Party:
        return obj.party_a

    @staticmethod
    def resolve_b(obj: DuplicatePair) -> Party:
        return obj.party_b


class ScanOut(Schema):
    id: int
    full: bool
    since: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    stage: str
    done: int
    total: int
    parties: int
    pairs: int
    skipped_groups: int
    seconds: float | None


class PairPage(Schema):
    items: list[PairOut]
    next_cursor: str | None
    scan: ScanOut | None = Field(description="The latest scan (running or finished)")


class PairParams(Schema):
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)
    reason: Literal["email", "phone", "name", "org_name"] | None = None
    min_score: int = Field(0, ge=0, le=100)
    dismissed: bool = Field(False, description="The pairs marked “not a duplicate” instead")


class ScanIn(InSchema):
    full: bool = False


class QueuedOut(Schema):
    queued: bool
    full: bool


class MergeChoicesIn(InSchema):
    fields: Annotated[dict[Str50, Str20], Field(max_length=40)] = Field(
        default_factory=dict, description='Field → "survivor" or "other" (notes: also "both")'
    )
    custom: Annotated[dict[Str50, Str20], Field(max_length=200)] = Field(
        default_factory=dict, description='Custom field key → "survivor" or "other"'
    )
    primary_email: Str254 | None = None
    primary_phone: Str40 | None = None


class MergeIn(InSchema):
    survivor_id: Id = Field(description="The party that stays")
    other_id: Id = Field(description="The party merged into it and then deleted")
    choices: MergeChoicesIn = Field(default_factory=MergeChoicesIn)


class MergeOut(Schema):
    id: int
    survivor_id: int | None
    survivor_name: str
    other_id: int
    other_name: str
    choices: dict[str, Any]
    moved: dict[str, int]
    by: str | None
    at: dt.datetime

    @staticmethod
    def resolve_by(obj: PartyMerge) -> str | None:
        return obj.by.username if obj.by else None


def _party(request: AuthedRequest, party_id: int, field: str) -> Party:
    try:
        return party_get(user=request.user, party_id=party_id, for_write=True)
    except NotFound as exc:
        exc.field = field
        raise


@router.get("", response={200: PairPage, **ERRORS}, summary="Likely duplicate pairs, most likely first")
def pair_list(request: AuthedRequest, params: Query[PairParams]):
    page = selectors.pair_list(
        user=request.user,
        cursor=params.cursor,
        limit=params.limit,
        reason=params.reason or "",
        min_score=params.min_score,
        dismissed=params.dismissed,
    )
    return {"items": page.items, "next_cursor": page.next_cursor, "scan": selectors.scan_latest()}


@router.get("/scan", response={200: ScanOut, 404: ErrorOut}, summary="The latest scan and its progress")
def scan_status(request: AuthedRequest):
    scan: DuplicateScan | None = selectors.scan_latest()
    if scan is None:
        raise NotFound("No scan has run yet.", code="duplicate.no_scan")
    return scan


@router.post("/scan", response={202: QueuedOut, **ERRORS}, summary="Queue a scan (incremental unless full)")
def scan_queue(request: AuthedRequest, payload: ScanIn):
    require_write(request.user)
    duplicates_scan.enqueue(full=payload.full, by_id=request.user.pk)
    return Status(202, {"queued": True, "full": payload.full})


@router.post("/{pair_id}/dismiss", response={200: PairOut, **ERRORS}, summary="Mark as not a duplicate")
def pair_dismiss(request: AuthedRequest, pair_id: Id):
    pair = selectors.pair_get(user=request.user, pair_id=pair_id)
    services.pair_dismiss(by=request.user, pair=pair)
    return selectors.pair_get(user=request.user, pair_id=pair_id)


@router.post("/{pair_id}/restore", response={200: PairOut, **ERRORS}, summary="Undo “not a duplicate”")
def pair_restore(request: AuthedRequest, pair_id: Id):
    pair = selectors.pair_get(user=request.user, pair_id=pair_id)
    services.pair_restore(by=request.user, pair=pair)
    return selectors.pair_get(user=request.user, pair_id=pair_id)


@merges_router.post(
    "",
    response={201: MergeOut, **ERRORS},
    summary="Merge two parties",
    description="Every record of the other party moves to the survivor, which takes the chosen values; the "
    "other party is deleted. Refusals: 403 read-only, 404 a party you cannot see (field survivor_id or "
    "other_id), 422 the same party, different kinds, or a bad choice (field choices.…).",
)
def merge_create(request: AuthedRequest, payload: MergeIn):
    survivor = _party(request, payload.survivor_id, "survivor_id")
    other = _party(request, payload.other_id, "other_id")
    choices = services.MergeChoices(
        fields=dict(payload.choices.fields),
        custom=dict(payload.choices.custom),
        primary_email=payload.choices.primary_email,
        primary_phone=payload.choices.primary_phone,
    )
    merge = services.party_merge(by=request.user, survivor=survivor, other=other, choices=choices)
    return Status(201, merge)


@merges_router.get("/{merge_id}", response={200: MergeOut, **ERRORS}, summary="A merge's record")
def merge_read(request: AuthedRequest, merge_id: Id):
    return selectors.merge_get(user=request.user, merge_id=merge_id)

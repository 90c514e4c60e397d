"""Deals and lost reasons over HTTP: parse, authorise, call a service or selector, return."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Query, Router, Schema, Status

from friday.accounts.selectors import team_get, user_get
from friday.core.errors import NotFound
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Str3, Str10k, Str100, Str200, Str500, Str2000
from friday.deals import selectors, services
from friday.deals.models import Deal, LostReason
from friday.parties.selectors import party_get
from friday.processes.api import StageChangeOut

router = Router(tags=["deals"])
reasons_router = Router(tags=["deals"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
Money = Decimal


class Ref(Schema):
    id: int
    name: str


class DealIn(InSchema):
    party_id: Id
    title: Str200
    value: Money | None = Field(None, ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    currency: Str3 = ""
    expected_close: dt.date | None = None
    owner_id: Id | None = None
    team_id: Id | None = None
    notes: Str10k = ""
    process: Str100 = Field("", description="The pipeline's key (default: the first pipeline)")


class DealPatchIn(InSchema):
    title: Str200 | None = None
    value: Money | None = Field(None, ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    currency: Str3 | None = None
    expected_close: dt.date | None = None
    owner_id: Id | None = None
    team_id: Id | None = None
    notes: Str10k | None = None


class DealMoveIn(InSchema):
    to: Str100
    lost_reason_id: Id | None = None
    lost_note: Str2000 = ""
    reason: Str2000 = ""
    override: bool = False
    checked: list[Str200] = Field([], max_length=100)


class DealOut(Schema):
    id: int
    title: str
    party: Ref
    value: Decimal | None
    currency: str
    expected_close: dt.date | None
    process: str
    stage: str
    stage_name: str
    stage_kind: str
    stage_entered_at: dt.datetime
    owner: Ref | None
    lost_reason: Ref | None
    lost_note: str
    notes: str
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_party(obj: Deal) -> dict:
        return {"id": obj.party_id, "name": obj.party.display_name}

    @staticmethod
    def resolve_process(obj: Deal) -> str:
        return obj.process.key

    @staticmethod
    def resolve_stage_name(obj: Deal) -> str:
        stage = obj.stage_version.definition.stage(obj.stage)
        return stage.name if stage else obj.stage

    @staticmethod
    def resolve_stage_kind(obj: Deal) -> str:
        stage = obj.stage_version.definition.stage(obj.stage)
        return stage.kind if stage else ""

    @staticmethod
    def resolve_owner(obj: Deal) -> dict | None:
        return {"id": obj.owner_id, "name": obj.owner.display} if obj.owner else None

    @staticmethod
    def resolve_lost_reason(obj: Deal) -> dict | None:
        return {"id": obj.lost_reason_id, "name": obj.lost_reason.name} if obj.lost_reason else None


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None


class ListParams(Schema):
    process: Str100 = ""
    stage: Str100 = ""
    status: str = Field("", pattern="^(|open|won|lost)$")
    owner_id: Id | None = None
    party_id: Id | None = None
    lost_reason_id: Id | None = None
    q: Str100 = ""
    sort: str = Field("recent", pattern="^(recent|oldest|created)$")
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


class ColumnParams(Schema):
    process: Str100 = ""
    stage: Str100
    owner_id: Id | None = None
    cursor: Str500 | None = None
    limit: int = Field(25, ge=1, le=200)


class MoneyOut(Schema):
    currency: str
    total: Decimal


class ColumnOut(Schema):
    stage: str
    name: str
    kind: str
    definition: str
    count: int
    closed_in_last_days: int | None = Field(
        None, description="A won or lost column: it counts and lists the deals closed in this many days"
    )
    totals: list[MoneyOut] = Field(description="The value of the column's deals, one total per currency")
    deals: list[DealOut]
    next_cursor: str | None


class BoardOut(Schema):
    process: str
    version: int
    columns: list[ColumnOut]


class LostReasonIn(InSchema):
    name: Str100
    active: bool = True
    position: int | None = Field(None, ge=0, le=10_000)


class LostReasonPatchIn(InSchema):
    name: Str100 | None = None
    active: bool | None = None
    position: int | None = Field(None, ge=0, le=10_000)


class LostReasonOut(Schema):
    id: int
    name: str
    active: bool
    position: int


def _deal(request: AuthedRequest, deal_id: int) -> Deal:
    return selectors.deal_get(user=request.user, deal_id=deal_id)


def _ref(fn, request: AuthedRequest, value: int, field: str):
    try:
        return fn(viewer=request.user, **{"user_id" if fn is user_get else "team_id": value})
    except NotFound as exc:
        exc.field = field
        raise


def _data(request: AuthedRequest, payload: DealIn | DealPatchIn) -> services.DealIn:
    given = payload.model_fields_set
    data = services.DealIn()
    for name in ("title", "value", "currency", "expected_close", "notes"):
        if name in given or isinstance(payload, DealIn):
            setattr(data, name, getattr(payload, name))
    if "owner_id" in given:
        data.owner = _ref(user_get, request, payload.owner_id, "owner_id") if payload.owner_id else None
    if "team_id" in given:
        data.team = _ref(team_get, request, payload.team_id, "team_id") if payload.team_id else None
    return data


@router.get("", response={200: DealPage, **ERRORS}, summary="List deals (keyset-paginated)")
def deal_list(request: AuthedRequest, params: Query[ListParams]):
    filters = selectors.DealFilters(
        process=params.process,
        stage=params.stage,
        status=params.status,
        owner_id=params.owner_id,
        party_id=params.party_id,
        lost_reason_id=params.lost_reason_id,
        q=params.q,
    )
    page = selectors.deal_list(
        user=request.user, filters=filters, sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "", response={201: DealOut, **ERRORS}, summary="Create a deal (it enters the pipeline's first stage)"
)
def deal_create(request: AuthedRequest, payload: DealIn):
    try:
        party = party_get(user=request.user, party_id=payload.party_id)
    except NotFound as exc:
        exc.field = "party_id"
        raise
    deal = services.deal_create(
        by=request.user, party=party, data=_data(request, payload), process_key=payload.process or None
    )
    return Status(201, _deal(request, deal.pk))


@router.get(
    "/board", response={200: BoardOut, **ERRORS}, summary="The board: every stage with its first deals"
)
def deal_board(request: AuthedRequest, process: Str100 = "", owner_id: Id | None = None, limit: int = 25):
    board = selectors.deal_board(
        user=request.user,
        process=selectors.process_for_deals(process or None),
        owner_id=owner_id,
        limit=max(1, min(limit, 200)),
    )
    from friday.processes.selectors import stage_definitions

    assert board.process.current is not None
    definitions = stage_definitions(board.process.current.definition)
    return {
        "process": board.process.key,
        "version": board.process.current.number,
        "columns": [
            {
                "stage": c.stage.key,
                "name": c.stage.name,
                "kind": c.stage.kind,
                "definition": definitions.get(c.stage.key, ""),
                "count": c.count,
                "closed_in_last_days": c.closed_days,
                "totals": [{"currency": cur, "total": total} for cur, total in c.totals],
                "deals": c.deals,
                "next_cursor": c.next_cursor,
            }
            for c in board.columns
        ],
    }


@router.get("/board/column", response={200: DealPage, **ERRORS}, summary="The next page of one board column")
def deal_board_column(request: AuthedRequest, params: Query[ColumnParams]):
    page = selectors.board_column(
        user=request.user,
        process=selectors.process_for_deals(params.process or None),
        stage=params.stage,
        owner_id=params.owner_id,
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{deal_id}", response={200: DealOut, **ERRORS})
def deal_get(request: AuthedRequest, deal_id: Id):
    return _deal(request, deal_id)


@router.patch("/{deal_id}", response={200: DealOut, **ERRORS}, summary="Change a deal (not its stage)")
def deal_update(request: AuthedRequest, deal_id: Id, payload: DealPatchIn):
    deal = services.deal_update(by=request.user, deal=_deal(request, deal_id), data=_data(request, payload))
    return _deal(request, deal.pk)


@router.delete("/{deal_id}", response={204: None, **ERRORS})
def deal_delete(request: AuthedRequest, deal_id: Id):
    services.deal_delete(by=request.user, deal=_deal(request, deal_id))
    return Status(204, None)


@router.post(
    "/{deal_id}/move",
    response={201: StageChangeOut, **ERRORS},
    summary="Move a deal to another stage",
    description="Entering a lost stage needs `lost_reason_id`. 422 `stage.undeclared` lists the allowed stages.",
)
def deal_move(request: AuthedRequest, deal_id: Id, payload: DealMoveIn):
    deal = _deal(request, deal_id)
    reason = None
    if payload.lost_reason_id is not None:
        reason = LostReason.objects.filter(pk=payload.lost_reason_id).first()
        if reason is None:
            raise NotFound("No such lost reason.", code="lost_reason.not_found", field="lost_reason_id")
    change = services.deal_move(
        by=request.user,
        deal=deal,
        to=payload.to,
        lost_reason=reason,
        lost_note=payload.lost_note,
        reason=payload.reason,
        override=payload.override,
        checked=payload.checked,
    )
    return Status(201, selectors.deal_history(deal=deal).get(pk=change.pk))


@router.get(
    "/{deal_id}/history", response={200: list[StageChangeOut], **ERRORS}, summary="Every move, newest first"
)
def deal_history(request: AuthedRequest, deal_id: Id):
    return selectors.deal_history(deal=_deal(request, deal_id)).select_related("process")[:500]


@reasons_router.get("", response=list[LostReasonOut], summary="Why deals are lost: the business's list")
def lost_reason_list(request: AuthedRequest, include_inactive: bool = False):
    return selectors.lost_reasons(include_inactive=include_inactive)


@reasons_router.post("", response={201: LostReasonOut, **ERRORS})
def lost_reason_create(request: AuthedRequest, payload: LostReasonIn):
    return Status(201, services.lost_reason_save(by=request.user, **payload.model_dump()))


@reasons_router.patch("/{reason_id}", response={200: LostReasonOut, **ERRORS})
def lost_reason_update(request: AuthedRequest, reason_id: Id, payload: LostReasonPatchIn):
    reason = LostReason.objects.filter(pk=reason_id).first()
    if reason is None:
        raise NotFound("No such lost reason.", code="lost_reason.not_found")
    values = payload.model_dump(exclude_unset=True)
    return services.lost_reason_save(
        by=request.user,
        reason=reason,
        name=values.get("name") or reason.name,
        active=reason.active if values.get("active") is None else values["active"],
        position=values.get("position"),
    )

"""Jobs, their costs and supplier dependencies, staff rates, assets and service plans over HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from friday.accounts.selectors import team_get, user_get
from friday.core.errors import NotFound
from friday.core.http import AuthedRequest
from friday.core.schemas import (
    ErrorOut,
    Id,
    InSchema,
    Moment,
    Str3,
    Str10k,
    Str20,
    Str100,
    Str200,
    Str500,
    Str2000,
)
from friday.jobs import selectors, services
from friday.jobs.models import Asset, Cost, Job, ServicePlan
from friday.parties.selectors import party_get
from friday.processes.api import StageChangeOut

router = Router(tags=["jobs"])
assets_router = Router(tags=["jobs"])
plans_router = Router(tags=["jobs"])
costs_router = Router(tags=["jobs"])
rates_router = Router(tags=["jobs"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
Amount = Decimal | Str20


class Ref(Schema):
    id: int
    name: str


class JobIn(InSchema):
    party_id: Id
    title: Str200
    description: Str10k = ""
    staff_ids: list[Id] = Field([], max_length=50)
    owner_id: Id | None = None
    team_id: Id | None = None
    scheduled_for: Moment | None = None
    due_on: dt.date | None = None
    quoted_price: Amount | None = None
    currency: Str3 = ""
    asset_id: Id | None = None
    service_plan_id: Id | None = None
    notes: Str10k = ""
    process: Str100 = Field("", description="The job process's key (default: the first one)")


class JobPatchIn(InSchema):
    title: Str200 | None = None
    description: Str10k | None = None
    staff_ids: list[Id] | None = Field(None, max_length=50)
    owner_id: Id | None = None
    team_id: Id | None = None
    scheduled_for: Moment | None = None
    due_on: dt.date | None = None
    quoted_price: Amount | None = None
    currency: Str3 | None = None
    asset_id: Id | None = None
    service_plan_id: Id | None = None
    notes: Str10k | None = None
    cancel_reason: Str2000 | None = None


class JobMoveIn(InSchema):
    to: Str100
    cancel_reason: Str2000 = ""
    reason: Str2000 = ""
    override: bool = False
    checked: list[Str200] = Field([], max_length=100)


class MarginOut(Schema):
    currency: str
    price: Decimal | None = Field(
        description="Invoiced before tax once the job has an issued invoice, else quoted"
    )
    price_source: str = Field(description="invoiced or quoted")
    cost: Decimal
    margin: Decimal | None
    margin_percent: Decimal | None
    cost_by_kind: dict[str, Decimal]


class JobOut(Schema):
    id: int
    title: str
    description: str
    party: Ref
    process: str
    stage: str
    stage_name: str
    stage_kind: str
    stage_entered_at: dt.datetime
    owner: Ref | None
    staff: list[Ref]
    scheduled_for: dt.datetime | None
    due_on: dt.date | None
    quoted_price: Decimal | None
    currency: str
    asset_id: int | None
    service_plan_id: int | None
    notes: str
    cancel_reason: str
    completed_at: dt.datetime | None
    paid_at: dt.datetime | None
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_party(obj: Job) -> dict:
        return {"id": obj.party_id, "name": obj.party.display_name}

    @staticmethod
    def resolve_process(obj: Job) -> str:
        return obj.process.key

    @staticmethod
    def resolve_stage_name(obj: Job) -> str:
        stage = obj.stage_version.definition.stage(obj.stage)
        return stage.name if stage else obj.stage

    @staticmethod
    def resolve_stage_kind(obj: Job) -> str:
        stage = obj.stage_version.definition.stage(obj.stage)
        return stage.kind if stage else ""

    @staticmethod
    def resolve_owner(obj: Job) -> dict | None:
        return {"id": obj.owner_id, "name": obj.owner.display} if obj.owner else None

    @staticmethod
    def resolve_staff(obj: Job) -> list[dict]:
        return [{"id": u.pk, "name": u.display} for u in obj.staff.all()]


class JobDetailOut(JobOut):
    money: MarginOut

    @staticmethod
    def resolve_money(obj: Job) -> dict:
        margin = selectors.job_margin(job=obj)
        return {
            "currency": margin.currency,
            "price": margin.price,
            "price_source": margin.price_source,
            "cost": margin.cost,
            "margin": margin.margin,
            "margin_percent": margin.margin_percent,
            "cost_by_kind": margin.by_kind,
        }


class JobPage(Schema):
    items: list[JobOut]
    next_cursor: str | None


class ListParams(Schema):
    process: Str100 = ""
    stage: Str100 = ""
    status: Literal["", "open", "complete", "closed", "paid", "unpaid"] = ""
    owner_id: Id | None = None
    staff_id: Id | None = None
    party_id: Id | None = None
    q: Str100 = ""
    sort: Literal["recent", "oldest", "created", "scheduled"] = "recent"
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


class MoneyOut(Schema):
    currency: str
    total: Decimal


class ColumnOut(Schema):
    stage: str
    name: str
    kind: str
    count: int
    closed_in_last_days: int | None
    totals: list[MoneyOut] = Field(description="Quoted prices of the column's jobs, one total per currency")
    jobs: list[JobOut]
    next_cursor: str | None


class BoardOut(Schema):
    process: str
    version: int
    columns: list[ColumnOut]


class CostIn(InSchema):
    kind: Str20
    description: Str200 = ""
    quantity: Amount = "1"
    unit_cost: Amount | None = Field(None, description="Labour: blank takes the staff member's hourly rate")
    currency: Str3 = ""
    staff_id: Id | None = None
    supplier_id: Id | None = None
    reference: Str100 = ""
    incurred_on: dt.date | None = None


class PartyCostIn(CostIn):
    party_id: Id


class CostOut(Schema):
    id: int
    party_id: int
    job_id: int | None
    kind: str
    description: str
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal
    currency: str
    staff_id: int | None
    supplier_id: int | None
    reference: str
    incurred_on: dt.date
    created_at: dt.datetime


class CostPage(Schema):
    items: list[CostOut]
    next_cursor: str | None


class DependencyIn(InSchema):
    supplier_id: Id
    title: Str200
    due_at: Moment
    assignee_id: Id | None = None
    notes: Str2000 = ""


class DependencyOut(Schema):
    reminder_id: int
    title: str
    supplier: Ref
    due_at: dt.datetime
    status: str

    @staticmethod
    def resolve_reminder_id(obj: Any) -> int:
        return obj.pk

    @staticmethod
    def resolve_supplier(obj: Any) -> dict:
        return {"id": obj.chase_id, "name": obj.chase.display_name}

    @staticmethod
    def resolve_due_at(obj: Any) -> dt.datetime:
        return obj.remind_at


class RateIn(InSchema):
    user_id: Id
    hourly_rate: Amount | None = Field(None, description="Empty or null removes the rate")
    currency: Str3 = ""


class RateOut(Schema):
    user_id: int
    hourly_rate: Decimal
    currency: str


class AssetIn(InSchema):
    name: Str200 | None = None
    kind: Str100 | None = None
    serial_number: Str100 | None = None
    location: Str200 | None = None
    installed_on: dt.date | None = None
    notes: Str10k | None = None
    active: bool | None = None


class AssetCreateIn(AssetIn):
    party_id: Id
    name: Str200


class AssetOut(Schema):
    id: int
    party_id: int
    name: str
    kind: str
    serial_number: str
    location: str
    installed_on: dt.date | None
    notes: str
    active: bool


class PlanIn(InSchema):
    name: Str200 | None = None
    every: int | None = Field(None, ge=1, le=1000)
    unit: Literal["days", "weeks", "months", "years"] | None = None
    asset_id: Id | None = None
    last_service_on: dt.date | None = None
    active: bool | None = None
    notes: Str10k | None = None


class PlanCreateIn(PlanIn):
    party_id: Id
    name: Str200
    every: int = Field(ge=1, le=1000)


class PlanOut(Schema):
    id: int
    party_id: int
    asset_id: int | None
    name: str
    every: int
    unit: str
    last_service_on: dt.date | None
    next_due_on: dt.date | None
    active: bool
    notes: str


class PlanPage(Schema):
    items: list[PlanOut]
    next_cursor: str | None


def _job(request: AuthedRequest, job_id: int) -> Job:
    return selectors.job_get(user=request.user, job_id=job_id)


def _ref(fn: Any, request: AuthedRequest, value: int, field: str) -> Any:
    try:
        return fn(viewer=request.user, **{"user_id" if fn is user_get else "team_id": value})
    except NotFound as exc:
        exc.field = field
        raise


def _party(request: AuthedRequest, party_id: int, field: str = "party_id") -> Any:
    try:
        return party_get(user=request.user, party_id=party_id)
    except NotFound as exc:
        exc.field = field
        raise


def _owned(model: Any, pk: int | None, party_id: int, field: str) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(pk=pk, party_id=party_id).first()
    if found is None:
        raise NotFound(
            "Not one of the client's own.", code=f"{field.removesuffix('_id')}.not_found", field=field
        )
    return found


def _data(request: AuthedRequest, payload: JobIn | JobPatchIn, party_id: int) -> services.JobIn:
    given = payload.model_fields_set
    creating = isinstance(payload, JobIn)
    data = services.JobIn()
    for name in ("title", "description", "scheduled_for", "due_on", "quoted_price", "currency", "notes"):
        if name in given or creating:
            setattr(data, name, getattr(payload, name))
    if "cancel_reason" in given and isinstance(payload, JobPatchIn):
        data.cancel_reason = payload.cancel_reason or ""
    if "owner_id" in given:
        data.owner = _ref(user_get, request, payload.owner_id, "owner_id") if payload.owner_id else None
    if "team_id" in given:
        data.team = _ref(team_get, request, payload.team_id, "team_id") if payload.team_id else None
    if "staff_ids" in given:
        data.staff = [
            _ref(user_get, request, pk, f"staff_ids.{i}") for i, pk in enumerate(payload.staff_ids or [])
        ]
    if "asset_id" in given:
        data.asset = _owned(Asset, payload.asset_id, party_id, "asset_id")
    if "service_plan_id" in given:
        data.service_plan = _owned(ServicePlan, payload.service_plan_id, party_id, "service_plan_id")
    return data


def _detail(job: Job) -> Job:
    return job  # JobDetailOut adds the money


@router.get("", response={200: JobPage, **ERRORS}, summary="List jobs (keyset-paginated)")
def job_list(request: AuthedRequest, params: Query[ListParams]):
    filters = selectors.JobFilters(
        process=params.process,
        stage=params.stage,
        status=params.status,
        owner_id=params.owner_id,
        staff_id=params.staff_id,
        party_id=params.party_id,
        q=params.q,
    )
    page = selectors.job_list(
        user=request.user, filters=filters, sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("", response={201: JobDetailOut, **ERRORS}, summary="Book a job (it enters the first stage)")
def job_create(request: AuthedRequest, payload: JobIn):
    party = _party(request, payload.party_id)
    job = services.job_create(
        by=request.user,
        party=party,
        data=_data(request, payload, party.pk),
        process_key=payload.process or None,
    )
    return Status(201, _detail(_job(request, job.pk)))


@router.get(
    "/board", response={200: BoardOut, **ERRORS}, summary="The board: every stage with its first jobs"
)
def job_board(request: AuthedRequest, process: Str100 = "", staff_id: Id | None = None, limit: int = 25):
    board = selectors.job_board(
        user=request.user,
        process=selectors.process_for_jobs(process or None),
        staff_id=staff_id,
        limit=max(1, min(limit, 200)),
    )
    assert board.process.current is not None
    return {
        "process": board.process.key,
        "version": board.process.current.number,
        "columns": [
            {
                "stage": c.stage.key,
                "name": c.stage.name,
                "kind": c.stage.kind,
                "count": c.count,
                "closed_in_last_days": c.closed_days,
                "totals": [{"currency": cur, "total": total} for cur, total in c.totals],
                "jobs": c.jobs,
                "next_cursor": c.next_cursor,
            }
            for c in board.columns
        ],
    }


@router.get(
    "/{job_id}", response={200: JobDetailOut, **ERRORS}, summary="A job with its price, cost and margin"
)
def job_get(request: AuthedRequest, job_id: Id):
    return _detail(_job(request, job_id))


@router.patch("/{job_id}", response={200: JobDetailOut, **ERRORS}, summary="Change a job (not its stage)")
def job_update(request: AuthedRequest, job_id: Id, payload: JobPatchIn):
    job = _job(request, job_id)
    services.job_update(by=request.user, job=job, data=_data(request, payload, job.party_id))
    return _detail(_job(request, job.pk))


@router.delete("/{job_id}", response={204: None, **ERRORS})
def job_delete(request: AuthedRequest, job_id: Id):
    services.job_delete(by=request.user, job=_job(request, job_id))
    return Status(204, None)


@router.post(
    "/{job_id}/move",
    response={201: StageChangeOut, **ERRORS},
    summary="Move a job to another stage",
    description="A cancelled stage may need `cancel_reason`. 422 `stage.undeclared` lists the allowed stages.",
)
def job_move(request: AuthedRequest, job_id: Id, payload: JobMoveIn):
    job = _job(request, job_id)
    change = services.job_move(
        by=request.user,
        job=job,
        to=payload.to,
        cancel_reason=payload.cancel_reason or None,
        reason=payload.reason,
        override=payload.override,
        checked=payload.checked,
    )
    return Status(201, selectors.job_history(job=job).get(pk=change.pk))


@router.get(
    "/{job_id}/history", response={200: list[StageChangeOut], **ERRORS}, summary="Every move, newest first"
)
def job_history(request: AuthedRequest, job_id: Id):
    return selectors.job_history(job=_job(request, job_id)).select_related("process")[:500]


def _cost_in(request: AuthedRequest, payload: CostIn) -> services.CostIn:
    return services.CostIn(
        kind=payload.kind,
        description=payload.description,
        quantity=payload.quantity,
        unit_cost=payload.unit_cost,
        currency=payload.currency,
        staff=_ref(user_get, request, payload.staff_id, "staff_id") if payload.staff_id else None,
        supplier=_party(request, payload.supplier_id, "supplier_id") if payload.supplier_id else None,
        reference=payload.reference,
        incurred_on=payload.incurred_on,
    )


@router.get("/{job_id}/costs", response={200: list[CostOut], **ERRORS}, summary="A job's costs")
def job_cost_list(request: AuthedRequest, job_id: Id):
    return list(selectors.job_costs(job=_job(request, job_id)))


@router.post("/{job_id}/costs", response={201: CostOut, **ERRORS}, summary="Record a cost on a job")
def job_cost_add(request: AuthedRequest, job_id: Id, payload: CostIn):
    job = _job(request, job_id)
    return Status(201, services.cost_add(by=request.user, job=job, data=_cost_in(request, payload)))


@router.get("/{job_id}/dependencies", response={200: list[DependencyOut], **ERRORS})
def job_dependency_list(request: AuthedRequest, job_id: Id):
    return list(services.job_dependencies(job=_job(request, job_id)))


@router.post(
    "/{job_id}/dependencies",
    response={201: DependencyOut, **ERRORS},
    summary="Wait on a supplier: a reminder that chases them about this job",
)
def job_dependency_add(request: AuthedRequest, job_id: Id, payload: DependencyIn):
    job = _job(request, job_id)
    reminder = services.job_chase_supplier(
        by=request.user,
        job=job,
        supplier=_party(request, payload.supplier_id, "supplier_id"),
        title=payload.title,
        due_at=payload.due_at,
        assignee=_ref(user_get, request, payload.assignee_id, "assignee_id") if payload.assignee_id else None,
        notes=payload.notes,
    )
    return Status(201, reminder)


# --- costs on parties ----------------------------------------------------------------------------------------------


@costs_router.get("", response={200: CostPage, **ERRORS}, summary="A party's costs: its jobs' and its own")
def party_cost_list(request: AuthedRequest, party_id: Id, cursor: Str500 | None = None, limit: int = 50):
    page = selectors.party_costs(
        user=request.user, party_id=party_id, cursor=cursor, limit=max(1, min(limit, 200))
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@costs_router.post(
    "",
    response={201: CostOut, **ERRORS},
    summary="Record a cost on a party (acquisition, servicing, discount, other)",
)
def party_cost_add(request: AuthedRequest, payload: PartyCostIn):
    party = _party(request, payload.party_id)
    return Status(201, services.cost_add(by=request.user, party=party, data=_cost_in(request, payload)))


@costs_router.delete("/{cost_id}", response={204: None, **ERRORS})
def cost_delete(request: AuthedRequest, cost_id: Id):
    cost = Cost.objects.filter(pk=cost_id).first()
    if cost is None:
        raise NotFound("No such cost.", code="cost.not_found")
    try:
        services.cost_delete(by=request.user, cost=cost)
    except NotFound as exc:
        raise NotFound("No such cost.", code="cost.not_found") from exc
    return Status(204, None)


# --- staff rates ---------------------------------------------------------------------------------------------------


@rates_router.get("", response={200: list[RateOut], **ERRORS}, summary="What an hour of each colleague costs")
def rate_list(request: AuthedRequest):
    return list(selectors.staff_rates())


@rates_router.put("", response={200: RateOut | None, **ERRORS}, summary="Set (or remove) a colleague's rate")
def rate_set(request: AuthedRequest, payload: RateIn):
    services.require_manager(request.user)
    user = _ref(user_get, request, payload.user_id, "user_id")
    return services.staff_rate_set(
        by=request.user, user=user, hourly_rate=payload.hourly_rate, currency=payload.currency or None
    )


# --- assets and service plans --------------------------------------------------------------------------------------


def _asset_in(payload: AssetIn) -> services.AssetIn:
    data = services.AssetIn()
    for name in payload.model_fields_set - {"party_id"}:
        setattr(data, name, getattr(payload, name))
    return data


@assets_router.get("", response={200: list[AssetOut], **ERRORS}, summary="A party's assets")
def asset_list(request: AuthedRequest, party_id: Id):
    party = _party(request, party_id)
    return list(party.assets.order_by("name", "id")[:500])


@assets_router.post("", response={201: AssetOut, **ERRORS}, summary="Add an asset to a party")
def asset_create(request: AuthedRequest, payload: AssetCreateIn):
    party = _party(request, payload.party_id)
    return Status(201, services.asset_save(by=request.user, party=party, data=_asset_in(payload)))


@assets_router.get("/{asset_id}", response={200: AssetOut, **ERRORS})
def asset_get(request: AuthedRequest, asset_id: Id):
    return selectors.asset_get(user=request.user, asset_id=asset_id)


@assets_router.patch("/{asset_id}", response={200: AssetOut, **ERRORS})
def asset_update(request: AuthedRequest, asset_id: Id, payload: AssetIn):
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    return services.asset_save(by=request.user, asset=asset, data=_asset_in(payload))


@assets_router.delete("/{asset_id}", response={204: None, **ERRORS})
def asset_delete(request: AuthedRequest, asset_id: Id):
    services.asset_delete(by=request.user, asset=selectors.asset_get(user=request.user, asset_id=asset_id))
    return Status(204, None)


def _plan_in(payload: PlanIn, party_id: int) -> services.PlanIn:
    data = services.PlanIn()
    for name in payload.model_fields_set - {"party_id"}:
        if name == "asset_id":
            data.asset = _owned(Asset, payload.asset_id, party_id, "asset_id")
        else:
            setattr(data, name, getattr(payload, name))
    return data


class PlanParams(Schema):
    party_id: Id | None = None
    due_within_days: int = Field(30, ge=0, le=3650)
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


@plans_router.get(
    "", response={200: PlanPage, **ERRORS}, summary="Service plans: a party's, or all coming due"
)
def plan_list(request: AuthedRequest, params: Query[PlanParams]):
    if params.party_id is not None:
        party = _party(request, params.party_id)
        return {"items": list(party.service_plans.order_by("next_due_on", "id")[:500]), "next_cursor": None}
    page = selectors.plans_due(
        user=request.user, within_days=params.due_within_days, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@plans_router.post("", response={201: PlanOut, **ERRORS}, summary="Add a service plan to a party")
def plan_create(request: AuthedRequest, payload: PlanCreateIn):
    party = _party(request, payload.party_id)
    return Status(201, services.plan_save(by=request.user, party=party, data=_plan_in(payload, party.pk)))


@plans_router.get("/{plan_id}", response={200: PlanOut, **ERRORS})
def plan_get(request: AuthedRequest, plan_id: Id):
    return selectors.plan_get(user=request.user, plan_id=plan_id)


@plans_router.patch("/{plan_id}", response={200: PlanOut, **ERRORS})
def plan_update(request: AuthedRequest, plan_id: Id, payload: PlanIn):
    plan = selectors.plan_get(user=request.user, plan_id=plan_id)
    return services.plan_save(by=request.user, plan=plan, data=_plan_in(payload, plan.party_id))


@plans_router.delete("/{plan_id}", response={204: None, **ERRORS})
def plan_delete(request: AuthedRequest, plan_id: Id):
    services.plan_delete(by=request.user, plan=selectors.plan_get(user=request.user, plan_id=plan_id))
    return Status(204, None)

"""Reads of jobs, costs, assets and service plans for the pages and the API, scoped to what the user may see.

A member sees the jobs they own, their teams' jobs (by scope) and the jobs they are assigned to as staff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from friday.accounts.models import User
from friday.accounts.scoping import visible_q
from friday.core import business, clock
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.money import round_money
from friday.core.pagination import Page, keyset_page, page_order
from friday.jobs.models import Asset, Cost, Job, ServicePlan, StaffRate
from friday.parties.selectors import parties_visible
from friday.processes.definition import Stage
from friday.processes.models import Process, RecordType, StageChange

MAX_LIMIT = 200
STATUSES = ("open", "complete", "closed", "paid", "unpaid")
SORTS: dict[str, list[str]] = {
    "recent": ["-updated_at", "-id"],
    "oldest": ["updated_at", "id"],
    "created": ["-created_at", "-id"],
    "scheduled": ["scheduled_for", "id"],
}


def jobs_visible(user: User) -> QuerySet[Job]:
    if not user.is_active:
        return Job.objects.none()
    if user.sees_all:
        return Job.objects.all()
    assigned = Job.staff.through.objects.filter(job_id=OuterRef("pk"), user_id=user.pk)
    return Job.objects.filter(visible_q(user) | Q(Exists(assigned)))


def job_get(*, user: User, job_id: int) -> Job:
    job = None
    if valid_id(job_id):
        job = (
            jobs_visible(user)
            .select_related("party", "owner", "team", "process", "stage_version", "asset", "service_plan")
            .filter(pk=job_id)
            .first()
        )
    if job is None:
        raise NotFound("No such job.", code="job.not_found")
    return job


def job_processes() -> QuerySet[Process]:
    return Process.objects.filter(applies_to=RecordType.JOB, current__isnull=False).select_related("current")


def process_for_jobs(key: str | None) -> Process:
    """The job process named by `key`, or the first one; FridayError when there is none to use."""
    processes = job_processes()
    process = processes.filter(key=key).first() if key else processes.order_by("pk").first()
    if process is None:
        raise FridayError(
            f"No published job process {key!r}."
            if key
            else "There is no job process yet: install the job workflow under Processes first.",
            code="job.no_process",
            field="process",
        )
    return process


@dataclass
class JobFilters:
    process: str = ""
    stage: str = ""
    status: str = ""
    owner_id: int | None = None
    staff_id: int | None = None
    party_id: int | None = None
    q: str = ""


def job_queryset(*, user: User, filters: JobFilters) -> QuerySet[Job]:
    qs = jobs_visible(user)
    if filters.process:
        qs = qs.filter(process=process_for_jobs(filters.process))
    if filters.stage:
        known: set[str] = set()
        for process in job_processes() if not filters.process else [process_for_jobs(filters.process)]:
            known |= {s.key for v in process.versions.all() for s in v.definition.stages}
        if filters.stage not in known:
            raise FridayError(
                f"No job process has a stage {filters.stage!r}.", code="invalid.stage", field="stage"
            )
        qs = qs.filter(stage=filters.stage)
    if filters.status:
        if filters.status not in STATUSES:
            raise FridayError(
                f"Status is one of {', '.join(STATUSES)}.", code="invalid.status", field="status"
            )
        qs = {
            "open": qs.filter(closed_at__isnull=True, completed_at__isnull=True),
            "complete": qs.filter(completed_at__isnull=False),
            "closed": qs.filter(closed_at__isnull=False),
            "paid": qs.filter(paid_at__isnull=False),
            "unpaid": qs.filter(completed_at__isnull=False, paid_at__isnull=True),
        }[filters.status]
    for name in ("owner_id", "staff_id", "party_id"):
        value = getattr(filters, name)
        if value is not None and not valid_id(value):
            raise FridayError("No such id.", code="invalid.id", field=name)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.staff_id is not None:
        qs = qs.filter(
            Exists(Job.staff.through.objects.filter(job_id=OuterRef("pk"), user_id=filters.staff_id))
        )
    if filters.party_id is not None:
        qs = qs.filter(party_id=filters.party_id)
    q = filters.q.strip()
    if "\x00" in q or len(q) > 100:
        raise FridayError("Search for at most 100 characters.", code="invalid.q", field="q")
    if q:
        qs = qs.filter(title__icontains=q)
    return qs


def job_list(
    *, user: User, filters: JobFilters, sort: str = "recent", cursor: str | None = None, limit: int = 50
) -> Page:
    order = page_order(SORTS, sort, limit, MAX_LIMIT)
    qs = job_queryset(user=user, filters=filters).select_related("party", "owner", "process")
    if sort == "scheduled":
        qs = qs.filter(scheduled_for__isnull=False)
    return keyset_page(qs, order=order, cursor=cursor, limit=limit)


@dataclass
class Column:
    stage: Stage
    count: int = 0
    totals: list[tuple[str, Decimal]] = field(default_factory=list)  # quoted prices, one total per currency
    closed_days: int | None = None
    jobs: list[Job] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass
class Board:
    process: Process
    columns: list[Column]


def closed_since() -> dt.datetime:
    return clock.now() - dt.timedelta(days=settings.FRIDAY_BOARD_CLOSED_DAYS)


def _terminal(process: Process) -> set[str]:
    assert process.current is not None
    return {s.key for s in process.current.definition.stages if s.terminal}


def board_column(
    *,
    user: User,
    process: Process,
    stage: str,
    staff_id: int | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Page:
    """One page of one column: open stages longest-waiting first; a closing stage (paid, cancelled) shows the
    jobs that reached it in the last FRIDAY_BOARD_CLOSED_DAYS days, latest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FridayError(f"Limit must be between 1 and {MAX_LIMIT}.", code="invalid.limit", field="limit")
    qs = _board_qs(user, process, staff_id).filter(stage=stage).select_related("party", "owner")
    if stage in _terminal(process):
        qs = qs.filter(closed_at__gte=closed_since())
        return keyset_page(qs, order=["-stage_entered_at", "-id"], cursor=cursor, limit=limit)
    return keyset_page(qs, order=["stage_entered_at", "id"], cursor=cursor, limit=limit)


def _board_qs(user: User, process: Process, staff_id: int | None) -> QuerySet[Job]:
    qs = jobs_visible(user).filter(process=process)
    if staff_id is not None:
        qs = qs.filter(Exists(Job.staff.through.objects.filter(job_id=OuterRef("pk"), user_id=staff_id)))
    return qs


def job_board(*, user: User, process: Process, staff_id: int | None = None, limit: int = 25) -> Board:
    """Every stage of the current version as a column with its count, quoted total and first page of jobs."""
    assert process.current is not None
    qs = _board_qs(user, process, staff_id)
    rows = [
        *qs.filter(closed_at__isnull=True)
        .values("stage", "currency")
        .annotate(n=Count("id"), total=Sum("quoted_price"))
        .order_by(),
        *qs.filter(closed_at__gte=closed_since(), closed_at__lt=clock.now() + dt.timedelta(days=3650))
        .values("stage", "currency")
        .annotate(n=Count("id"), total=Sum("quoted_price"))
        .order_by(),
    ]
    counts: dict[str, int] = {}
    totals: dict[str, list[tuple[str, Decimal]]] = {}
    home = business.currency()
    for row in sorted(rows, key=lambda r: (r["currency"] != home, r["currency"])):
        counts[row["stage"]] = counts.get(row["stage"], 0) + row["n"]
        if row["total"] is not None:
            totals.setdefault(row["stage"], []).append(
                (row["currency"], Decimal(row["total"]).quantize(Decimal("0.01")))
            )
    terminal = _terminal(process)
    columns = []
    for stage in process.current.definition.stages:
        column = Column(
            stage=stage,
            count=counts.get(stage.key, 0),
            totals=totals.get(stage.key, []),
            closed_days=settings.FRIDAY_BOARD_CLOSED_DAYS if stage.key in terminal else None,
        )
        if column.count:
            page = board_column(user=user, process=process, stage=stage.key, staff_id=staff_id, limit=limit)
            column.jobs, column.next_cursor = page.items, page.next_cursor
        columns.append(column)
    return Board(process=process, columns=columns)


def job_history(*, job: Job) -> QuerySet[StageChange]:
    return (
        StageChange.objects.filter(record_type=RecordType.JOB, record_id=job.pk)
        .select_related("by", "version")
        .order_by("-at", "-id")
    )


# --- money ---------------------------------------------------------------------------------------------------------


@dataclass
class Margin:
    currency: str
    price: Decimal | None  # what was invoiced (net of tax) once the job is invoiced, else the quoted price
    cost: Decimal
    by_kind: dict[str, Decimal]
    price_source: str = "quoted"  # "quoted" or "invoiced"

    @property
    def margin(self) -> Decimal | None:
        return None if self.price is None else self.price - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        if self.price is None or self.price == 0:
            return None
        return (100 * (self.price - self.cost) / self.price).quantize(Decimal("0.1"))


def job_costs(*, job: Job) -> QuerySet[Cost]:
    return job.costs.select_related("staff", "supplier", "created_by").order_by("incurred_on", "id")


def invoiced_net(job: Job) -> Decimal | None:
    """What the job's issued invoices come to before tax (voided ones and drafts left out); None if none."""
    invoices = getattr(job, "invoices", None)  # billing's reverse relation
    if invoices is None:
        return None
    total = (
        invoices.filter(kind="invoice")
        .exclude(status__in=("draft", "void"))
        .aggregate(net=Sum("subtotal"))["net"]
    )
    return None if total is None else round_money(Decimal(total), job.currency)


def job_margin(*, job: Job, price: Decimal | None = None) -> Margin:
    """Price, cost and margin of a job, in its currency (a job's costs are all in it). The price is what was
    invoiced, net of tax, once the job has an issued invoice; before that, the quoted price."""
    # Sums come back from SQLite without their scale (201, not 201.00): put the currency's decimals back.
    by_kind = {
        row["kind"]: round_money(Decimal(row["total"]), job.currency)
        for row in job.costs.values("kind").annotate(total=Sum("amount")).order_by()
    }
    cost = round_money(sum(by_kind.values(), Decimal(0)), job.currency)
    source = "quoted"
    if price is None:
        price = invoiced_net(job)
        source = "invoiced" if price is not None else "quoted"
    return Margin(
        currency=job.currency,
        price=price if price is not None else job.quoted_price,
        cost=cost,
        by_kind=by_kind,
        price_source=source,
    )


def party_costs(*, user: User, party_id: int, cursor: str | None = None, limit: int = 50) -> Page:
    """Costs recorded on a party the user may see: its jobs' and its own (acquisition, servicing, discounts)."""
    if not parties_visible(user).filter(pk=party_id).exists():
        raise NotFound("No such party.", code="party.not_found")
    qs = Cost.objects.filter(party_id=party_id).select_related("job", "staff", "supplier")
    return keyset_page(qs, order=["-incurred_on", "-id"], cursor=cursor, limit=limit)


def staff_rates() -> QuerySet[StaffRate]:
    return StaffRate.objects.select_related("user").order_by("user__username")


# --- assets and service plans --------------------------------------------------------------------------------------


def assets_visible(user: User) -> QuerySet[Asset]:
    return Asset.objects.filter(party__in=parties_visible(user))


def asset_get(*, user: User, asset_id: int) -> Asset:
    asset = (
        assets_visible(user).select_related("party").filter(pk=asset_id).first()
        if valid_id(asset_id)
        else None
    )
    if asset is None:
        raise NotFound("No such asset.", code="asset.not_found")
    return asset


def plans_visible(user: User) -> QuerySet[ServicePlan]:
    return ServicePlan.objects.filter(party__in=parties_visible(user))


def plan_get(*, user: User, plan_id: int) -> ServicePlan:
    plan = (
        plans_visible(user).select_related("party", "asset").filter(pk=plan_id).first()
        if valid_id(plan_id)
        else None
    )
    if plan is None:
        raise NotFound("No such service plan.", code="service_plan.not_found")
    return plan


def plans_due(*, user: User, within_days: int = 30, cursor: str | None = None, limit: int = 50) -> Page:
    """Active plans due within `within_days` (or overdue), soonest first."""
    until = clock.today() + dt.timedelta(days=within_days)
    qs = with_booking(
        plans_visible(user).filter(active=True, next_due_on__lte=until).select_related("party", "asset")
    )
    return keyset_page(qs, order=["next_due_on", "id"], cursor=cursor, limit=limit)


def with_booking(plans: QuerySet[ServicePlan]) -> QuerySet[ServicePlan]:
    """Plans with `booked_job_id`: the open job already booked under each (None if there is none)."""
    booked = Job.objects.filter(
        service_plan=OuterRef("pk"), completed_at__isnull=True, closed_at__isnull=True
    ).order_by("created_at", "id")
    return plans.annotate(booked_job_id=Subquery(booked.values("pk")[:1]))

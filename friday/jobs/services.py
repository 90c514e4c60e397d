"""The only write path for jobs, their costs, staff rates, assets and service plans."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from friday.accounts.models import Team, User
from friday.accounts.scoping import require_write
from friday.core import business, clock
from friday.core.errors import Collector, FridayError, PermissionDenied
from friday.core.events import event_emit
from friday.core.money import amount_parse, currency_clean, money, round_money
from friday.jobs.models import (
    JOB_COST_KINDS,
    Asset,
    Cost,
    CostKind,
    IntervalUnit,
    Job,
    ServicePlan,
    StaffRate,
)
from friday.jobs.selectors import asset_get, job_get, plan_get, process_for_jobs
from friday.parties.models import Party
from friday.parties.selectors import party_get
from friday.parties.services import timeline_add
from friday.processes.models import RecordType, StageChange
from friday.processes.services import stage_enter, stage_move

UNSET: Any = object()
PARTY_COST_KINDS = (CostKind.ACQUISITION, CostKind.SERVICING, CostKind.DISCOUNT, CostKind.OTHER)


def _text(
    errors: Collector, out: dict[str, Any], name: str, value: Any, *, limit: int, required: str = ""
) -> None:
    text = str(value if value is not None else "").strip()
    if name in ("title", "name"):
        text = " ".join(text.split())
    if required and not text:
        errors.add(name, required, code="invalid.required")
    elif len(text) > limit:
        errors.add(name, f"At most {limit:,} characters.", code="invalid.too_long")
    elif "\x00" in text:
        errors.add(name, "Null characters are not allowed.", code="invalid.null_character")
    out[name] = text


def _amount(errors: Collector, name: str, value: Any, **kwargs: Any) -> Decimal | None:
    try:
        return amount_parse(value, field=name, **kwargs)
    except FridayError as exc:
        errors.add(name, exc.detail, code=exc.code)
        return None


# --- jobs ----------------------------------------------------------------------------------------------------------


@dataclass
class JobIn:
    """What a form or API call may set. Fields left UNSET are not changed (on update)."""

    title: Any = UNSET
    description: Any = UNSET
    owner: Any = UNSET  # User or None
    team: Any = UNSET  # Team or None
    staff: Any = UNSET  # list of Users
    scheduled_for: Any = UNSET  # aware datetime or None
    due_on: Any = UNSET  # date or None
    quoted_price: Any = UNSET  # Decimal/str or None
    currency: Any = UNSET
    asset: Any = UNSET  # Asset or None (of the job's party)
    service_plan: Any = UNSET  # ServicePlan or None (of the job's party)
    notes: Any = UNSET
    cancel_reason: Any = UNSET


def _clean_job(
    errors: Collector, data: JobIn, *, party: Party, creating: bool, currency_now: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data.title is not UNSET or creating:
        _text(
            errors,
            out,
            "title",
            data.title if data.title is not UNSET else "",
            limit=200,
            required="A job needs a title: the work to be done.",
        )
    for name, limit in (("description", 20_000), ("notes", 10_000), ("cancel_reason", 2_000)):
        if getattr(data, name) is not UNSET:
            _text(errors, out, name, getattr(data, name), limit=limit)
    if data.currency is not UNSET or creating:
        currency = data.currency if data.currency not in (UNSET, None, "") else business.currency()
        try:
            out["currency"] = currency_clean(currency)
        except FridayError as exc:
            errors.add("currency", exc.detail, code=exc.code)
    currency = out.get("currency") or currency_now
    if data.quoted_price is not UNSET:
        if data.quoted_price in (None, ""):
            out["quoted_price"] = None
        else:
            price = _amount(
                errors, "quoted_price", data.quoted_price, currency=currency, what="The quoted price"
            )
            if price is not None:
                out["quoted_price"] = price
    if data.scheduled_for is not UNSET:
        if data.scheduled_for is not None and (
            not isinstance(data.scheduled_for, dt.datetime) or data.scheduled_for.tzinfo is None
        ):
            errors.add("scheduled_for", "Give a date and time.", code="invalid.datetime")
        out["scheduled_for"] = data.scheduled_for
    if data.due_on is not UNSET:
        if data.due_on is not None and (
            not isinstance(data.due_on, dt.date) or isinstance(data.due_on, dt.datetime)
        ):
            errors.add("due_on", "Give a date.", code="invalid.date")
        out["due_on"] = data.due_on
    if data.owner is not UNSET:
        if data.owner is not None and (not isinstance(data.owner, User) or not data.owner.is_active):
            errors.add("owner", "The owner must be an active user.", code="invalid.owner")
        out["owner"] = data.owner
    if data.team is not UNSET:
        if data.team is not None and not isinstance(data.team, Team):
            errors.add("team", "No such team.", code="invalid.team")
        out["team"] = data.team
    if data.staff is not UNSET:
        staff = list(data.staff or [])
        for i, user in enumerate(staff):
            if not isinstance(user, User) or not user.is_active:
                errors.add(f"staff.{i}", "Staff must be active users.", code="invalid.staff")
        out["staff"] = staff
    if data.asset is not UNSET:
        if data.asset is not None and (not isinstance(data.asset, Asset) or data.asset.party_id != party.pk):
            errors.add("asset", "Choose one of the client's own assets.", code="invalid.asset")
        out["asset"] = data.asset
    if data.service_plan is not UNSET:
        plan = data.service_plan
        if plan is not None and (not isinstance(plan, ServicePlan) or plan.party_id != party.pk):
            errors.add(
                "service_plan", "Choose one of the client's own service plans.", code="invalid.service_plan"
            )
        out["service_plan"] = plan
    return out


@transaction.atomic
def job_create(*, by: User, party: Party, data: JobIn, process_key: str | None = None) -> Job:
    """A new job for a client `party`, entering the job process's initial stage."""
    require_write(by)
    party = party_get(user=by, party_id=party.pk)
    process = process_for_jobs(process_key)
    assert process.current is not None
    errors = Collector()
    clean = _clean_job(errors, data, party=party, creating=True)
    errors.raise_if_any()
    staff = clean.pop("staff", [])
    owner = clean.pop("owner", by)
    team = clean.pop("team", UNSET)
    if team is UNSET:
        team = owner.teams.order_by("pk").first() if owner else None
    if clean.get("service_plan") is not None and clean.get("asset") is None:
        clean["asset"] = clean["service_plan"].asset
    now = clock.now()
    job = Job.objects.create(
        party=party,
        process=process,
        stage_version=process.current,
        stage=process.current.definition.initial,
        stage_entered_at=now,
        owner=owner,
        team=team,
        created_at=now,
        updated_at=now,
        created_by=by,
        **clean,
    )
    if staff:
        job.staff.set(staff)
    if job.service_plan_id is not None:
        _plan_booked(by, job)
    timeline_add(
        party, event="job.created", subject=f"Job {job.title!r} booked"[:200], by=by, data={"job_id": job.pk}
    )
    event_emit(
        name="job.created",
        subject=job,
        actor=by,
        payload={"party_id": party.pk, "title": job.title[:200], "job_id": job.pk},
    )
    stage_enter(by=by, record_type=RecordType.JOB, record=job, version=process.current)
    return job


@transaction.atomic
def job_update(*, by: User, job: Job, data: JobIn) -> Job:
    """Change a job's fields (not its stage: that is `job_move`)."""
    require_write(by)
    job = job_get(user=by, job_id=job.pk)
    errors = Collector()
    clean = _clean_job(errors, data, party=job.party, creating=False, currency_now=job.currency)
    if "currency" in clean and clean["currency"] != job.currency and job.costs.exists():
        errors.add("currency", "This job has costs in its currency: it keeps it.", code="job.currency_locked")
    errors.raise_if_any()
    changed = []
    staff = clean.pop("staff", None)
    for name, value in clean.items():
        if getattr(job, name) != value:
            setattr(job, name, value)
            changed.append(name)
    if staff is not None and {u.pk for u in staff} != set(job.staff.values_list("pk", flat=True)):
        job.staff.set(staff)
        changed.append("staff")
    if not changed:
        return job
    job.updated_at = clock.now()
    job.save()
    timeline_add(
        job.party,
        event="job.updated",
        subject=f"Job {job.title!r} changed: {', '.join(changed)}"[:200],
        by=by,
        data={"job_id": job.pk, "fields": changed},
    )
    event_emit(
        name="job.updated", subject=job, actor=by, payload={"fields": changed, "party_id": job.party_id}
    )
    return job


@transaction.atomic
def job_move(
    *,
    by: User,
    job: Job,
    to: str,
    cancel_reason: str | None = None,
    reason: str = "",
    override: bool = False,
    checked: Iterable[str] = (),
) -> StageChange:
    """Move a job to another stage of its process; a cancel reason given here is saved first (a cancelled stage
    may require it)."""
    require_write(by)
    job = job_get(user=by, job_id=job.pk)
    if cancel_reason is not None and cancel_reason.strip():
        errors = Collector()
        out: dict[str, Any] = {}
        _text(errors, out, "cancel_reason", cancel_reason, limit=2000)
        errors.raise_if_any()
        Job.objects.filter(pk=job.pk).update(cancel_reason=out["cancel_reason"])
        job.cancel_reason = out["cancel_reason"]
    return stage_move(
        by=by,
        record_type=RecordType.JOB,
        record=job,
        to=to,
        reason=reason,
        override=override,
        checked=checked,
    )


@transaction.atomic
def job_delete(*, by: User, job: Job) -> None:
    require_write(by)
    job = job_get(user=by, job_id=job.pk)
    invoices = getattr(job, "invoices", None)  # billing's reverse relation
    if invoices is not None and invoices.exclude(status="draft").exists():
        raise FridayError(
            "This job has issued invoices: cancel it instead of deleting it.", code="job.has_invoices"
        )
    timeline_add(job.party, event="job.deleted", subject=f"Job {job.title!r} deleted"[:200], by=by)
    event_emit(
        name="job.deleted", subject=job, actor=by, payload={"title": job.title, "party_id": job.party_id}
    )
    StageChange.objects.filter(record_type=RecordType.JOB, record_id=job.pk).delete()
    job.delete()


def _plan_booked(by: User, job: Job) -> None:
    """A visit booked for a plan settles the reminders to book it (the service-due rule's)."""
    from friday.reminders.models import ACTIVE, Reminder
    from friday.reminders.services import reminder_done

    for reminder in Reminder.objects.filter(
        record_type="service_plan", record_id=job.service_plan_id, status__in=ACTIVE
    ):
        reminder_done(by=by, reminder=reminder)


def job_set_paid(*, job: Job, paid_at: dt.datetime | None) -> None:
    """Billing says the job's invoices are paid in full (a time) or no longer are (None)."""
    if job.paid_at != paid_at:
        Job.objects.filter(pk=job.pk).update(paid_at=paid_at)
        job.paid_at = paid_at


@transaction.atomic
def job_chase_supplier(
    *,
    by: User,
    job: Job,
    supplier: Party,
    title: str,
    due_at: dt.datetime,
    assignee: User | None = None,
    notes: str = "",
) -> Any:
    """A supplier dependency: a reminder chasing `supplier` about this job (parts, a subcontractor's visit)."""
    from friday.reminders.services import ReminderIn, reminder_create

    require_write(by)
    job = job_get(user=by, job_id=job.pk)
    supplier = party_get(user=by, party_id=supplier.pk)
    if supplier.pk == job.party_id:
        raise FridayError("Chase a supplier, not the client.", code="invalid.supplier", field="supplier")
    return reminder_create(
        by=by,
        data=ReminderIn(
            title=title, due_at=due_at, notes=notes, assignee=assignee or by, party=job.party, chase=supplier
        ),
        record=(RecordType.JOB, job.pk),
    )


def job_dependencies(*, job: Job) -> Any:
    """The reminders chasing suppliers for this job, open first."""
    from friday.reminders.models import Reminder

    return (
        Reminder.objects.filter(record_type=RecordType.JOB, record_id=job.pk, chase__isnull=False)
        .select_related("chase", "assignee")
        .order_by("done_at", "remind_at", "id")
    )


# --- costs ---------------------------------------------------------------------------------------------------------


@dataclass
class CostIn:
    kind: Any = ""
    description: Any = ""
    quantity: Any = "1"  # hours for labour
    unit_cost: Any = None  # the hourly rate for labour (default: the staff member's rate)
    currency: Any = ""
    staff: Any = None  # User, for labour
    supplier: Any = None  # Party, for a supplier bill
    reference: Any = ""
    incurred_on: Any = None  # date; default today


@transaction.atomic
def cost_add(*, by: User, data: CostIn, job: Job | None = None, party: Party | None = None) -> Cost:
    """Record a cost on a job (labour, materials, a supplier bill, other) or on a party (acquisition, servicing,
    a discount given, other). The amount is quantity × unit cost, rounded half up to the currency's minor unit."""
    require_write(by)
    if (job is None) == (party is None):
        raise FridayError("A cost belongs to a job or to a party.", code="invalid.cost_owner")
    if job is not None:
        job = job_get(user=by, job_id=job.pk)
        party = job.party
    assert party is not None
    party = party_get(user=by, party_id=party.pk)
    errors = Collector()
    kinds = JOB_COST_KINDS if job is not None else PARTY_COST_KINDS
    kind = str(data.kind or "")
    if kind not in kinds:
        errors.add(
            "kind", f"A {'job' if job else 'party'} cost is one of: {', '.join(kinds)}.", code="invalid.kind"
        )
    out: dict[str, Any] = {}
    _text(
        errors,
        out,
        "description",
        data.description,
        limit=200,
        required="" if kind in (CostKind.LABOUR, CostKind.SUPPLIER_BILL) else "Say what the cost was for.",
    )
    _text(errors, out, "reference", data.reference, limit=100)
    currency = job.currency if job is not None else ""
    if data.currency not in (None, ""):
        try:
            given = currency_clean(data.currency)
        except FridayError as exc:
            errors.add("currency", exc.detail, code=exc.code)
            given = ""
        if given and job is not None and given != job.currency:
            errors.add(
                "currency",
                f"This job is priced in {job.currency}: record its costs in {job.currency} too (convert {given} first).",
                code="invalid.currency_mismatch",
            )
        currency = currency or given
    currency = currency or business.currency()
    staff = data.staff
    if kind == CostKind.LABOUR:
        if not isinstance(staff, User):
            errors.add("staff", "Say whose time it was.", code="invalid.required")
            staff = None
    elif staff is not None and not isinstance(staff, User):
        errors.add("staff", "No such user.", code="invalid.staff")
    supplier = data.supplier
    if supplier is not None:
        if not isinstance(supplier, Party):
            errors.add("supplier", "No such supplier.", code="invalid.supplier")
            supplier = None
        elif supplier.pk == party.pk:
            errors.add("supplier", "The supplier is not the client.", code="invalid.supplier")
    quantity = _amount(
        errors,
        "quantity",
        data.quantity if data.quantity not in (None, "") else "1",
        places=2,
        allow_zero=False,
        maximum=Decimal("9999999999.99"),
        what="The hours" if kind == CostKind.LABOUR else "The quantity",
    )
    unit = data.unit_cost
    if unit in (None, "") and kind == CostKind.LABOUR and isinstance(staff, User):
        rate = StaffRate.objects.filter(user=staff).first()
        if rate is None:
            errors.add(
                "unit_cost",
                f"{staff.display} has no hourly rate yet: give one, or set it under Staff rates.",
                code="invalid.required",
            )
        elif rate.currency != currency:
            errors.add(
                "unit_cost",
                f"{staff.display}'s rate is in {rate.currency}, the job in {currency}: give the rate in {currency}.",
                code="invalid.currency_mismatch",
            )
        else:
            unit = rate.hourly_rate
    unit_cost = None
    if unit in (None, ""):
        if not any(e.field == "unit_cost" for e in errors.errors):
            errors.add(
                "unit_cost",
                "Give the cost." if kind != CostKind.LABOUR else "Give the hourly rate.",
                code="invalid.required",
            )
    else:
        unit_cost = _amount(errors, "unit_cost", unit, currency=currency, places=2, what="The cost")
    incurred = data.incurred_on or clock.today()
    if not isinstance(incurred, dt.date) or isinstance(incurred, dt.datetime):
        errors.add("incurred_on", "Give a date.", code="invalid.date")
    errors.raise_if_any()
    assert quantity is not None and unit_cost is not None
    amount = round_money(quantity * unit_cost, currency)
    if amount > Decimal("999999999999.99"):
        raise FridayError("That cost is too large.", code="invalid.too_large", field="unit_cost")
    cost = Cost.objects.create(
        party=party,
        job=job,
        kind=kind,
        description=out["description"],
        quantity=quantity,
        unit_cost=unit_cost,
        amount=amount,
        currency=currency,
        staff=staff
        if isinstance(staff, User) and kind == CostKind.LABOUR
        else None,  # whose time, for labour
        supplier=supplier,
        reference=out["reference"],
        incurred_on=incurred,
        created_at=clock.now(),
        created_by=by,
    )
    what = f" on job {job.title!r}" if job is not None else ""
    timeline_add(
        party,
        event="cost.added",
        subject=f"Cost{what}: {cost.get_kind_display()} {money(amount, currency)}"[:200],
        by=by,
        data={"cost_id": cost.pk, "job_id": job.pk if job else None},
    )
    event_emit(
        name="cost.added",
        subject=cost,
        actor=by,
        payload={
            "party_id": party.pk,
            "job_id": job.pk if job else None,
            "kind": kind,
            "amount": str(amount),
            "currency": currency,
        },
    )
    return cost


@transaction.atomic
def cost_delete(*, by: User, cost: Cost) -> None:
    require_write(by)
    party = party_get(user=by, party_id=cost.party_id)
    if cost.job_id is not None:
        job_get(user=by, job_id=cost.job_id)
    timeline_add(
        party,
        event="cost.deleted",
        subject=f"Cost removed: {cost.get_kind_display()} {money(cost.amount, cost.currency)}"[:200],
        by=by,
        data={"job_id": cost.job_id},
    )
    event_emit(
        name="cost.deleted",
        subject=cost,
        actor=by,
        payload={
            "party_id": party.pk,
            "job_id": cost.job_id,
            "amount": str(cost.amount),
            "currency": cost.currency,
        },
    )
    cost.delete()


def require_manager(by: User) -> None:
    if not by.can_edit_processes:
        raise PermissionDenied("Only a manager or an admin can do this.", code="permission.manager_only")


@transaction.atomic
def staff_rate_set(*, by: User, user: User, hourly_rate: Any, currency: Any = None) -> StaffRate | None:
    """Set (or, with an empty rate, remove) what an hour of `user`'s time costs."""
    require_manager(by)
    if hourly_rate in (None, ""):
        StaffRate.objects.filter(user=user).delete()
        return None
    errors = Collector()
    try:
        code = currency_clean(currency or business.currency())
    except FridayError as exc:
        errors.add("currency", exc.detail, code=exc.code)
        code = ""
    rate = _amount(
        errors,
        "hourly_rate",
        hourly_rate,
        currency=code,
        places=2,
        maximum=Decimal("99999999.99"),
        what="The hourly rate",
    )
    errors.raise_if_any()
    assert rate is not None
    row, _ = StaffRate.objects.update_or_create(
        user=user, defaults={"hourly_rate": rate, "currency": code, "updated_at": clock.now()}
    )
    return row


# --- assets and service plans --------------------------------------------------------------------------------------


@dataclass
class AssetIn:
    name: Any = UNSET
    kind: Any = UNSET
    serial_number: Any = UNSET
    location: Any = UNSET
    installed_on: Any = UNSET
    notes: Any = UNSET
    active: Any = UNSET


@transaction.atomic
def asset_save(*, by: User, data: AssetIn, party: Party | None = None, asset: Asset | None = None) -> Asset:
    require_write(by)
    if asset is not None:
        asset = asset_get(user=by, asset_id=asset.pk)
        party = asset.party
    assert party is not None
    party = party_get(user=by, party_id=party.pk)
    errors = Collector()
    out: dict[str, Any] = {}
    for name, limit in (
        ("name", 200),
        ("kind", 100),
        ("serial_number", 100),
        ("location", 200),
        ("notes", 10_000),
    ):
        value = getattr(data, name)
        if value is not UNSET or (asset is None and name == "name"):
            _text(
                errors,
                out,
                name,
                "" if value is UNSET else value,
                limit=limit,
                required="Name the asset, e.g. Boiler." if name == "name" else "",
            )
    if data.installed_on is not UNSET:
        if data.installed_on is not None and not isinstance(data.installed_on, dt.date):
            errors.add("installed_on", "Give a date.", code="invalid.date")
        out["installed_on"] = data.installed_on
    if data.active is not UNSET:
        out["active"] = bool(data.active)
    errors.raise_if_any()
    creating = asset is None
    asset = asset or Asset(party=party, created_at=clock.now())
    for name, value in out.items():
        setattr(asset, name, value)
    asset.save()
    timeline_add(
        party,
        event="asset.added" if creating else "asset.changed",
        subject=f"Asset {'added' if creating else 'changed'}: {asset}"[:200],
        by=by,
        data={"asset_id": asset.pk},
    )
    return asset


@transaction.atomic
def asset_delete(*, by: User, asset: Asset) -> None:
    require_write(by)
    asset = asset_get(user=by, asset_id=asset.pk)
    timeline_add(asset.party, event="asset.deleted", subject=f"Asset removed: {asset}"[:200], by=by)
    asset.delete()


def add_interval(day: dt.date, every: int, unit: str) -> dt.date:
    """`day` plus `every` units; a month-end stays in range (31 January + 1 month = 28/29 February)."""
    if unit == IntervalUnit.DAYS:
        return day + dt.timedelta(days=every)
    if unit == IntervalUnit.WEEKS:
        return day + dt.timedelta(weeks=every)
    months = every * (12 if unit == IntervalUnit.YEARS else 1)
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class PlanIn:
    name: Any = UNSET
    every: Any = UNSET
    unit: Any = UNSET
    asset: Any = UNSET  # Asset of the party, or None
    last_service_on: Any = UNSET  # when the plan starts: the last service before Friday knew
    active: Any = UNSET
    notes: Any = UNSET


@transaction.atomic
def plan_save(
    *, by: User, data: PlanIn, party: Party | None = None, plan: ServicePlan | None = None
) -> ServicePlan:
    """Create or change a service plan; the next due date follows from the last service and the interval (a
    plan never serviced is due one interval after it starts)."""
    require_write(by)
    if plan is not None:
        plan = plan_get(user=by, plan_id=plan.pk)
        party = plan.party
    assert party is not None
    party = party_get(user=by, party_id=party.pk)
    errors = Collector()
    out: dict[str, Any] = {}
    if data.name is not UNSET or plan is None:
        _text(
            errors,
            out,
            "name",
            "" if data.name is UNSET else data.name,
            limit=200,
            required="Name the plan, e.g. Annual boiler service.",
        )
    if data.notes is not UNSET:
        _text(errors, out, "notes", data.notes, limit=10_000)
    if data.every is not UNSET or plan is None:
        every = data.every
        if isinstance(every, str) and every.strip().isdigit():
            every = int(every.strip())
        if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= 1000:
            errors.add("every", "Give a whole number from 1 to 1000.", code="invalid.number")
        else:
            out["every"] = every
    if data.unit is not UNSET or plan is None:
        unit = IntervalUnit.MONTHS if data.unit is UNSET else data.unit
        if unit not in IntervalUnit.values:
            errors.add("unit", f"Use one of {', '.join(IntervalUnit.values)}.", code="invalid.choice")
        else:
            out["unit"] = unit
    if data.asset is not UNSET:
        if data.asset is not None and (not isinstance(data.asset, Asset) or data.asset.party_id != party.pk):
            errors.add("asset", "Choose one of the client's own assets.", code="invalid.asset")
        out["asset"] = data.asset
    if data.last_service_on is not UNSET:
        if data.last_service_on is not None and (
            not isinstance(data.last_service_on, dt.date) or data.last_service_on > clock.today()
        ):
            errors.add("last_service_on", "Give a date that is not in the future.", code="invalid.date")
        out["last_service_on"] = data.last_service_on
    if data.active is not UNSET:
        out["active"] = bool(data.active)
    errors.raise_if_any()
    now = clock.now()
    creating = plan is None
    plan = plan or ServicePlan(party=party, created_at=now)
    for name, value in out.items():
        setattr(plan, name, value)
    plan.next_due_on = add_interval(
        plan.last_service_on or clock.local_date(plan.created_at), plan.every, plan.unit
    )
    plan.updated_at = now
    plan.save()
    timeline_add(
        party,
        event="service_plan.saved",
        subject=f"Service plan {'added' if creating else 'changed'}: {plan.name}, next due {plan.next_due_on:%d %b %Y}"[
            :200
        ],
        by=by,
        data={"service_plan_id": plan.pk},
    )
    return plan


@transaction.atomic
def plan_delete(*, by: User, plan: ServicePlan) -> None:
    require_write(by)
    plan = plan_get(user=by, plan_id=plan.pk)
    timeline_add(
        plan.party, event="service_plan.deleted", subject=f"Service plan removed: {plan.name}"[:200], by=by
    )
    plan.delete()


def plans_serviced(*, job: Job, on: dt.date) -> list[int]:
    """A completed job is the last service of its plan — or, without one, of the active plans of its asset."""
    if job.service_plan_id is not None:
        plans = list(ServicePlan.objects.filter(pk=job.service_plan_id))
    elif job.asset_id is not None:
        plans = list(ServicePlan.objects.filter(asset_id=job.asset_id, active=True))
    else:
        return []
    now = clock.now()
    for plan in plans:
        if plan.last_service_on is not None and plan.last_service_on > on:
            continue
        plan.last_service_on = on
        plan.next_due_on = add_interval(on, plan.every, plan.unit)
        plan.updated_at = now
        plan.save(update_fields=["last_service_on", "next_due_on", "updated_at"])
        timeline_add(
            plan.party,
            event="service_plan.serviced",
            subject=f"{plan.name}: serviced {on:%d %b %Y} (job {job.title!r}), next due {plan.next_due_on:%d %b %Y}"[
                :200
            ],
            by=None,
            data={"service_plan_id": plan.pk, "job_id": job.pk},
        )
    return [p.pk for p in plans]

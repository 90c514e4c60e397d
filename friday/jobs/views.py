"""Job pages: board (drag or buttons), list, detail with costs and margin, forms; staff rates; assets and
service plans on the client's page; the plans coming due."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.core import business, clock, export
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest, safe_next
from friday.core.pagination import Page
from friday.jobs import selectors, services
from friday.jobs.forms import AssetForm, CostForm, DependencyForm, JobForm, PlanForm
from friday.jobs.models import Asset, Cost, Job, ServicePlan
from friday.parties.models import Party
from friday.parties.selectors import parties_visible, party_get
from friday.processes import records
from friday.processes.models import ProcessVersion, RecordType
from friday.processes.selectors import stage_names
from friday.processes.services import allowed_next
from friday.processes.templatetags.stages import StageLabel, stage_labels
from friday.processes.views import move_context, move_values, override_note


def _annotate(jobs: list[Job]) -> None:
    """Give each job its stage label and the stages it may move to next (one parse per version)."""
    versions = {v.pk: v for v in ProcessVersion.objects.filter(pk__in={j.stage_version_id for j in jobs})}
    labels = {pk: stage_labels(v) for pk, v in versions.items()}
    for job in jobs:
        version_labels = labels.get(job.stage_version_id, {})
        job.label = version_labels.get(job.stage) or StageLabel(job.stage, job.stage, "", "open")  # type: ignore[attr-defined]
        allowed = allowed_next(versions[job.stage_version_id].definition, job.stage)
        job.next_stages = [version_labels[k] for k in allowed if k in version_labels]  # type: ignore[attr-defined]


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


def _form_errors(form: Any, exc: FridayError) -> None:
    for e in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
        field = (e.field or "").split(".")[0]
        form.add_error(field if field in form.fields else None, e.detail)


def _export(
    request: AuthedRequest, fmt: str, filters: selectors.JobFilters, sort: str
) -> HttpResponse | StreamingHttpResponse:
    """Every job of the list as filtered and sorted (its own pages, so its own scope)."""
    stages = stage_names()
    columns = [
        export.Column("id", lambda j: j.pk),
        export.Column("title", lambda j: j.title),
        export.Column("client", lambda j: j.party.display_name),
        export.Column("client id", lambda j: j.party_id),
        export.Column("workflow", lambda j: j.process.name),
        export.Column("stage", lambda j: stages.get((j.process_id, j.stage), j.stage)),
        export.Column("owner", lambda j: j.owner.display if j.owner else ""),
        export.Column("scheduled for", lambda j: j.scheduled_for),
        export.Column("due", lambda j: j.due_on),
        export.Column("quoted price", lambda j: j.quoted_price),
        export.Column("currency", lambda j: j.currency),
        export.Column("completed", lambda j: j.completed_at),
        export.Column("paid", lambda j: j.paid_at),
        export.Column("closed", lambda j: j.closed_at),
        export.Column("cancel reason", lambda j: j.cancel_reason),
        export.Column("created", lambda j: j.created_at),
    ]

    def fetch(cursor: str | None) -> Page:
        return selectors.job_list(
            user=request.user, filters=filters, sort=sort, cursor=cursor, limit=selectors.MAX_LIMIT
        )

    return export.export_response(fmt, "jobs", columns, export.rows_of(fetch))


@login_required
def job_list(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    filters = selectors.JobFilters(
        process=request.GET.get("process", "")[:100],
        stage=request.GET.get("stage", "")[:100],
        status=request.GET.get("status", "")[:20],
        owner_id=_int(request.GET.get("owner", "")),
        staff_id=_int(request.GET.get("staff", "")),
        party_id=_int(request.GET.get("party", "")),
        q=request.GET.get("q", "")[:100],
    )
    sort = request.GET.get("sort", "recent")
    error = page = None
    try:
        page = selectors.job_list(
            user=request.user,
            filters=filters,
            sort=sort if sort in selectors.SORTS else "recent",
            cursor=request.GET.get("cursor"),
            limit=50,
        )
        _annotate(page.items)
    except FridayError as exc:
        error = exc
    fmt = export.requested(request)
    if fmt and error is None:
        return _export(request, fmt, filters, sort if sort in selectors.SORTS else "recent")
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("format", None)
    party = None
    if filters.party_id is not None:
        party = parties_visible(request.user).filter(pk=filters.party_id).first()
    return render(
        request,
        "jobs/list.html",
        {
            "page": page,
            "error": error,
            "filters": filters,
            "sort": sort,
            "party": party,
            "query": query.urlencode(),
            "processes": selectors.job_processes(),
            "users": User.objects.filter(is_active=True).order_by("first_name", "username"),
            "statuses": selectors.STATUSES,
        },
        status=400 if error else 200,
    )


@login_required
def job_board(request: AuthedRequest) -> HttpResponse:
    staff = request.GET.get("staff", "")
    try:
        process = selectors.process_for_jobs(request.GET.get("process") or None)
    except FridayError as exc:
        messages.error(request, exc.detail)
        return redirect("processes:list")
    board = selectors.job_board(user=request.user, process=process, staff_id=_int(staff), limit=25)
    assert process.current is not None
    _annotate([j for c in board.columns for j in c.jobs])
    return render(
        request,
        "jobs/board.html",
        {
            "board": board,
            "labels": stage_labels(process.current),
            "processes": selectors.job_processes(),
            "users": User.objects.filter(is_active=True).order_by("first_name", "username"),
            "staff": staff,
        },
    )


@login_required
def board_column(request: AuthedRequest) -> HttpResponse:
    process = selectors.process_for_jobs(request.GET.get("process") or None)
    staff = request.GET.get("staff", "")
    page = selectors.board_column(
        user=request.user,
        process=process,
        stage=request.GET.get("stage", "")[:100],
        staff_id=_int(staff),
        cursor=request.GET.get("cursor"),
        limit=25,
    )
    _annotate(page.items)
    return render(
        request,
        "jobs/_cards.html",
        {
            "jobs": page.items,
            "next_cursor": page.next_cursor,
            "process": process,
            "stage": request.GET.get("stage", ""),
            "staff": staff,
        },
    )


def _job_in(form: JobForm, party: Party, job: Job | None) -> services.JobIn:
    data = form.cleaned_data
    asset = Asset.objects.filter(pk=data["asset"], party=party).first() if data.get("asset") else None
    plan = (
        ServicePlan.objects.filter(pk=data["service_plan"], party=party).first()
        if data.get("service_plan")
        else None
    )
    values = services.JobIn(
        title=data["title"],
        description=data["description"],
        staff=list(data["staff"]),
        scheduled_for=data["scheduled_for"],
        due_on=data["due_on"],
        quoted_price=data["quoted_price"] or None,
        currency=data["currency"] or ("" if job is None else job.currency),
        asset=asset,
        service_plan=plan,
        notes=data["notes"],
    )
    if data.get("owner") is not None or job is not None:
        values.owner = data.get("owner")
    if "cancel_reason" in data:
        values.cancel_reason = data["cancel_reason"]
    return values


@login_required
@require_http_methods(["GET", "POST"])
def job_create(request: AuthedRequest) -> HttpResponse:
    require_write(request.user)
    processes = list(selectors.job_processes())
    if not processes:
        messages.error(request, "There is no job process yet: install the job workflow first.")
        return redirect("processes:list")
    initial: dict[str, Any] = {"owner": request.user.pk}
    party = None
    party_id = _int(request.GET.get("party", "") or request.POST.get("party_id", ""))
    if party_id is not None:
        try:
            party = party_get(user=request.user, party_id=party_id)
            initial["party"] = f"{party.display_name} · #{party.pk}"
        except FridayError:
            party = None
    plan_id = _int(request.GET.get("plan", ""))
    if party is not None and plan_id is not None:
        plan = ServicePlan.objects.filter(pk=plan_id, party=party).first()
        if plan is not None:
            initial.update(service_plan=plan.pk, asset=plan.asset_id, title=plan.name)
    assets = list(party.assets.filter(active=True)) if party else []
    plans = list(party.service_plans.filter(active=True)) if party else []
    form = JobForm(request.POST or None, processes=processes, assets=assets, plans=plans, initial=initial)
    if request.method == "POST" and form.is_valid():
        chosen = form.party_id()
        try:
            if chosen is None:
                raise ValidationFailed(
                    [
                        FridayError(
                            "Pick the client from the list as you type.", code="invalid.party", field="party"
                        )
                    ]
                )
            try:
                party = party_get(user=request.user, party_id=chosen)
            except NotFound as exc:
                exc.field = "party"
                raise
            job = services.job_create(
                by=request.user,
                party=party,
                data=_job_in(form, party, None),
                process_key=form.cleaned_data.get("process") or None,
            )
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{job.title} is booked.")
            return redirect("jobs:detail", job.pk)
    return render(
        request,
        "jobs/form.html",
        {"form": form, "creating": True, "party": party},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def job_edit(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(user=request.user, job_id=job_id)
    require_write(request.user)
    initial = {
        "title": job.title,
        "description": job.description,
        "staff": list(job.staff.values_list("pk", flat=True)),
        "owner": job.owner_id,
        "scheduled_for": job.scheduled_for,
        "due_on": job.due_on,
        "quoted_price": job.quoted_price if job.quoted_price is not None else "",
        "currency": job.currency,
        "asset": job.asset_id,
        "service_plan": job.service_plan_id,
        "notes": job.notes,
        "cancel_reason": job.cancel_reason,
    }
    form = JobForm(
        request.POST or None,
        initial=initial,
        editing=True,
        assets=job.party.assets.all(),
        plans=job.party.service_plans.all(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.job_update(by=request.user, job=job, data=_job_in(form, job.party, job))
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Your changes were saved.")
            return redirect(safe_next(request, reverse("jobs:detail", args=[job.pk])))
    return render(
        request,
        "jobs/form.html",
        {"form": form, "job": job, "next": safe_next(request, "")},
        status=422 if request.method == "POST" else 200,
    )


def _detail_context(request: AuthedRequest, job: Job) -> dict[str, Any]:
    _annotate([job])
    history = list(selectors.job_history(job=job)[:100])
    labels = {job.stage_version_id: stage_labels(job.stage_version)}
    for change in history:
        version_labels = labels.get(change.version_id) or stage_labels(change.version)
        labels[change.version_id] = version_labels
        change.from_label = version_labels.get(change.from_stage)  # type: ignore[attr-defined]
        change.to_label = version_labels.get(change.to_stage)  # type: ignore[attr-defined]
    invoices = getattr(job, "invoices", None)
    return {
        "job": job,
        "staff": list(job.staff.all()),
        "history": history,
        "margin": selectors.job_margin(job=job),
        "costs": list(selectors.job_costs(job=job)),
        "dependencies": list(services.job_dependencies(job=job)),
        "invoices": list(invoices.order_by("-id")) if invoices is not None else None,
        "cost_form": CostForm(prefix="cost"),
        "dependency_form": DependencyForm(prefix="dep", initial={"assignee": request.user.pk}),
    }


@login_required
def job_detail(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(user=request.user, job_id=job_id)
    return render(request, "jobs/detail.html", _detail_context(request, job))


@login_required
@require_POST
def cost_add(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(user=request.user, job_id=job_id)
    require_write(request.user)
    form = CostForm(request.POST, prefix="cost")
    if form.is_valid():
        supplier = None
        supplier_id = form.supplier_id()
        try:
            if form.cleaned_data.get("supplier") and supplier_id is None:
                raise FridayError(
                    "Pick the supplier from the list.", code="invalid.supplier", field="supplier"
                )
            if supplier_id is not None:
                try:
                    supplier = party_get(user=request.user, party_id=supplier_id)
                except NotFound as exc:
                    exc.field = "supplier"
                    raise
            data = form.cleaned_data
            cost = services.cost_add(
                by=request.user,
                job=job,
                data=services.CostIn(
                    kind=data["kind"],
                    description=data["description"],
                    quantity=data["quantity"],
                    unit_cost=data["unit_cost"],
                    staff=data.get("staff"),
                    supplier=supplier,
                    reference=data.get("reference", ""),
                    incurred_on=data["incurred_on"],
                ),
            )
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{cost.get_kind_display()} cost added.")
            return redirect(reverse("jobs:detail", args=[job.pk]) + "#costs")
    context = _detail_context(request, job)
    context["cost_form"] = form
    return render(request, "jobs/detail.html", context, status=422)


@login_required
@require_POST
def cost_delete(request: AuthedRequest, cost_id: int) -> HttpResponse:
    cost = Cost.objects.filter(pk=cost_id).first() if _int(str(cost_id)) else None
    if cost is None or not parties_visible(request.user).filter(pk=cost.party_id).exists():
        raise NotFound("No such cost.", code="cost.not_found")
    services.cost_delete(by=request.user, cost=cost)
    messages.success(request, "The cost was removed.")
    back = (
        reverse("jobs:detail", args=[cost.job_id]) + "#costs" if cost.job_id else f"/parties/{cost.party_id}/"
    )
    return redirect(safe_next(request, back))


@login_required
@require_POST
def dependency_add(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(user=request.user, job_id=job_id)
    require_write(request.user)
    form = DependencyForm(request.POST, prefix="dep")
    if form.is_valid():
        try:
            supplier_id = form.supplier_id()
            if supplier_id is None:
                raise FridayError(
                    "Pick the supplier from the list.", code="invalid.supplier", field="supplier"
                )
            try:
                supplier = party_get(user=request.user, party_id=supplier_id)
            except NotFound as exc:
                exc.field = "supplier"
                raise
            services.job_chase_supplier(
                by=request.user,
                job=job,
                supplier=supplier,
                title=form.cleaned_data["title"],
                due_at=form.cleaned_data["due_at"],
                assignee=form.cleaned_data.get("assignee"),
            )
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{supplier.display_name} will be chased.")
            return redirect(reverse("jobs:detail", args=[job.pk]) + "#dependencies")
    context = _detail_context(request, job)
    context["dependency_form"] = form
    return render(request, "jobs/detail.html", context, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def job_delete(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(user=request.user, job_id=job_id)
    require_write(request.user)
    error = None
    if request.method == "POST":
        try:
            services.job_delete(by=request.user, job=job)
        except FridayError as exc:
            error = exc.detail
        else:
            messages.success(request, f"{job.title} was deleted.")
            return redirect("jobs:list")
    return render(
        request, "jobs/confirm_delete.html", {"job": job, "error": error}, status=409 if error else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def job_move(request: AuthedRequest, job_id: int) -> HttpResponse:
    """Move a job. A POST from the board or the job's buttons moves at once; when the stage needs more (a
    checklist, a field, a cancel reason) or the step is not declared, this page says what and why."""
    job = selectors.job_get(user=request.user, job_id=job_id)
    values = move_values(request)
    values["cancel_reason"] = request.POST.get("cancel_reason", "")[:2000]
    back = safe_next(request, reverse("jobs:detail", args=[job.pk]))
    kind = records.kind_for(RecordType.JOB)
    assert kind is not None
    error: FridayError | None = None
    if request.method == "POST":
        try:
            change = services.job_move(
                by=request.user,
                job=job,
                to=values["to"],
                cancel_reason=values["cancel_reason"] or None,
                reason=values["reason"],
                override=values["override"],
                checked=values["checked"],
            )
        except FridayError as exc:
            error = exc
        else:
            stage = change.version.definition.stage(change.to_stage)
            text = f"{job.title} moved to {stage.name if stage else change.to_stage}."
            messages.success(request, text + override_note(kind, job, change))
            return redirect(back)
    context = move_context(
        user=request.user,
        kind=kind,
        record=job,
        version=job.stage_version,
        current=job.stage,
        to=values["to"],
        error=error,
        values=values,
        action=reverse("jobs:move", args=[job.pk]),
    )
    asks_reason = any(n["field"] == "cancel_reason" for n in context["needs"])
    context["needs"] = [n for n in context["needs"] if n["field"] != "cancel_reason"]
    context["needs_missing"] = any(not n["filled"] for n in context["needs"])
    context.update(record=job, record_label=job.title, back=back, next=back, asks_cancel_reason=asks_reason)
    return render(request, "jobs/move.html", context, status=422 if error else 200)


# --- staff rates ---------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def staff_rates(request: AuthedRequest) -> HttpResponse:
    """What an hour of each colleague's time costs: labour costs on jobs use it (managers and admins set it)."""
    errors: dict[int, str] = {}
    if request.method == "POST":
        services.require_manager(request.user)
        user = User.objects.filter(pk=_int(request.POST.get("user", "")) or 0, is_active=True).first()
        if user is None:
            raise NotFound("No such user.", code="user.not_found")
        try:
            services.staff_rate_set(
                by=request.user,
                user=user,
                hourly_rate=request.POST.get("hourly_rate", "")[:30],
                currency=request.POST.get("currency", "")[:3] or None,
            )
        except FridayError as exc:
            errors[user.pk] = "; ".join(
                e.detail for e in (exc.errors if isinstance(exc, ValidationFailed) else [exc])
            )
        else:
            messages.success(request, f"{user.display}'s rate was saved.")
            return redirect("jobs:staff_rates")
    rates = {r.user_id: r for r in selectors.staff_rates()}
    users = list(User.objects.filter(is_active=True).order_by("first_name", "username"))
    rows = [
        {
            "user": u,
            "rate": rates.get(u.pk),
            "error": errors.get(u.pk),
            "sent_rate": request.POST.get("hourly_rate", "")[:30],
            "sent_currency": request.POST.get("currency", "")[:3],
        }
        for u in users
    ]
    return render(
        request,
        "jobs/staff_rates.html",
        {
            "rows": rows,
            "can_edit": request.user.can_edit_processes,
            "home_currency": business.currency(),
        },
        status=422 if errors else 200,
    )


# --- party costs, assets and service plans -------------------------------------------------------------------------


def _party_for_write(request: AuthedRequest, party_id: int) -> Party:
    require_write(request.user)
    return party_get(user=request.user, party_id=party_id)


@login_required
@require_http_methods(["GET", "POST"])
def party_cost_add(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = _party_for_write(request, party_id)
    form = CostForm(request.POST or None, for_job=False)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.cost_add(
                by=request.user,
                party=party,
                data=services.CostIn(
                    kind=data["kind"],
                    description=data["description"],
                    quantity=data["quantity"],
                    unit_cost=data["unit_cost"],
                    incurred_on=data["incurred_on"],
                ),
            )
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "The cost was recorded.")
            return redirect("parties:detail", party.pk)
    return render(
        request,
        "jobs/party_cost_form.html",
        {"form": form, "party": party},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def asset_edit(request: AuthedRequest, party_id: int, asset_id: int | None = None) -> HttpResponse:
    party = _party_for_write(request, party_id)
    asset = selectors.asset_get(user=request.user, asset_id=asset_id) if asset_id else None
    if asset is not None and asset.party_id != party.pk:
        raise NotFound("No such asset.", code="asset.not_found")
    initial = (
        {
            "name": asset.name,
            "kind": asset.kind,
            "serial_number": asset.serial_number,
            "location": asset.location,
            "installed_on": asset.installed_on,
            "notes": asset.notes,
            "active": asset.active,
        }
        if asset
        else {"active": True}
    )
    form = AssetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.asset_save(
                by=request.user, party=party, asset=asset, data=services.AssetIn(**form.cleaned_data)
            )
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "The asset was saved.")
            return redirect(reverse("parties:detail", args=[party.pk]) + "#service-h")
    return render(
        request,
        "jobs/asset_form.html",
        {"form": form, "party": party, "asset": asset},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def asset_delete(request: AuthedRequest, asset_id: int) -> HttpResponse:
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    services.asset_delete(by=request.user, asset=asset)
    messages.success(request, f"{asset} was removed.")
    return redirect("parties:detail", asset.party_id)


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: AuthedRequest, party_id: int, plan_id: int | None = None) -> HttpResponse:
    party = _party_for_write(request, party_id)
    plan = selectors.plan_get(user=request.user, plan_id=plan_id) if plan_id else None
    if plan is not None and plan.party_id != party.pk:
        raise NotFound("No such service plan.", code="service_plan.not_found")
    initial: dict[str, Any] = (
        {
            "name": plan.name,
            "every": plan.every,
            "unit": plan.unit,
            "asset": plan.asset_id,
            "last_service_on": plan.last_service_on,
            "active": plan.active,
            "notes": plan.notes,
        }
        if plan
        else {"active": True, "asset": _int(request.GET.get("asset", ""))}
    )
    assets = list(party.assets.all())
    form = PlanForm(request.POST or None, initial=initial, assets=assets)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["asset"] = next((a for a in assets if a.pk == data["asset"]), None)
        try:
            services.plan_save(by=request.user, party=party, plan=plan, data=services.PlanIn(**data))
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "The service plan was saved.")
            return redirect(reverse("parties:detail", args=[party.pk]) + "#service-h")
    return render(
        request,
        "jobs/plan_form.html",
        {"form": form, "party": party, "plan": plan},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def plan_delete(request: AuthedRequest, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, plan_id=plan_id)
    services.plan_delete(by=request.user, plan=plan)
    messages.success(request, f"{plan.name} was removed.")
    return redirect("parties:detail", plan.party_id)


@login_required
def plans_due(request: AuthedRequest) -> HttpResponse:
    days = _int(request.GET.get("days", "")) or 30
    days = min(days, 3650)
    page = selectors.plans_due(
        user=request.user, within_days=days, cursor=request.GET.get("cursor"), limit=50
    )
    return render(request, "jobs/plans_due.html", {"page": page, "days": days, "today": clock.today()})


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Jobs card and the Assets & service plans card on a party page."""
    qs = selectors.jobs_visible(user).filter(party=party).order_by("-created_at", "-id")
    jobs = list(qs.select_related("owner")[:10])
    _annotate(jobs)
    count = qs.count() if len(jobs) == 10 else len(jobs)
    from django.db.models import Sum

    costs = list(
        party.costs.filter(job__isnull=True)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return {
        "jobs": jobs,
        "count": count,
        "more": count > 10,
        "can_add": selectors.job_processes().exists(),
        "assets": list(party.assets.order_by("-active", "name")),
        "plans": list(
            selectors.with_booking(party.service_plans.select_related("asset")).order_by(
                "-active", "next_due_on"
            )
        ),
        "party_costs": list(party.costs.filter(job__isnull=True).order_by("-incurred_on", "-id")[:10]),
        "party_cost_totals": [(c["currency"], c["total"]) for c in costs],
    }

"""Deal pages: list, board (drag or buttons; refused moves explained), detail with moves, forms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.core import export
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest, safe_next
from friday.deals import selectors, services
from friday.deals.forms import DealForm
from friday.deals.models import Deal, LostReason
from friday.parties.selectors import parties_visible, party_get
from friday.processes import records
from friday.processes.models import ProcessVersion, RecordType
from friday.processes.selectors import stage_names
from friday.processes.services import allowed_next, require_process_editor
from friday.processes.templatetags.stages import StageLabel, stage_labels
from friday.processes.views import move_context, move_values, override_note


def _labels_for(deals: list[Deal]) -> dict[int, dict[str, StageLabel]]:
    """Version id → its stage labels, for the versions a page of deals is on (one parse per version)."""
    versions = {d.stage_version_id for d in deals}
    return {v.pk: stage_labels(v) for v in ProcessVersion.objects.filter(pk__in=versions)}


def _annotate(deals: list[Deal]) -> None:
    """Give each deal its stage label (name, definition, kind) and the stages it may move to next."""
    versions = {v.pk: v for v in ProcessVersion.objects.filter(pk__in={d.stage_version_id for d in deals})}
    labels = {pk: stage_labels(v) for pk, v in versions.items()}
    for deal in deals:
        version_labels = labels.get(deal.stage_version_id, {})
        deal.label = version_labels.get(deal.stage) or StageLabel(deal.stage, deal.stage, "", "open")  # type: ignore[attr-defined]
        allowed = allowed_next(versions[deal.stage_version_id].definition, deal.stage)
        deal.next_stages = [version_labels[k] for k in allowed if k in version_labels]  # type: ignore[attr-defined]


def _export(
    request: AuthedRequest, fmt: str, filters: selectors.DealFilters
) -> HttpResponse | StreamingHttpResponse:
    """Every deal of the list as filtered (its own pages, so its own scope)."""
    stages = stage_names()
    reasons = dict(LostReason.objects.values_list("pk", "name"))
    columns = [
        export.Column("id", lambda d: d.pk),
        export.Column("title", lambda d: d.title),
        export.Column("party", lambda d: d.party.display_name),
        export.Column("party id", lambda d: d.party_id),
        export.Column("value", lambda d: d.value),
        export.Column("currency", lambda d: d.currency),
        export.Column("pipeline", lambda d: d.process.name),
        export.Column("stage", lambda d: stages.get((d.process_id, d.stage), d.stage)),
        export.Column("owner", lambda d: d.owner.display if d.owner else ""),
        export.Column("expected close", lambda d: d.expected_close),
        export.Column("closed", lambda d: d.closed_at),
        export.Column("closed from stage", lambda d: stages.get((d.process_id, d.closed_from_stage), "")),
        export.Column("lost reason", lambda d: reasons.get(d.lost_reason_id, "")),
        export.Column("created", lambda d: d.created_at),
        export.Column("updated", lambda d: d.updated_at),
    ]
    rows = export.rows_of(
        lambda cursor: selectors.deal_list(
            user=request.user, filters=filters, sort="recent", cursor=cursor, limit=selectors.MAX_LIMIT
        )
    )
    return export.export_response(fmt, "deals", columns, rows)


@login_required
def deal_list(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    owner = request.GET.get("owner", "")
    party = request.GET.get("party", "")
    reason = request.GET.get("lost_reason", "")
    filters = selectors.DealFilters(
        party_id=int(party) if party.isdigit() and len(party) < 19 else None,
        lost_reason_id=int(reason) if reason.isdigit() and len(reason) < 19 else None,
        process=request.GET.get("process", "")[:100],
        stage=request.GET.get("stage", "")[:100],
        status=request.GET.get("status", ""),
        owner_id=int(owner) if owner.isdigit() else None,
        q=request.GET.get("q", "")[:100],
    )
    error = None
    page = None
    try:
        page = selectors.deal_list(
            user=request.user, filters=filters, sort="recent", cursor=request.GET.get("cursor"), limit=50
        )
        _annotate(page.items)
    except FridayError as exc:
        error = exc
    fmt = export.requested(request)
    if fmt and error is None:
        return _export(request, fmt, filters)
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("format", None)
    # Filters that arrive from links (a party's deals, a lost reason's count, a board column) have no control on
    # the form: say they apply, keep them when the form is sent, and offer to drop each.
    hidden = []
    if filters.party_id is not None:
        found = parties_visible(request.user).filter(pk=filters.party_id).first()
        hidden.append(("party", party, f"for {found.display_name if found else 'a party you cannot see'}"))
    if filters.lost_reason_id is not None:
        lost = LostReason.objects.filter(pk=filters.lost_reason_id).first()
        hidden.append(("lost_reason", reason, f"lost to “{lost.name if lost else '?'}”"))
    if filters.stage:
        hidden.append(("stage", filters.stage, f"in stage {filters.stage}"))
    hidden_filters = []
    for name, value, label in hidden:
        dropped = request.GET.copy()
        dropped.pop(name, None)
        dropped.pop("cursor", None)
        hidden_filters.append({"name": name, "value": value, "label": label, "without": dropped.urlencode()})
    return render(
        request,
        "deals/list.html",
        {
            "page": page,
            "error": error,
            "filters": filters,
            "hidden_filters": hidden_filters,
            "query": query.urlencode(),
            "pipelines": selectors.deal_processes(),
            "owners": User.objects.filter(is_active=True).order_by("username"),
        },
        status=400 if error else 200,
    )


@login_required
def deal_board(request: AuthedRequest) -> HttpResponse:
    owner = request.GET.get("owner", "")
    try:
        process = selectors.process_for_deals(request.GET.get("process") or None)
    except FridayError as exc:
        messages.error(request, exc.detail)
        return redirect("processes:list")
    board = selectors.deal_board(
        user=request.user, process=process, owner_id=int(owner) if owner.isdigit() else None, limit=25
    )
    assert process.current is not None
    labels = stage_labels(process.current)
    _annotate([d for c in board.columns for d in c.deals])
    return render(
        request,
        "deals/board.html",
        {
            "board": board,
            "labels": labels,
            "pipelines": selectors.deal_processes(),
            "owners": User.objects.filter(is_active=True).order_by("username"),
            "owner": owner,
        },
    )


@login_required
def board_column(request: AuthedRequest) -> HttpResponse:
    """More cards for one column (the board's "show more"), as a fragment."""
    process = selectors.process_for_deals(request.GET.get("process") or None)
    owner = request.GET.get("owner", "")
    page = selectors.board_column(
        user=request.user,
        process=process,
        stage=request.GET.get("stage", "")[:100],
        owner_id=int(owner) if owner.isdigit() else None,
        cursor=request.GET.get("cursor"),
        limit=25,
    )
    _annotate(page.items)
    return render(
        request,
        "deals/_cards.html",
        {
            "deals": page.items,
            "next_cursor": page.next_cursor,
            "process": process,
            "stage": request.GET.get("stage", ""),
            "owner": owner,
        },
    )


def _save(request: AuthedRequest, form: DealForm, deal: Deal | None) -> HttpResponse | None:
    data = services.DealIn(
        title=form.cleaned_data["title"],
        value=form.cleaned_data["value"] or None,
        currency=form.cleaned_data["currency"] or ("" if deal is None else deal.currency),
        expected_close=form.cleaned_data["expected_close"],
        owner=form.cleaned_data["owner"] or (request.user if deal is None else None),
        notes=form.cleaned_data["notes"],
    )
    try:
        if deal is None:
            party_id = form.party_id()
            if party_id is None:
                raise ValidationFailed(
                    [
                        FridayError(
                            "Pick the customer from the list as you type.",
                            code="invalid.party",
                            field="party",
                        )
                    ]
                )
            try:
                party = party_get(user=request.user, party_id=party_id)
            except NotFound as exc:
                exc.field = "party"
                raise
            deal = services.deal_create(
                by=request.user, party=party, data=data, process_key=form.cleaned_data.get("process") or None
            )
            messages.success(request, f"{deal.title} is on the board.")
        else:
            services.deal_update(by=request.user, deal=deal, data=data)
            messages.success(request, "Your changes were saved.")
    except FridayError as exc:
        for e in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
            field = e.field if e.field in form.fields else None
            form.add_error(field, e.detail)
        return None
    return redirect(safe_next(request, reverse("deals:detail", args=[deal.pk])))


@login_required
@require_http_methods(["GET", "POST"])
def deal_create(request: AuthedRequest) -> HttpResponse:
    require_write(request.user)
    pipelines = list(selectors.deal_processes())
    if not pipelines:
        messages.error(request, "There is no sales pipeline yet: install one first.")
        return redirect("processes:list")
    initial: dict[str, Any] = {"owner": request.user.pk}
    party_id = request.GET.get("party", "")
    if party_id.isdigit():
        try:
            party = party_get(user=request.user, party_id=int(party_id))
            initial["party"] = f"{party.display_name} · #{party.pk}"
        except FridayError:
            pass
    form = DealForm(request.POST or None, pipelines=pipelines, initial=initial)
    if request.method == "POST" and form.is_valid():
        response = _save(request, form, None)
        if response:
            return response
    return render(
        request,
        "deals/form.html",
        {"form": form, "creating": True},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def deal_edit(request: AuthedRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, deal_id=deal_id)
    require_write(request.user)
    initial = {
        "title": deal.title,
        "value": deal.value if deal.value is not None else "",
        "currency": deal.currency,
        "expected_close": deal.expected_close,
        "owner": deal.owner_id,
        "notes": deal.notes,
    }
    form = DealForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        response = _save(request, form, deal)
        if response:
            return response
    return render(
        request,
        "deals/form.html",
        {"form": form, "deal": deal, "next": safe_next(request, "")},
        status=422 if request.method == "POST" else 200,
    )


@login_required
def deal_detail(request: AuthedRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, deal_id=deal_id)
    _annotate([deal])
    history = list(selectors.deal_history(deal=deal)[:100])
    labels = _labels_for([deal])
    for change in history:
        version_labels = labels.get(change.version_id) or stage_labels(change.version)
        labels[change.version_id] = version_labels
        change.from_label = version_labels.get(change.from_stage)  # type: ignore[attr-defined]
        change.to_label = version_labels.get(change.to_stage)  # type: ignore[attr-defined]
    return render(request, "deals/detail.html", {"deal": deal, "history": history})


@login_required
@require_http_methods(["GET", "POST"])
def deal_delete(request: AuthedRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, deal_id=deal_id)
    require_write(request.user)
    if request.method == "POST":
        services.deal_delete(by=request.user, deal=deal)
        messages.success(request, f"{deal.title} was deleted.")
        return redirect("deals:list")
    return render(request, "deals/confirm_delete.html", {"deal": deal})


@login_required
@require_http_methods(["GET", "POST"])
def deal_move(request: AuthedRequest, deal_id: int) -> HttpResponse:
    """Move a deal. From the board or the deal's buttons a POST moves at once; when the stage needs more
    (a checklist, a lost reason, a field) or the step is not declared, this page says what and why."""
    deal = selectors.deal_get(user=request.user, deal_id=deal_id)
    values = move_values(request)
    values["lost_reason"] = request.POST.get("lost_reason", "")
    values["lost_note"] = request.POST.get("lost_note", "")[:2000]
    back = safe_next(request, reverse("deals:detail", args=[deal.pk]))
    error: FridayError | None = None
    if request.method == "POST":
        reason = None
        if values["lost_reason"].isdigit():
            reason = LostReason.objects.filter(pk=int(values["lost_reason"])).first()
        try:
            change = services.deal_move(
                by=request.user,
                deal=deal,
                to=values["to"],
                lost_reason=reason,
                lost_note=values["lost_note"],
                reason=values["reason"],
                override=values["override"],
                checked=values["checked"],
            )
        except FridayError as exc:
            error = exc
        else:
            stage = change.version.definition.stage(change.to_stage)
            text = f"{deal.title} moved to {stage.name if stage else change.to_stage}."
            kind = records.kind_for(RecordType.DEAL)
            assert kind is not None
            messages.success(request, text + override_note(kind, deal, change))
            return redirect(back)
    kind = records.kind_for(RecordType.DEAL)
    assert kind is not None
    context = move_context(
        user=request.user,
        kind=kind,
        record=deal,
        version=deal.stage_version,
        current=deal.stage,
        to=values["to"],
        error=error,
        values=values,
        action=reverse("deals:move", args=[deal.pk]),
    )
    target = context["target_stage"]
    # The lost reason is asked on this page itself, not on the edit page.
    context["needs"] = [n for n in context["needs"] if n["field"] != "lost_reason"]
    context["needs_missing"] = any(not n["filled"] for n in context["needs"])
    context.update(
        record=deal,
        record_label=deal.title,
        back=back,
        next=back,
        lost_reasons=selectors.lost_reasons() if target is not None and target.kind == "lost" else None,
    )
    return render(request, "deals/move.html", context, status=422 if error else 200)


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Deals card on a party page: the party's deals the user may see, newest first."""
    qs = (
        selectors.deals_visible(user)
        .filter(party=party)
        .select_related("owner")
        .order_by("-created_at", "-id")
    )
    deals = list(qs[:10])
    _annotate(deals)
    count = qs.count() if len(deals) == 10 else len(deals)
    return {
        "deals": deals,
        "count": count,
        "more": count > 10,
        "can_add": selectors.deal_processes().exists(),
    }


# --- lost reasons ---------------------------------------------------------------------------------------------


def _reason_errors(exc: FridayError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
        out.setdefault(e.field or "general", []).append(e.detail)
    return out


@login_required
@require_http_methods(["GET", "POST"])
def lost_reason_list(request: AuthedRequest) -> HttpResponse:
    """The business's own list of why deals are lost: how often each was chosen; add one (managers, admins)."""
    errors: dict[str, list[str]] = {}
    name = ""
    if request.method == "POST":
        require_process_editor(request.user)
        name = request.POST.get("name", "")[:200]
        try:
            reason = services.lost_reason_save(by=request.user, name=name)
        except FridayError as exc:
            errors = _reason_errors(exc)
        else:
            messages.success(request, f"{reason.name} is on the list.")
            return redirect("deals:lost_reasons")
    reasons = selectors.lost_reasons(include_inactive=True).annotate(
        lost_deals=Count("deals", filter=Q(deals__in=selectors.deals_visible(request.user)))
    )
    return render(
        request,
        "deals/lost_reasons.html",
        {"reasons": reasons, "errors": errors, "name": name},
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def lost_reason_edit(request: AuthedRequest, reason_id: int) -> HttpResponse:
    """Rename a lost reason, or retire it (kept on the deals that have it, no longer offered) and restore it."""
    reason = LostReason.objects.filter(pk=reason_id).first()
    if reason is None:
        raise NotFound("No such lost reason.", code="lost_reason.not_found")
    errors: dict[str, list[str]] = {}
    name, active = reason.name, reason.active
    if request.method == "POST":
        require_process_editor(request.user)
        name, active = request.POST.get("name", "")[:200], request.POST.get("active") == "on"
        try:
            services.lost_reason_save(by=request.user, reason=reason, name=name, active=active)
        except FridayError as exc:
            errors = _reason_errors(exc)
        else:
            messages.success(request, "The lost reason was saved.")
            return redirect("deals:lost_reasons")
    return render(
        request,
        "deals/lost_reason_form.html",
        {"reason": reason, "values": {"name": name, "active": active}, "errors": errors},
        status=422 if errors else 200,
    )

"""Pages for the glossary, processes (list, flowchart, editor with live drawing and lint, versions) and moves."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts.models import User
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest, safe_next
from friday.processes import analytics, records, segments, selectors, services
from friday.processes.definition import PROCESS_SCHEMA, ProcessDefinition
from friday.processes.drawing import to_dot, to_mermaid
from friday.processes.forms import SegmentForm
from friday.processes.lint import ERROR
from friday.processes.models import Process, ProcessVersion, RecordType
from friday.processes.services import MoveRefused
from friday.processes.templates import STARTERS, starter, starter_text
from friday.processes.templatetags.stages import stage_labels

STARTER_BLURBS = {
    "lifecycle": "Suspect → prospect → qualified → customer → repeat customer → lapsed, each with a definition.",
    "sales": "Enquiry → survey → quoted → negotiating → won or lost, with a lost reason.",
    "jobs": "Booked → scheduled → in progress → quality check → complete → invoiced → paid.",
}


# --- glossary -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def glossary(request: AuthedRequest) -> HttpResponse:
    error: FridayError | None = None
    values: dict[str, Any] = {"name": "", "definition": "", "examples": ""}
    if request.method == "POST":
        values = _term_values(request)
        try:
            term = services.term_save(by=request.user, **values)
        except FridayError as exc:
            error = exc
        else:
            messages.success(request, f"{term.name} was added to the glossary.")
            return redirect("processes:glossary")
    return render(
        request,
        "processes/glossary.html",
        {"terms": selectors.term_list(), "values": values, "errors": _errors(error)},
        status=422 if error else 200,
    )


def _term_values(request: AuthedRequest) -> dict[str, Any]:
    return {
        "name": request.POST.get("name", "")[:200],
        "definition": request.POST.get("definition", "")[:4000],
        "examples": request.POST.get("examples", "")[:4000],
    }


def _errors(error: FridayError | None) -> dict[str, list[str]]:
    """Field → messages, for forms that show a service's refusal beside each field ("" for the whole form)."""
    if error is None:
        return {}
    out: dict[str, list[str]] = {}
    for e in error.errors if isinstance(error, ValidationFailed) else [error]:
        out.setdefault(e.field or "", []).append(e.detail)
    return out


@login_required
@require_http_methods(["GET", "POST"])
def term_edit(request: AuthedRequest, term_id: int) -> HttpResponse:
    term = selectors.term_get(term_id=term_id)
    services.require_process_editor(request.user)
    error = None
    values: dict[str, Any] = {
        "name": term.name,
        "definition": term.definition,
        "examples": term.examples,
    }
    if request.method == "POST":
        if request.POST.get("action") == "delete":
            try:
                services.term_delete(by=request.user, term=term)
            except FridayError as exc:
                error = exc
            else:
                messages.success(request, f"{term.name} was removed from the glossary.")
                return redirect("processes:glossary")
        else:
            values = _term_values(request)
            try:
                services.term_save(by=request.user, term=term, **values)
            except FridayError as exc:
                error = exc
            else:
                messages.success(request, "The definition was saved; every page shows it now.")
                return redirect("processes:glossary")
    owner = services.term_owner(term)
    return render(
        request,
        "processes/term_form.html",
        {"term": term, "values": values, "errors": _errors(error), "owner": owner},
        status=422 if error else 200,
    )


# --- processes ------------------------------------------------------------------------------------------------


@login_required
def process_list(request: AuthedRequest) -> HttpResponse:
    processes = list(selectors.process_list())
    installed = {p.key for p in processes}
    starters = []
    for name in STARTERS:
        definition = starter(name)
        if definition.key not in installed:
            starters.append({"name": name, "definition": definition, "blurb": STARTER_BLURBS[name]})
    lifecycle_taken = any(p.applies_to == RecordType.PARTY for p in processes)
    return render(
        request,
        "processes/list.html",
        {"processes": processes, "starters": starters, "lifecycle_taken": lifecycle_taken},
    )


@login_required
@require_POST
def starter_install(request: AuthedRequest, name: str) -> HttpResponse:
    if name not in STARTERS:
        messages.error(request, f"There is no starter called {name!r}.")
        return redirect("processes:list")
    try:
        process, _ = services.process_import(by=request.user, source=starter_text(name), note="Starter")
    except FridayError as exc:
        messages.error(request, exc.detail)
        return redirect("processes:list")
    messages.success(request, f"{process.name} is installed. Read it through and make it yours.")
    return redirect("processes:detail", key=process.key)


@login_required
@require_http_methods(["GET", "POST"])
def process_new(request: AuthedRequest) -> HttpResponse:
    services.require_process_editor(request.user)
    source = (
        request.POST.get("source", "")
        if request.method == "POST"
        else _blank(request.GET.get("applies_to", ""))
    )
    error = None
    if request.method == "POST":
        try:
            process = services.process_create(by=request.user, source=source)
        except FridayError as exc:
            error = exc
        else:
            messages.success(request, "Saved as a draft. Publish it when the check is clean.")
            return redirect("processes:edit", key=process.key)
    return render(
        request,
        "processes/editor.html",
        {"process": None, "source": source, "check": _check(source, new=True), "errors": _errors(error)},
        status=422 if error else 200,
    )


def _blank(applies_to: str) -> str:
    kind = applies_to if applies_to in RecordType.values else "deal"
    return (
        f"process: my_{kind}_process\nname: My {kind} process\napplies_to: {kind}\ninitial: first\nstages:\n"
        "- key: first\n  name: First stage\n  definition: What must be true of a record here.\n  kind: open\n"
        "  owner_role: member\n- key: done\n  name: Done\n  definition: The work is finished.\n  kind: done\n"
        "transitions:\n- {from: first, to: done}\n"
    )


def _check(source: str, process: Any = None, *, new: bool = False) -> dict[str, Any]:
    """What the editor shows beside the text: read errors with lines, or the lint and the drawing — and, as
    saving would, whether the file fits where it goes (the draft of `process`, or a `new` process)."""
    try:
        definition = services.parse(source)
    except ValidationFailed as exc:
        return {"read_errors": exc.errors, "findings": [], "mermaid": "", "ok": False}
    findings = services.process_lint(definition)
    placement = services.placement_problems(definition, process) if process is not None or new else []
    return {
        "read_errors": placement,
        "findings": findings,
        "mermaid": to_mermaid(definition),
        "ok": not placement and not any(f.severity == ERROR for f in findings),
        "definition": definition,
    }


@login_required
def process_detail(request: AuthedRequest, key: str) -> HttpResponse:
    process = selectors.process_get(key=key)
    version: ProcessVersion | None = process.current
    context: dict[str, Any] = {"process": process, "version": version}
    if version is not None:
        definition = version.definition
        context.update(
            definition=definition,
            mermaid=to_mermaid(definition),
            labels=stage_labels(version),
            findings=services.process_lint(definition),
            transitions_out=_transitions_out(definition),
        )
    versions = list(process.versions.select_related("published_by").order_by("-number"))
    kind = records.kind_for(process.applies_to)
    if version is not None:
        names = {n for s in version.definition.stages for n in s.requires}
        names |= {n for t in version.definition.transitions for n in t.requires}
        context["field_labels"] = {n: records.requirement_label(kind, n) if kind else n for n in names}
    behind = []
    if kind is not None and version is not None:
        for v in versions:
            if v.pk != version.pk:
                count = kind.state_model._default_manager.filter(stage_version_id=v.pk).count()
                if count:
                    in_use = sorted(
                        set(
                            kind.state_model._default_manager.filter(stage_version_id=v.pk)
                            .values_list("stage", flat=True)
                            .distinct()
                        )
                    )
                    behind.append({"version": v, "count": count, "stages": in_use})
    context.update(
        versions=versions,
        behind=behind,
        record_kind_installed=kind is not None,
        migrations=process.migrations.select_related("from_version", "to_version", "by").order_by("-at")[:20],
    )
    return render(request, "processes/detail.html", context)


def _transitions_out(definition: ProcessDefinition) -> dict[str, list[str]]:
    names = {s.key: s.name for s in definition.stages}
    out: dict[str, list[str]] = {s.key: [] for s in definition.stages}
    for t in definition.transitions:
        out.setdefault(t.source, []).append(
            names.get(t.target, t.target) + (f" ({t.label})" if t.label else "")
        )
    return out


@login_required
@require_http_methods(["GET", "POST"])
def process_edit(request: AuthedRequest, key: str) -> HttpResponse:
    process = selectors.process_get(key=key)
    services.require_process_editor(request.user)
    source = process.draft or (process.current.source if process.current else "")
    error: FridayError | None = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        source = request.POST.get("source", source)
        try:
            if action == "discard":
                services.process_draft_discard(by=request.user, process=process)
                messages.success(request, "The draft was thrown away.")
                return redirect("processes:detail", key=process.key)
            saved = services.process_draft_save(
                by=request.user, process=process, source=source, unfinished=action != "publish"
            )
            if saved is None:
                messages.warning(
                    request,
                    "Draft saved, unfinished: it does not read yet (see below). Fix it before publishing.",
                )
                return redirect("processes:edit", key=process.key)
            if action == "publish":
                version = services.process_publish(
                    by=request.user, process=process, note=request.POST.get("note", "")[:200]
                )
                messages.success(request, f"Version {version.number} is published.")
                return redirect("processes:detail", key=process.key)
            messages.success(request, "Draft saved. Records are not affected until you publish.")
            return redirect("processes:edit", key=process.key)
        except FridayError as exc:
            error = exc
    return render(
        request,
        "processes/editor.html",
        {"process": process, "source": source, "check": _check(source, process), "errors": _errors(error)},
        status=422 if error else 200,
    )


@login_required
def process_draft(request: AuthedRequest, key: str) -> HttpResponse:
    """The draft's effect before it is published: lint, both flowcharts, what changes and which records it
    would strand. Publishing (or discarding) is the one explicit step at the bottom."""
    from friday.processes.sandbox import draft_review

    process = selectors.process_get(key=key)
    services.require_process_editor(request.user)
    if not process.draft.strip():
        messages.info(request, f"{process.name} has no draft: edit it to start one.")
        return redirect("processes:detail", key=process.key)
    review = draft_review(process, user=request.user)
    current = process.current.definition if process.current else None
    return render(
        request,
        "processes/draft.html",
        {
            "process": process,
            "review": review,
            "mermaid_current": to_mermaid(current) if current else "",
            "mermaid_draft": to_mermaid(review.definition) if review.definition else "",
            "versions": list(process.versions.select_related("published_by").order_by("-number")[:10]),
        },
    )


@login_required
@require_POST
def process_draft_act(request: AuthedRequest, key: str) -> HttpResponse:
    """Publish or discard the saved draft (from its review page or the sandbox)."""
    process = selectors.process_get(key=key)
    services.require_process_editor(request.user)
    action = request.POST.get("action", "")
    back = reverse("processes:draft", args=[process.key])
    try:
        if action == "publish":
            from friday.processes.sandbox import draft_go_live

            stage_map = None
            if request.POST.get("move") == "1":
                stage_map = {
                    name.removeprefix("map_"): str(request.POST.get(name, ""))
                    for name in request.POST
                    if name.startswith("map_") and request.POST.get(name)
                }
            version, migration = draft_go_live(
                by=request.user, process=process, note=request.POST.get("note", ""), stage_map=stage_map
            )
            if migration is not None:
                messages.success(
                    request,
                    f"Version {version.number} of {process.name} is published and its {migration.records} "
                    f"record{'s' if migration.records != 1 else ''} moved to it.",
                )
            else:
                messages.success(
                    request,
                    f"Version {version.number} of {process.name} is published. Records stay where they are "
                    "until you move them (see “Records on older versions”).",
                )
            return redirect(safe_next(request, reverse("processes:detail", args=[process.key])))
        if action == "discard":
            services.process_draft_discard(by=request.user, process=process)
            messages.success(request, f"The draft of {process.name} was thrown away.")
            return redirect(safe_next(request, reverse("processes:detail", args=[process.key])))
        raise FridayError("Publish or discard.", code="invalid.action", field="action")
    except FridayError as exc:
        details = exc.errors if isinstance(exc, ValidationFailed) else [exc]
        messages.error(request, " ".join(e.detail for e in details))
        return redirect(back if process.draft.strip() else reverse("processes:detail", args=[process.key]))


@login_required
@require_POST
def process_check(request: AuthedRequest) -> HttpResponse:
    """The live part of the editor: read and lint the text as typed, draw it. Saves nothing."""
    key = request.POST.get("for", "")[:100]
    process = Process.objects.filter(key=key).first() if key and key != "new" else None
    check = _check(request.POST.get("source", ""), process, new=key == "new")
    return render(request, "processes/_check.html", {"check": check})


@login_required
def process_export(request: AuthedRequest, key: str, fmt: str) -> HttpResponse:
    if fmt not in ("yaml", "mermaid", "dot"):
        raise Http404("Export as yaml, mermaid or dot.")
    process = selectors.process_get(key=key)
    number = request.GET.get("version", "")
    version = selectors.version_get(process=process, number=int(number) if number.isdigit() else None)
    if fmt == "yaml":
        body, content_type, ext = version.source, "application/yaml", "yaml"
    elif fmt == "mermaid":
        body, content_type, ext = to_mermaid(version.definition), "text/plain", "mmd"
    else:
        body, content_type, ext = to_dot(version.definition), "text/vnd.graphviz", "dot"
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{process.key}-v{version.number}.{ext}"'
    return response


@login_required
def process_schema(request: AuthedRequest) -> HttpResponse:
    import json

    return HttpResponse(json.dumps(PROCESS_SCHEMA, indent=2), content_type="application/schema+json")


@login_required
@require_POST
def process_migrate(request: AuthedRequest, key: str) -> HttpResponse:
    process = selectors.process_get(key=key)
    number = request.POST.get("from_version", "")
    try:
        version = selectors.version_get(process=process, number=int(number) if number.isdigit() else -1)
        stage_map = {
            name.removeprefix("map_"): str(request.POST.get(name, ""))
            for name in request.POST
            if name.startswith("map_") and request.POST.get(name)
        }
        migration = services.process_migrate(
            by=request.user, process=process, from_version=version, stage_map=stage_map
        )
    except FridayError as exc:
        details = exc.errors if isinstance(exc, ValidationFailed) else [exc]
        messages.error(request, " ".join(e.detail for e in details))
    else:
        messages.success(
            request,
            f"{migration.records} record{'s' if migration.records != 1 else ''} moved to version "
            f"{migration.to_version.number}.",
        )
    return redirect("processes:detail", key=process.key)


# --- moves ----------------------------------------------------------------------------------------------------


def _edit_url(kind: records.RecordKind, record: Any, back: str) -> str:
    url = kind.edit_url(record)
    return f"{url}?{urlencode({'next': back})}" if url else ""


def move_context(
    *,
    user: User,
    kind: records.RecordKind,
    record: Any,
    version: ProcessVersion,
    current: str | None,
    to: str,
    error: FridayError | None,
    values: dict[str, Any] | None = None,
    action: str,
) -> dict[str, Any]:
    """What the move page shows: the stages it may go to (every stage, marked, for someone who may override),
    the chosen one with its definition, what it needs and which of that is filled, and why a move was refused."""
    definition = version.definition
    labels = stage_labels(version)
    allowed = services.allowed_next(definition, current)
    to = to or (allowed[0] if allowed else "")
    target = definition.stage(to)
    transition = next((t for t in definition.transitions if t.source == current and t.target == to), None)
    others = (
        [labels[s.key] for s in definition.stages if s.key not in allowed and s.key != current]
        if user.can_override_process
        else []
    )
    names = list(
        dict.fromkeys([*(target.requires if target else ()), *(transition.requires if transition else ())])
    )
    needs = [
        {
            "field": name,
            "label": records.requirement_label(kind, name),
            "filled": records.requirement_missing(kind, record, name) is None,
        }
        for name in names
    ]
    values = {**(values or {}), "to": to}
    return {
        "version": version,
        "current": labels.get(current or ""),
        "target": labels.get(to),
        "target_stage": target,
        "declared": to in allowed,
        "needs": needs,
        "needs_missing": any(not n["filled"] for n in needs),
        "edit_url": _edit_url(kind, record, f"{action}?{urlencode({'to': to})}"),
        "allowed": [labels[k] for k in allowed if k in labels],
        "others": others,
        "refused": isinstance(error, MoveRefused),
        "errors": _errors(error),
        "values": values,
        "action": action,
    }


def override_note(kind: records.RecordKind, record: Any, change: Any) -> str:
    """After an override, say what the stage asks for that is still missing — it was skipped, not filled."""
    if not change.overridden:
        return ""
    definition = change.version.definition
    target = definition.stage(change.to_stage)
    transition = next(
        (t for t in definition.transitions if t.source == change.from_stage and t.target == change.to_stage),
        None,
    )
    names = dict.fromkeys(
        [*(target.requires if target else ()), *(transition.requires if transition else ())]
    )
    missing = [
        records.requirement_label(kind, n) for n in names if records.requirement_missing(kind, record, n)
    ]
    note = " The process was overridden (recorded with your reason)."
    return note + (f" Still missing: {', '.join(missing)}." if missing else "")


def move_values(request: AuthedRequest) -> dict[str, Any]:
    """The move form as sent: by POST to move, by GET when the chosen stage changes (to show what it needs)."""
    data = request.POST if request.method == "POST" else request.GET
    return {
        "to": data.get("to", "")[:100],
        "reason": data.get("reason", "")[:2000],
        "override": data.get("override") == "on",
        "checked": [c[:200] for c in data.getlist("checked")][:100],
    }


@login_required
@require_http_methods(["GET", "POST"])
def party_move(request: AuthedRequest, party_id: int) -> HttpResponse:
    """Move a party through the customer lifecycle (or put it in, at the start)."""
    kind = records.kind_for(RecordType.PARTY)
    assert kind is not None
    party = kind.get(request.user, party_id)
    values = move_values(request)
    error: FridayError | None = None
    if request.method == "POST":
        try:
            change = services.stage_move(
                by=request.user,
                record_type=RecordType.PARTY,
                record=party,
                to=values["to"],
                reason=values["reason"],
                override=values["override"],
                checked=values["checked"],
            )
        except FridayError as exc:
            error = exc
        else:
            name = change.version.definition.stage(change.to_stage)
            text = f"{party} is now {name.name if name else change.to_stage}."
            messages.success(request, text + override_note(kind, party, change))
            return redirect("parties:detail", party_id=party.pk)
    state = kind.state(party)
    if state is not None:
        version = ProcessVersion.objects.get(pk=state.version_id)
    else:
        process = services.lifecycle_process()
        if process is None or process.current is None:
            messages.error(request, "There is no customer lifecycle yet: install one on the Processes page.")
            return redirect("processes:list")
        version = process.current
    context = move_context(
        user=request.user,
        kind=kind,
        record=party,
        version=version,
        current=state.stage if state else None,
        to=values["to"],
        error=error,
        values=values,
        action=reverse("processes:party_move", args=[party.pk]),
    )
    context.update(record=party, record_label=str(party), back=reverse("parties:detail", args=[party.pk]))
    return render(request, "processes/move.html", context, status=422 if error else 200)


# --- analytics ------------------------------------------------------------------------------------------------


@login_required
def process_analytics(request: AuthedRequest, key: str) -> HttpResponse:
    process = selectors.process_get(key=key)
    services.require_analytics(request.user)
    if process.current is None:
        messages.error(request, f"{process.name} is not published yet.")
        return redirect("processes:detail", key=process.key)
    since, until = analytics.date_range(request.GET.get("since", ""), request.GET.get("until", ""))
    start, end = analytics.range_bounds(since, until)
    rows = analytics.funnel(process, start, end)
    edges = analytics.discovered_edges(process, start, end)
    widest = max([r.entered for r in rows] + [1])
    return render(
        request,
        "processes/analytics.html",
        {
            "process": process,
            "since": since,
            "until": until,
            "funnel": rows,
            "widest": widest,
            "labels": stage_labels(process.current),
            "conformance": analytics.conformance(process, start, end),
            "stuck": analytics.stuck(process),
            "has_limits": any(s.time_limit_days for s in process.current.definition.stages),
            "declared": to_mermaid(process.current.definition),
            "discovered": analytics.discovered_mermaid(process, edges) if edges else "",
        },
    )


# --- segments -------------------------------------------------------------------------------------------------


def _stage_choices() -> list[tuple[str, str]]:
    from friday.processes.templatetags.stages import lifecycle_options

    return lifecycle_options()


@login_required
def segment_list(request: AuthedRequest) -> HttpResponse:
    rows = []
    for segment in segments.segments_visible(request.user).order_by("name"):
        rows.append((segment, segments.segment_count(user=request.user, filters=segment.filters)))
    return render(request, "processes/segments.html", {"rows": rows})


def _segment_form_page(request: AuthedRequest, segment=None) -> HttpResponse:
    initial = SegmentForm.initial_from(segment) if segment else {"shared": True}
    form = SegmentForm(request.POST or None, initial=initial, stage_choices=_stage_choices())
    error: FridayError | None = None
    if request.method == "POST":
        if request.POST.get("action") == "delete" and segment is not None:
            try:
                segments.segment_delete(by=request.user, segment=segment)
            except FridayError as exc:
                error = exc
            else:
                messages.success(request, f"{segment.name} was deleted.")
                return redirect("processes:segments")
        elif form.is_valid():
            try:
                saved = segments.segment_save(
                    by=request.user,
                    segment=segment,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    filters=form.to_filters(),
                    shared=form.cleaned_data["shared"],
                )
            except FridayError as exc:
                error = exc
            else:
                messages.success(request, f"{saved.name} is saved.")
                return redirect(f"{reverse('parties:list')}?segment={saved.pk}")
    count = None
    if form.is_bound and form.is_valid():
        try:
            count = segments.segment_count(
                user=request.user, filters=segments.clean_filters(form.to_filters())
            )
        except FridayError:
            count = None
    elif segment is not None:
        count = segments.segment_count(user=request.user, filters=segment.filters)
    return render(
        request,
        "processes/segment_form.html",
        {"form": form, "segment": segment, "errors": _errors(error), "count": count},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def segment_new(request: AuthedRequest) -> HttpResponse:
    return _segment_form_page(request)


@login_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: AuthedRequest, segment_id: int) -> HttpResponse:
    return _segment_form_page(request, segments.segment_get(user=request.user, segment_id=segment_id))


@login_required
@require_POST
def segment_preview(request: AuthedRequest) -> HttpResponse:
    """The live count beside the filter builder: how many parties (that you can see) match as you choose."""
    form = SegmentForm(request.POST, stage_choices=_stage_choices())
    form.is_valid()  # the name may be empty while building: count what is there
    count, problem = None, ""
    # A filter the form refused is not silently left out of the count: say which, and count nothing.
    refused = [
        f"{form.fields[name].label or name}: {' '.join(str(m) for m in messages_)}"
        for name, messages_ in form.errors.items()
        if name not in ("name", "__all__")
    ]
    if refused:
        return render(request, "processes/_segment_count.html", {"count": None, "problem": " ".join(refused)})
    try:
        filters = form.to_filters() if hasattr(form, "cleaned_data") else {}
        count = segments.segment_count(user=request.user, filters=segments.clean_filters(filters))
    except ValidationFailed as exc:
        problem = " ".join(e.detail for e in exc.errors)
    return render(request, "processes/_segment_count.html", {"count": count, "problem": problem})

"""Import pages: upload, map and preview, run (or dry-run) with a progress bar, the summary, failed rows, undo."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from friday.core.csvout import csv_response
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest
from friday.imports import mapping, selectors, services
from friday.imports.models import DateOrder, ImportMapping, ImportStatus, MatchOn, OnMatch
from friday.parties.models import CustomField, RoleName


def _targets() -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of the column selects, grouped."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for target in [*mapping.TARGETS, *mapping.custom_targets(CustomField.objects.all())]:
        groups.setdefault(target.group, []).append((target.key, target.label))
    return list(groups.items())


@login_required
def import_list(request: AuthedRequest) -> HttpResponse:
    page = selectors.import_list(user=request.user, cursor=request.GET.get("cursor"))
    return render(
        request,
        "imports/list.html",
        {"page": page, "mappings": selectors.mappings_all(), "error": None},
    )


@login_required
@require_POST
def import_upload(request: AuthedRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    saved = None
    if request.POST.get("mapping", "").isdigit():
        saved = ImportMapping.objects.filter(pk=int(request.POST["mapping"])).first()
    error: FridayError | None = None
    if upload is None:
        error = FridayError("Choose a file to import.", code="invalid.required", field="file")
    else:
        try:
            job = services.import_upload(
                by=request.user,
                upload=upload,
                filename=upload.name or "import",
                size=upload.size or 0,
                saved_mapping=saved,
            )
            return redirect("imports:detail", job_id=job.pk)
        except FridayError as exc:
            error = exc
    page = selectors.import_list(user=request.user)
    context = {"page": page, "mappings": selectors.mappings_all(), "error": error}
    status = error.status if error is not None and error.status in (403, 404) else 422
    return render(request, "imports/list.html", context, status=status)


def _draft_context(request: AuthedRequest, job, errors: list[FridayError] | None = None) -> dict[str, Any]:
    preview = services.import_preview(by=request.user, job=job)
    labels = {t.key: t.label for t in [*mapping.TARGETS, *mapping.custom_targets(CustomField.objects.all())]}
    return {
        "job": job,
        "preview": preview,
        "columns": [(h, t, labels.get(t, t)) for h, t in zip(job.headers, job.mapping, strict=False)],
        "targets": _targets(),
        "labels": labels,
        "match_choices": MatchOn.choices,
        "on_match_choices": OnMatch.choices,
        "date_orders": DateOrder.choices,
        "role_choices": RoleName.choices,
        "encodings": ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "cp1250", "cp1251", "mac_roman"],
        "delimiters": [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "bar")],
        "errors": errors or [],
        "mappings": selectors.mappings_all(),
    }


@login_required
def import_detail(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    if job.status == ImportStatus.DRAFT:
        return render(request, "imports/draft.html", _draft_context(request, job))
    return render(request, "imports/detail.html", _run_context(job, request.user))


def _run_context(job, user=None) -> dict[str, Any]:
    return {
        "job": job,
        "kept": selectors.undo_kept(user=user, job=job) if user is not None else [],
        "failures": selectors.failures_first(job)
        if job.is_finished or job.status == ImportStatus.UNDOING
        else [],
        "stale": services.is_stuck(job),
    }


@login_required
def import_progress(request: AuthedRequest, job_id: int) -> HttpResponse:
    """The progress box, polled by the page every second while the import runs."""
    job = selectors.import_get(user=request.user, job_id=job_id)
    response = render(request, "imports/_progress.html", _run_context(job))
    if job.is_finished and request.GET.get("was") in ("queued", "running", "undoing"):
        response["HX-Refresh"] = "true"  # the summary page has more than the box: reload it once
    return response


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


@login_required
@require_POST
def import_configure(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    columns = [request.POST.get(f"col-{i}", "") for i in range(len(job.headers))]
    data = services.Settings(
        mapping=columns,
        match_on=request.POST.get("match_on", ""),
        on_match=request.POST.get("on_match", OnMatch.SKIP),
        date_order=request.POST.get("date_order", job.date_order),
        source=request.POST.get("source", job.source),
        encoding=request.POST.get("encoding", ""),
        delimiter=request.POST.get("delimiter", ""),
        # The form's "every row" part (absent from a post that does not show it: leave the job's as they are).
        roles=request.POST.getlist("add_role") if "every_row" in request.POST else None,
        tags=_split(request.POST.get("add_tags", "")) if "every_row" in request.POST else None,
    )
    errors: list[FridayError] = []
    status = 200
    try:
        job = services.import_configure(by=request.user, job=job, data=data)
    except ValidationFailed as exc:
        errors, status = exc.errors, 422
        job.mapping = columns
    except FridayError as exc:
        errors, status = [exc], 422
    if request.POST.get("then") in ("dry_run", "run") and not errors:
        try:
            job = services.import_start(by=request.user, job=job, dry_run=request.POST["then"] == "dry_run")
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        except FridayError as exc:
            errors, status = [exc], 422
        else:
            url = reverse("imports:detail", args=[job.pk])
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    template = "imports/_draft_body.html" if request.htmx else "imports/draft.html"
    return render(request, template, _draft_context(request, job, errors), status=status)


@login_required
@require_POST
def import_run(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    job = services.import_start(by=request.user, job=job, dry_run=request.POST.get("dry_run") == "1")
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_POST
def import_resume(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    services.import_resume(by=request.user, job=job)
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_POST
def import_undo(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    services.import_undo_request(by=request.user, job=job)
    messages.info(request, f"Import #{job.pk} is being undone.")
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_POST
def import_discard(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    services.import_discard(by=request.user, job=job)
    messages.success(request, f"{job.filename} discarded: nothing was imported from it.")
    return redirect("imports:list")


@login_required
def import_failures(request: AuthedRequest, job_id: int) -> StreamingHttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    return csv_response(
        f"import-{job.pk}-failed-rows.csv", services.failures_header(job), services.failures_rows(job)
    )


@login_required
@require_POST
def mapping_save(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    saved = services.mapping_save(by=request.user, job=job, name=request.POST.get("name", ""))
    messages.success(request, f"Mapping saved as {saved.name!r}.")
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_POST
def mapping_apply(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = selectors.import_get(user=request.user, job_id=job_id)
    saved = ImportMapping.objects.filter(pk=request.POST.get("mapping") or 0).first()
    if saved is not None:
        services.mapping_apply(by=request.user, job=job, saved=saved)
    return redirect("imports:detail", job_id=job.pk)


@login_required
@require_POST
def mapping_delete(request: AuthedRequest, mapping_id: int) -> HttpResponse:
    saved = ImportMapping.objects.filter(pk=mapping_id).first()
    if saved is not None:
        services.mapping_delete(by=request.user, saved=saved)
        messages.success(request, f"Mapping {saved.name!r} deleted.")
    return redirect("imports:list")

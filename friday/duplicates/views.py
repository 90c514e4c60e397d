"""Duplicate pages: the list of likely pairs, and the side-by-side merge. Parse, call one selector or service,
render; refusals show beside their fields."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts.scoping import require_write
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest, safe_next
from friday.duplicates import selectors, services
from friday.duplicates.tasks import duplicates_scan


def _int(value: str, default: int = 0) -> int:
    return int(value) if value.isdigit() else default


@login_required
def pair_list(request: AuthedRequest) -> HttpResponse:
    reason = request.GET.get("reason", "")[:20]
    minimum = _int(request.GET.get("min", ""), 0)
    dismissed = request.GET.get("dismissed") == "1"
    error, page = None, None
    try:
        page = selectors.pair_list(
            user=request.user,
            cursor=request.GET.get("cursor"),
            limit=50,
            reason=reason,
            min_score=minimum,
            dismissed=dismissed,
        )
    except FridayError as exc:
        error = exc
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("after", None)
    scan = selectors.scan_latest()
    # Just asked for a scan (`after` = the scan before it): the page refreshes itself until a newer one is done.
    after = request.GET.get("after", "")
    waiting = after.isdigit() and (scan is None or scan.pk <= int(after) or scan.finished_at is None)
    return render(
        request,
        "duplicates/list.html",
        {
            "page": page,
            "error": error,
            "reason": reason,
            "minimum": minimum,
            "dismissed": dismissed,
            "query": query.urlencode(),
            "scan": scan,
            "waiting": waiting,
            "reasons": [
                ("", "Any reason"),
                ("email", "Same email"),
                ("phone", "Same phone"),
                ("name", "Similar name in an organisation"),
                ("org_name", "Similar organisation name"),
            ],
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def scan_now(request: AuthedRequest) -> HttpResponse:
    require_write(request.user)
    full = request.POST.get("full") == "1"
    before = selectors.scan_latest()
    duplicates_scan.enqueue(full=full, by_id=request.user.pk)
    messages.success(
        request,
        "A full scan was queued: the list refreshes when it finishes."
        if full
        else "A scan of what changed since the last one was queued: the list refreshes when it finishes.",
    )
    return redirect(f"{reverse('duplicates:list')}?after={before.pk if before else 0}")


@login_required
@require_POST
def pair_dismiss(request: AuthedRequest, pair_id: int) -> HttpResponse:
    pair = selectors.pair_get(user=request.user, pair_id=pair_id)
    services.pair_dismiss(by=request.user, pair=pair)
    messages.success(
        request,
        f"{pair.party_a.display_name} and {pair.party_b.display_name} are marked as not duplicates.",
    )
    return redirect(safe_next(request, reverse("duplicates:list")))


@login_required
@require_POST
def pair_restore(request: AuthedRequest, pair_id: int) -> HttpResponse:
    pair = selectors.pair_get(user=request.user, pair_id=pair_id)
    services.pair_restore(by=request.user, pair=pair)
    messages.success(
        request, f"{pair.party_a.display_name} and {pair.party_b.display_name} are back on the list."
    )
    return redirect(safe_next(request, reverse("duplicates:list") + "?dismissed=1"))


@login_required
@require_http_methods(["GET", "POST"])
def merge(request: AuthedRequest) -> HttpResponse:
    """/parties/duplicates/merge/?survivor=A&other=B: both side by side; posting merges B into A."""
    data = request.POST if request.method == "POST" else request.GET
    survivor_id, other_id = _int(data.get("survivor", "")), _int(data.get("other", ""))
    preview = selectors.merge_preview(user=request.user, survivor_id=survivor_id, other_id=other_id)
    errors: dict[str, str] = {}
    refused = False
    if request.method == "POST":
        choices = services.MergeChoices(
            fields={
                row.name: request.POST[f"field_{row.name}"][:20]
                for row in preview.fields
                if f"field_{row.name}" in request.POST
            },
            custom={
                row.name: request.POST[f"custom_{row.name}"][:20]
                for row in preview.custom
                if f"custom_{row.name}" in request.POST
            },
            primary_email=request.POST.get("primary_email") or None,
            primary_phone=request.POST.get("primary_phone") or None,
        )
        for row in preview.fields:
            row.chosen = choices.fields.get(row.name, row.default)
        for row in preview.custom:
            row.chosen = choices.custom.get(row.name, row.default)
        preview.emails = (
            [(a, w, a == choices.primary_email) for a, w, _ in preview.emails]
            if choices.primary_email
            else preview.emails
        )
        preview.phones = (
            [(n, d, n == choices.primary_phone) for n, d, _ in preview.phones]
            if choices.primary_phone
            else preview.phones
        )
        try:
            record = services.party_merge(
                by=request.user, survivor=preview.survivor, other=preview.other, choices=choices
            )
        except ValidationFailed as exc:
            refused = True
            errors = {e.field or "": e.detail for e in exc.errors}
            for row in preview.fields:
                row.error = errors.pop(f"choices.fields.{row.name}", "")
            for row in preview.custom:
                row.error = errors.pop(f"choices.custom.{row.name}", "")
        else:
            moved = sum(record.moved.values())
            messages.success(
                request,
                f"{record.other_name} (#{record.other_id}) was merged into this record: "
                f"{moved} record{'' if moved == 1 else 's'} moved here.",
            )
            return redirect("parties:detail", party_id=preview.survivor.pk)
    return render(
        request,
        "duplicates/merge.html",
        {
            "p": preview,
            "errors": errors,
            "refused": refused,
            "kind_mismatch": preview.survivor.kind != preview.other.kind,
        },
        status=422 if refused else 200,
    )

"""Party pages: parse the form, call one selector or service, render. Refusals show beside their fields."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts.models import Team, User
from friday.accounts.scoping import require_admin
from friday.core import clock, export
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest, safe_next
from friday.parties import selectors, services, vcard
from friday.parties.forms import ActivityForm, CustomFieldForm, HandoverForm, PartyForm
from friday.parties.models import PartyKind, RoleName, Tag


def _filters(request: AuthedRequest) -> selectors.PartyFilters:
    def as_int(name: str) -> int | None:
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() else None

    return selectors.PartyFilters(
        q=request.GET.get("q", "")[:100],
        kind=request.GET.get("kind", ""),
        role=request.GET.get("role", ""),
        tag=request.GET.get("tag", "")[:60],
        owner_id=as_int("owner"),
        team_id=as_int("team"),
        extra={name: request.GET[name][:100] for name in selectors.EXTRA_FILTERS if request.GET.get(name)},
    )


@login_required
def party_list(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    filters = _filters(request)
    sort = request.GET.get("sort", "name")
    error = None
    try:
        page = selectors.party_list(
            user=request.user, filters=filters, sort=sort, cursor=request.GET.get("cursor"), limit=50
        )
    except FridayError as exc:
        error, page = exc, None
    fmt = export.requested(request)
    if fmt and error is None:  # the filters were good for the page: the same filters, every row
        return _export(request, fmt, filters, sort)
    if request.GET.get("format") == "vcf" and error is None:
        response = StreamingHttpResponse(
            vcard.cards(user=request.user, filters=filters, sort=sort), content_type=vcard.CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="parties-{clock.today():%Y-%m-%d}.vcf"'
        return response
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("format", None)
    context = {
        "page": page,
        "error": error,
        "filters": filters,
        "sort": sort,
        "query": query.urlencode(),
        "sorts": [
            ("name", "Name A–Z"),
            ("-name", "Name Z–A"),
            ("-updated", "Recently changed"),
            ("-created", "Newest"),
            ("created", "Oldest"),
        ],
        "kinds": PartyKind.choices,
        "roles": RoleName.choices,
        "owners": User.objects.filter(is_active=True).order_by("username"),
        "teams": Team.objects.all(),
        "tags": Tag.objects.order_by("slug")[:200],
    }
    template = (
        "parties/_results.html" if request.htmx and request.htmx.target == "results" else "parties/list.html"
    )
    return render(request, template, context, status=400 if error else 200)


def _export(
    request: AuthedRequest, fmt: str, filters: selectors.PartyFilters, sort: str
) -> HttpResponse | StreamingHttpResponse:
    """The list as filtered, every row of it (not one page), with the fields a contacts export needs."""
    fields = list(selectors.custom_field_list())
    columns = [
        # The id a re-import of this file matches on (as the vCard's UID): this install's record, never another's.
        export.Column("id", lambda r: vcard.uid(r[0].id)),
        export.Column("kind", lambda r: r[0].kind),
        export.Column("name", lambda r: r[0].display_name),
        export.Column("given name", lambda r: r[1]["given_name"]),
        export.Column("family name", lambda r: r[1]["family_name"]),
        export.Column("email", lambda r: r[0].email),
        export.Column("other emails", lambda r: " ::: ".join(r[1]["emails"][1:])),
        export.Column("phone", lambda r: r[0].phone),
        export.Column("other phones", lambda r: " ::: ".join(r[1]["phones"][1:])),
        export.Column("organisation", lambda r: r[1]["organisation"]),
        export.Column("job title", lambda r: r[1]["job_title"]),
        export.Column("street", lambda r: _address(r, "street")),
        export.Column("city", lambda r: _address(r, "city")),
        export.Column("region", lambda r: _address(r, "region")),
        export.Column("postcode", lambda r: _address(r, "postcode")),
        export.Column("country", lambda r: _address(r, "country")),
        export.Column("roles", lambda r: ", ".join(r[0].roles)),
        export.Column("tags", lambda r: ", ".join(r[0].tags)),
        export.Column("owner", lambda r: (r[0].owner or {}).get("name", "")),
        export.Column("team", lambda r: (r[0].team or {}).get("name", "")),
        export.Column("birthday", lambda r: r[1]["birthday"]),
        export.Column("customer since", lambda r: r[1]["customer_since"]),
        export.Column("email consent", lambda r: r[1]["email_consent"]),
        export.Column("do not contact", lambda r: r[1]["do_not_contact"]),
        export.Column("notes", lambda r: r[1]["notes"]),
        export.Column("created", lambda r: r[0].created_at),
        export.Column("updated", lambda r: r[0].updated_at),
    ]
    columns += [export.Column(f.label, functools.partial(_custom_value, key=f.key)) for f in fields]
    rows = selectors.party_export_rows(user=request.user, filters=filters, sort=sort)
    return export.export_response(fmt, "parties", columns, rows)


@login_required
def party_vcard(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = selectors.party_get(user=request.user, party_id=party_id)
    response = HttpResponse(vcard.party_card(party), content_type=vcard.CONTENT_TYPE)
    name = "".join(ch if ch.isalnum() else "-" for ch in party.display_name).strip("-")[:60] or "party"
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.vcf")
    return response


def _address(row: tuple[Any, dict[str, Any]], part: str) -> str:
    """The party's first address, a part of it (the street's two lines on two lines, as imports read them)."""
    address = row[1]["address"]
    if address is None:
        return ""
    if part == "street":
        return "\n".join(line for line in (address.line1, address.line2) if line)
    return getattr(address, part)


def _custom_value(row: tuple[Any, dict[str, Any]], *, key: str) -> Any:
    return row[1]["custom"].get(key)


# Cards that apps above parties add to the party page (deals: the party's deals). Each is a template and a
# function giving its context: (user, party) -> dict.
DETAIL_SECTIONS: list[tuple[str, Callable[[Any, Any], dict[str, Any]]]] = []


def register_detail_section(template: str, context: Callable[[Any, Any], dict[str, Any]]) -> None:
    if all(t != template for t, _ in DETAIL_SECTIONS):
        DETAIL_SECTIONS.append((template, context))


@login_required
def party_detail(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = selectors.party_detail(user=request.user, party_id=party_id)
    timeline = selectors.activity_list(user=request.user, party=party, limit=20)
    sections = [(template, context(request.user, party)) for template, context in DETAIL_SECTIONS]
    return render(
        request,
        "parties/detail.html",
        {
            "party": party,
            "timeline": timeline,
            "activity_form": ActivityForm(),
            "handover_form": HandoverForm(initial={"owner": party.owner_id, "team": party.team_id}),
            "custom_values": selectors.party_custom_values(party),
            "sections": sections,
        },
    )


@login_required
def timeline_page(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = selectors.party_get(user=request.user, party_id=party_id)
    timeline = selectors.activity_list(
        user=request.user, party=party, cursor=request.GET.get("cursor"), limit=20
    )
    return render(request, "parties/_timeline_items.html", {"party": party, "timeline": timeline})


@functools.cache
def _time_zones() -> list[str]:
    import zoneinfo

    return sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )


def _save_party(request: AuthedRequest, form: PartyForm) -> HttpResponse | None:
    """Run the create/update service; on refusal put the errors on the form and return None."""
    organisation = None
    try:
        if form.cleaned_data.get("organisation"):
            organisation = selectors.organisation_by_name(
                user=request.user, name=form.cleaned_data["organisation"]
            )
        data = form.to_party_in(organisation)
        if form.party is None:
            party = services.party_create(
                by=request.user, data=data, allow_duplicates=form.cleaned_data["confirm_duplicates"]
            )
            messages.success(request, f"{party.display_name} was created.")
        else:
            party = services.party_update(by=request.user, party=form.party, data=data)
            messages.success(request, "Your changes were saved.")
    except FridayError as exc:
        form.add_service_error(exc)
        return None
    return redirect(safe_next(request, reverse("parties:detail", args=[party.pk])))


@login_required
@require_http_methods(["GET", "POST"])
def party_create(request: AuthedRequest) -> HttpResponse:
    from friday.accounts.scoping import require_write

    require_write(request.user)
    form = PartyForm(
        request.POST or None, user=request.user, initial={"kind": request.GET.get("kind", PartyKind.PERSON)}
    )
    if request.method == "POST" and form.is_valid():
        response = _save_party(request, form)
        if response:
            return response
    return render(
        request,
        "parties/form.html",
        {"form": form, "creating": True, "time_zones": _time_zones()},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def party_edit(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = selectors.party_detail(user=request.user, party_id=party_id)
    from friday.accounts.scoping import require_write

    require_write(request.user)
    form = PartyForm(request.POST or None, user=request.user, party=party)
    if request.method == "POST" and form.is_valid():
        response = _save_party(request, form)
        if response:
            return response
    return render(
        request,
        "parties/form.html",
        {
            "form": form,
            "party": party,
            "creating": False,
            "next": safe_next(request, ""),
            "time_zones": _time_zones(),
        },
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def activity_add(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    form = ActivityForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.activity_log(
                by=request.user,
                party=party,
                kind=form.cleaned_data["kind"],
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                occurred_at=form.cleaned_data["occurred_at"],
            )
        except FridayError as exc:
            error = exc.detail
    else:
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    if request.htmx:
        timeline = selectors.activity_list(user=request.user, party=party, limit=20)
        return render(
            request,
            "parties/_timeline.html",
            {
                "party": party,
                "timeline": timeline,
                "activity_form": ActivityForm() if not error else form,
                "activity_error": error,
            },
            status=422 if error else 200,
        )
    if error:
        messages.error(request, error)
    return redirect("parties:detail", party_id=party.pk)


@login_required
@require_POST
def party_handover(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    form = HandoverForm(request.POST)
    if form.is_valid():
        try:
            services.party_change_owner(
                by=request.user,
                party=party,
                owner=form.cleaned_data["owner"],
                team=form.cleaned_data["team"],
                note=form.cleaned_data["note"],
            )
            messages.success(
                request, f"{party.display_name} was handed over to {form.cleaned_data['owner'].display}."
            )
        except FridayError as exc:
            messages.error(request, exc.detail)
    else:
        messages.error(request, "Choose who to hand this record over to.")
    # The new owner may be outside the user's scope: go back to the list if the record is no longer visible.
    if selectors.parties_visible(request.user).filter(pk=party.pk).exists():
        return redirect("parties:detail", party_id=party.pk)
    return redirect("parties:list")


@login_required
@require_http_methods(["GET", "POST"])
def party_delete(request: AuthedRequest, party_id: int) -> HttpResponse:
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    if request.method == "POST":
        name = party.display_name
        services.party_delete(by=request.user, party=party)
        messages.success(request, f"{name} was deleted.")
        return redirect("parties:list")
    return render(request, "parties/confirm_delete.html", {"party": party})


@login_required
def organisation_suggest(request: AuthedRequest) -> HttpResponse:
    orgs = selectors.organisation_suggestions(user=request.user, q=request.GET.get("organisation", "")[:100])
    return render(request, "parties/_org_options.html", {"orgs": orgs})


@login_required
@require_http_methods(["GET", "POST"])
def custom_fields(request: AuthedRequest) -> HttpResponse:
    require_admin(request.user)
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            definition = services.custom_field_create(
                by=request.user,
                key=data["key"],
                label=data["label"],
                field_type=data["field_type"],
                choices=data["choices"].splitlines(),
                required=data["required"],
                applies_to=data["applies_to"],
                help_text=data["help_text"],
            )
        except FridayError as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
            for error in errors:
                form.add_error(error.field if error.field in form.fields else None, error.detail)
        else:
            messages.success(request, f"The field {definition.label} was added to every record's form.")
            return redirect("parties:custom_fields")
    return render(
        request,
        "parties/custom_fields.html",
        {
            "form": form,
            "definitions": selectors.custom_field_list(),
        },
        status=422 if form.errors else 200,
    )


@login_required
def party_options(request: AuthedRequest) -> HttpResponse:
    """The party picker's suggestions: up to 10 parties the user may see whose name matches what was typed."""
    # The picker sends its own field's name ("party", "chase" …) with what was typed.
    q = str(next((v for v in request.GET.values() if v), ""))[:100]
    parties = []
    if len(q.strip()) >= 2 and "#" not in q:
        try:
            parties = list(
                selectors.party_queryset(user=request.user, filters=selectors.PartyFilters(q=q)).order_by(
                    "sort_name", "id"
                )[:10]
            )
        except FridayError:
            parties = []
    return render(request, "parties/_party_options.html", {"parties": parties})

"""The guide's pages: the step list, one page per built-in step, skip/resume, and the Business settings page."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts.scoping import require_admin
from friday.core import business
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest
from friday.setup import selectors, services
from friday.setup.forms import BusinessForm, InviteForm
from friday.setup.terms import service_business_terms


def _apply_errors(form, exc: FridayError) -> None:
    errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
    for error in errors:
        form.add_error(error.field if error.field in form.fields else None, error.detail)


def _step_context(request: AuthedRequest, key: str) -> dict[str, Any]:
    views = selectors.guide()
    index = next((i for i, v in enumerate(views) if v.key == key), None)
    if index is None:  # an app's step that is not registered here
        raise NotFound("The guide has no such step.", code="setup.no_step")
    return {
        "steps": views,
        "current": views[index],
        "number": index + 1,
        "next": selectors.next_step(views, after=key),
    }


def _render_step(request: AuthedRequest, key: str, template: str, context: dict[str, Any], status: int = 200):
    return render(request, template, {**_step_context(request, key), **context}, status=status)


@login_required
def guide(request: AuthedRequest) -> HttpResponse:
    require_admin(request.user)
    views = selectors.guide()
    return render(request, "setup/guide.html", {"steps": views, "next": selectors.next_step(views)})


# --- the business ------------------------------------------------------------------------------------------------


def _business_form(request: AuthedRequest) -> tuple[BusinessForm, bool]:
    info = business.current()
    initial = {
        "name": info.name,
        "time_zone": info.time_zone,
        "currency": info.currency,
        "region": info.region,
    }
    form = BusinessForm(request.POST if request.method == "POST" else None, initial=initial)
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            services.business_update(by=request.user, **form.cleaned_data)
        except FridayError as exc:
            _apply_errors(form, exc)
        else:
            saved = True
    return form, saved


@login_required
@require_http_methods(["GET", "POST"])
def business_step(request: AuthedRequest) -> HttpResponse:
    require_admin(request.user)
    form, saved = _business_form(request)
    if saved:
        messages.success(request, "The business is saved.")
        return _next(request, "business")
    return _render_step(
        request,
        "business",
        "setup/business.html",
        {"form": form, "zones": _zones()},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def business_settings(request: AuthedRequest) -> HttpResponse:
    """The same form outside the guide: the business's settings, editable any time by an admin."""
    require_admin(request.user)
    form, saved = _business_form(request)
    if saved:
        messages.success(request, "The business is saved.")
        return redirect("setup:business_settings")
    return render(
        request,
        "setup/business_settings.html",
        {"form": form, "zones": _zones()},
        status=422 if form.errors else 200,
    )


@functools.cache  # reading the zone names from disk takes milliseconds; they do not change while we run
def _zones() -> list[str]:
    import zoneinfo

    return sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV"))
    )


def _next(request: AuthedRequest, key: str) -> HttpResponse:
    following = selectors.next_step(selectors.guide(include_summary=False), after=key)
    return redirect(following.href if following and following.href else reverse("setup:guide"))


# --- terms -------------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def terms_step(request: AuthedRequest) -> HttpResponse:
    from friday.processes.models import Term

    require_admin(request.user)
    template = service_business_terms()
    existing = {t.name.casefold(): t for t in Term.objects.all()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        choices = [
            services.TermChoice(
                name=t.name,
                definition=request.POST.get(f"definition-{i}", t.definition)[:4000],
                add=request.POST.get(f"add-{i}") == "on",
                replace=request.POST.get(f"replace-{i}") == "on",
            )
            for i, t in enumerate(template)
        ]
        try:
            result = services.terms_install(by=request.user, choices=choices)
        except FridayError as exc:
            for error in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
                path = (error.field or "").split(".")  # terms.<i>.definition: the row's own message
                errors[path[1] if len(path) > 1 and path[0] == "terms" else ""] = error.detail
        else:
            parts = [f"{len(result.added)} added"] + (
                [f"{len(result.replaced)} replaced"] if result.replaced else []
            )
            messages.success(
                request, "Glossary: " + ", ".join(parts) + f", {len(result.kept)} kept as they were."
            )
            return _next(request, "terms")
    rows = []
    for i, t in enumerate(template):
        current = existing.get(t.name.casefold())
        rows.append(
            {
                "i": i,
                "name": t.name,
                "definition": request.POST.get(f"definition-{i}", t.definition)
                if request.method == "POST"
                else t.definition,
                "existing": current,
                "error": errors.get(str(i), ""),
            }
        )
    return _render_step(
        request,
        "terms",
        "setup/terms.html",
        {"rows": rows, "form_error": errors.get("", ""), "first_run": not existing},
        status=422 if errors else 200,
    )


# --- the main process --------------------------------------------------------------------------------------------


@login_required
def process_step(request: AuthedRequest) -> HttpResponse:
    from friday.processes.models import Process
    from friday.processes.templates import STARTERS, starter

    require_admin(request.user)
    processes = list(Process.objects.select_related("current").order_by("name"))
    keys = {p.key for p in processes}
    lifecycle_taken = any(p.applies_to == "party" for p in processes)
    starters = []
    for name in STARTERS:
        definition = starter(name)
        starters.append(
            {
                "name": name,
                "definition": definition,
                "installed": definition.key in keys,
                "blocked": definition.applies_to == "party"
                and lifecycle_taken
                and definition.key not in keys,
            }
        )
    main = next((p for p in processes if p.current is not None), None)
    drawing: dict[str, Any] = {}
    if main is not None and main.current is not None:
        from friday.processes.drawing import to_mermaid
        from friday.processes.services import process_lint

        definition = main.current.definition
        drawing = {"main": main, "mermaid": to_mermaid(definition), "findings": process_lint(definition)}
    return _render_step(
        request, "process", "setup/process.html", {"processes": processes, "starters": starters, **drawing}
    )


# --- the team ----------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def team_step(request: AuthedRequest) -> HttpResponse:
    from friday.accounts.selectors import user_list

    require_admin(request.user)
    form = InviteForm(request.POST or None)
    invited = None
    if request.method == "POST" and form.is_valid():
        try:
            invited = services.team_invite(by=request.user, **form.cleaned_data)
        except FridayError as exc:
            _apply_errors(form, exc)
        else:
            form = InviteForm()
    return _render_step(
        request,
        "team",
        "setup/team.html",
        {"form": form, "invited": invited, "users": list(user_list(viewer=request.user))},
        status=422 if form.errors else 200,
    )


# --- contacts ----------------------------------------------------------------------------------------------------


@login_required
def contacts_step(request: AuthedRequest) -> HttpResponse:
    from friday.parties.models import Party

    require_admin(request.user)
    return _render_step(request, "contacts", "setup/contacts.html", {"parties": Party.objects.count()})


# --- the starter rules -------------------------------------------------------------------------------------------

FORECAST_DAYS = 30


@login_required
@require_http_methods(["GET", "POST"])
def rules_step(request: AuthedRequest) -> HttpResponse:
    from friday.automation.models import Rule
    from friday.automation.services import forecast

    require_admin(request.user)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "add":
                templates, rules = services.starter_rules_add(by=request.user)
                messages.success(
                    request, f"Added {rules} starter rules, all switched off, and {templates} messages."
                )
                return redirect("setup:rules")
            switched = services.starter_rules_switch_on(by=request.user, names=request.POST.getlist("rule"))
        except FridayError as exc:
            messages.error(request, exc.detail)
            return redirect("setup:rules")
        if switched:
            messages.success(request, "Switched on: " + ", ".join(switched) + ".")
            return _next(request, "rules")
        messages.info(request, "Nothing was switched on.")
        return redirect("setup:rules")
    found = {r.name: r for r in Rule.objects.filter(name__in=services.STARTER_RULES)}
    rows = []
    for name in services.STARTER_RULES:
        rule = found.get(name)
        rows.append(
            {"name": name, "rule": rule, "forecast": forecast([rule], days=FORECAST_DAYS) if rule else None}
        )
    return _render_step(
        request,
        "rules",
        "setup/rules.html",
        {
            "rows": rows,
            "missing": any(r["rule"] is None for r in rows),
            "days": FORECAST_DAYS,
            "customers": services.customers_on_file(),
        },
    )


# --- the first goals --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def goals_step(request: AuthedRequest) -> HttpResponse:
    """The first goals: adopt any of four starter goals (a metric already tracked by an active goal is not
    offered again, so running the guide twice adds nothing), or write one's own on the Strategy page."""
    from friday.strategy.selectors import goal_list

    require_admin(request.user)
    if request.method == "POST":
        try:
            added = services.starter_goals_add(by=request.user, keys=request.POST.getlist("goal"))
        except FridayError as exc:
            messages.error(request, exc.detail)
            return redirect("setup:goals")
        if added:
            messages.success(request, "Added: " + ", ".join(added) + ".")
            return _next(request, "goals")
        messages.info(request, "No goal was added.")
        return redirect("setup:goals")
    return _render_step(
        request,
        "goals",
        "setup/goals.html",
        {"goals": list(goal_list()), "offered": services.starter_goals_offered()},
    )


# --- skip, resume, put away -------------------------------------------------------------------------------------


@login_required
@require_POST
def step_skip(request: AuthedRequest, key: str) -> HttpResponse:
    services.step_skip(by=request.user, key=key)
    messages.info(request, "Skipped for now: come back to it from the guide or the dashboard.")
    return _next(request, key)


@login_required
@require_POST
def step_resume(request: AuthedRequest, key: str) -> HttpResponse:
    services.step_resume(by=request.user, key=key)
    from friday.setup.steps import step_get

    step = step_get(key)
    return redirect(step.href() if step and step.href() else reverse("setup:guide"))


@login_required
@require_POST
def dismiss(request: AuthedRequest, key: str) -> HttpResponse:
    try:
        services.dismiss(user=request.user, key=key)
    except FridayError as exc:
        messages.error(request, exc.detail)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    return redirect(back or "/")

"""Automation pages: the rules, the rule form builder with its forecast, and the runs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from friday.automation import actions as action_types
from friday.automation import selectors, services
from friday.automation.forms import EVENTS, RuleForm, initial_from
from friday.automation.lint import lint_rule
from friday.automation.models import Rule, RunStatus
from friday.automation.triggers import REGISTERED
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest, safe_next
from friday.messaging.models import MessageTemplate
from friday.processes.templatetags.stages import lifecycle_options


def _form_options(request: AuthedRequest) -> dict[str, Any]:
    from friday.feedback.models import Survey
    from friday.processes.segments import segments_visible

    return {
        "segments": [
            (str(pk), name)
            for pk, name in segments_visible(request.user).order_by("name").values_list("pk", "name")
        ],
        "stages": [(k, n) for k, n in lifecycle_options() if k != "none"],
        "templates": list(MessageTemplate.objects.order_by("name").values_list("key", "name")),
        "surveys": list(Survey.objects.order_by("name").values_list("key", "name")),
    }


@login_required
def rule_list(request: AuthedRequest) -> HttpResponse:
    rules = list(
        selectors.rules(user=request.user)
        .annotate(fired=Count("firings"), last_fired=Max("firings__fired_at"))
        .order_by("-enabled", "name")
    )
    for rule in rules:
        rule.when = describe_trigger(rule.trigger)  # type: ignore[attr-defined]
        rule.does = [  # type: ignore[attr-defined]
            action_types.ACTIONS[a["type"]].describe(a)
            for a in rule.actions
            if a["type"] in action_types.ACTIONS
        ]
    return render(request, "automation/rules.html", {"rules": rules})


def describe_trigger(trigger: dict[str, Any]) -> str:
    """A trigger in words, for the rules list."""
    kind = trigger["type"]
    if kind in REGISTERED:
        return REGISTERED[kind].describe(trigger)
    if kind == "event":
        text = dict(EVENTS).get(trigger["event"], trigger["event"])
        return text + (f" ({trigger['stage']})" if trigger.get("stage") else "")
    if kind == "yearly":
        what = "their birthday" if trigger["field"] == "birthday" else "the day they became a customer"
        before = f"{trigger['days_before']} days before " if trigger.get("days_before") else "on "
        return f"Every year, {before}{what}, at {trigger['at']}"
    if kind == "date":
        minutes = trigger["offset_minutes"]
        return f"{abs(minutes)} minutes {'before' if minutes < 0 else 'after'} a deal's expected close"
    if kind == "no_contact":
        return f"No contact for {trigger['days']} days"
    if kind == "reminder_overdue":
        return f"A reminder {trigger['hours']} hours overdue"
    if kind == "chase":
        return f"Chasing a supplier, every {trigger['every_days']} days until done"
    if kind == "service_due":
        return f"A service plan due in {trigger['days_before']} days, at {trigger['at']}"
    if kind == "campaign":
        return f"On the schedule {trigger['cron']}, each party at most once a {trigger['period']}"
    return f"On the schedule {trigger['cron']}"


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: AuthedRequest, rule_id: int | None = None) -> HttpResponse:
    """The rule form. "Save" changes the rule itself; "Save as draft" keeps the edit beside it (the sandbox),
    and once a rule has a draft the form edits the draft — the live rule changes only by going live."""
    services.require_rule_editor(request.user)
    rule = selectors.rule_get(user=request.user, rule_id=rule_id) if rule_id else None
    shown = services.draft_rule(rule) if rule is not None and rule.draft else rule
    initial, advanced = initial_from(shown) if shown else ({"trigger_type": "yearly", "match": "all"}, False)
    form = RuleForm(request.POST or None, initial=initial, advanced=advanced, **_form_options(request))
    if request.method == "POST" and form.is_valid():
        as_draft = request.POST.get("action") == "draft" or bool(rule and rule.draft)
        try:
            data = form.to_rule_in(shown.conditions if shown else {})
            if as_draft:
                saved = services.rule_draft_save(by=request.user, rule=rule, data=data)
            else:
                saved = services.rule_save(by=request.user, rule=rule, data=data)
        except ValidationFailed as exc:
            form.add_rule_errors(exc.errors)
        except FridayError as exc:
            form.add_error(None, exc.detail)
        else:
            if as_draft:
                messages.success(
                    request,
                    f"The draft of “{saved.name}” was saved; the rule itself is unchanged until it goes live.",
                )
                return redirect("automation:rule_draft", rule_id=saved.pk)
            messages.success(
                request, f"“{saved.name}” was saved{' and is on' if saved.enabled else ' (off)'}."
            )
            return redirect("automation:rules")
    return render(
        request,
        "automation/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "yaml": selectors.rule_yaml(rule) if rule else "",
            "findings": lint_rule(shown) if shown and request.method == "GET" else [],
        },
        status=422 if request.method == "POST" else 200,
    )


def _parts_changed(rule: Rule, draft: Rule) -> list[dict[str, Any]]:
    """The draft beside the live rule, part by part, in words."""

    def does(r: Rule) -> str:
        return "; ".join(
            action_types.ACTIONS[a["type"]].describe(a)
            for a in r.actions
            if a["type"] in action_types.ACTIONS
        )

    rows = [
        ("Name", rule.name, draft.name),
        ("Description", rule.description, draft.description),
        ("When", describe_trigger(rule.trigger), describe_trigger(draft.trigger)),
        ("Only if", selectors.conditions_text(rule.conditions), selectors.conditions_text(draft.conditions)),
        ("Then", does(rule), does(draft)),
        ("Owner", rule.owner.display if rule.owner_id else "", draft.owner.display if draft.owner_id else ""),
    ]
    return [{"part": p, "live": a, "draft": b, "changed": a != b} for p, a, b in rows]


@login_required
def rule_draft(request: AuthedRequest, rule_id: int) -> HttpResponse:
    """A rule's draft beside the live rule: what changes, the draft's lint, and the next 30 days of both —
    the firings going live would add and remove. Going live (or discarding) is the one step at the bottom."""
    services.require_rule_editor(request.user)
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    if not rule.draft:
        messages.info(request, f"“{rule.name}” has no draft.")
        return redirect("automation:rule_edit", rule_id=rule.pk)
    draft = services.draft_rule(rule)
    findings = lint_rule(draft)
    return render(
        request,
        "automation/rule_draft.html",
        {
            "rule": rule,
            "draft": draft,
            "parts": _parts_changed(rule, draft),
            "findings": findings,
            "errors": sum(1 for f in findings if f.severity == "error"),
            "diff": services.forecast_diff(rule, days=30),
            "history": rule.versions.select_related("by").order_by("-number")[:10],
        },
    )


@login_required
@require_POST
def rule_go_live(request: AuthedRequest, rule_id: int) -> HttpResponse:

    services.require_rule_editor(request.user)
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    try:
        version = services.rule_go_live(by=request.user, rule=rule, note=request.POST.get("note", ""))
    except FridayError as exc:
        details = exc.errors if isinstance(exc, ValidationFailed) else [exc]
        messages.error(
            request,
            "Not live: " + " ".join(f"{e.field}: {e.detail}" if e.field else e.detail for e in details),
        )
        return redirect("automation:rule_draft" if rule.draft else "automation:rule_edit", rule_id=rule.pk)
    messages.success(request, f"“{version.rule.name}” is live (history version {version.number}).")
    return redirect(safe_next(request, reverse("automation:rule_history", args=[rule.pk])))


@login_required
@require_POST
def rule_draft_discard(request: AuthedRequest, rule_id: int) -> HttpResponse:

    services.require_rule_editor(request.user)
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    try:
        deleted = services.rule_draft_discard(by=request.user, rule=rule)
    except FridayError as exc:
        messages.error(request, exc.detail)
        return redirect("automation:rule_edit", rule_id=rule.pk)
    messages.success(
        request,
        f"The draft “{rule.name}” was thrown away"
        + (" (it was never live, so the rule went with it)." if deleted else "; the rule is as it was."),
    )
    return redirect(safe_next(request, reverse("automation:rules")))


@login_required
def rule_history(request: AuthedRequest, rule_id: int) -> HttpResponse:
    """Every change that reached the rule: who, when, how (saved, went live, on, off) and which parts."""
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    return render(
        request,
        "automation/rule_history.html",
        {"rule": rule, "versions": rule.versions.select_related("by").order_by("-number")},
    )


@login_required
@require_POST
def rule_forecast(request: AuthedRequest) -> HttpResponse:
    """The forecast of the rule as it stands in the form (not saved): what it would do in the next 30 days."""
    services.require_rule_editor(request.user)
    rule = None
    key = request.POST.get("rule_id", "")
    if key.isdigit():
        rule = selectors.rule_get(user=request.user, rule_id=int(key))
    advanced = initial_from(rule)[1] if rule is not None else False
    form = RuleForm(request.POST, advanced=advanced, **_form_options(request))
    days = 30
    result, problems, findings, diff = None, [], [], None
    if form.is_valid():
        try:
            draft = services.rule_draft(form.to_rule_in(rule.conditions if rule else {}), owner=request.user)
            findings = lint_rule(draft)
            if rule is not None:
                # Beside the live rule: what this edit would add to and take from its next 30 days.
                diff = services.forecast_compare(rule, services.draft_of(rule, draft), days=days)
                result = diff.draft
            else:
                result = services.forecast([draft], days=days)
        except ValidationFailed as exc:
            problems = [f"{e.field}: {e.detail}" if e.field else e.detail for e in exc.errors]
    else:
        problems = [
            f"{form.fields[k].label if k in form.fields else 'The rule'}: {' '.join(str(m) for m in v)}"
            for k, v in form.errors.items()
        ]
    return render(
        request,
        "automation/_forecast.html",
        {"result": result, "problems": problems, "findings": findings, "days": days, "diff": diff},
    )


@login_required
@require_POST
def rule_toggle(request: AuthedRequest, rule_id: int) -> HttpResponse:
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    services.rule_set_enabled(by=request.user, rule=rule, enabled=not rule.enabled)
    messages.success(request, f"“{rule.name}” is {'off' if rule.enabled else 'on'}.")
    return redirect("automation:rules")


@login_required
@require_POST
def rule_delete(request: AuthedRequest, rule_id: int) -> HttpResponse:
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    services.rule_delete(by=request.user, rule=rule)
    messages.success(request, f"“{rule.name}” was deleted.")
    return redirect("automation:rules")


@login_required
def runs(request: AuthedRequest) -> HttpResponse:
    """Automation runs: what fired, for whom, and what each action did — problems first if asked."""
    rule = request.GET.get("rule", "")
    problems = request.GET.get("problems") == "1"
    error, page = None, None
    try:
        page = selectors.firings(
            user=request.user,
            rule_id=int(rule) if rule.isdigit() and len(rule) < 19 else None,
            status=RunStatus.DEAD if problems else "",
            cursor=request.GET.get("cursor"),
        )
    except FridayError as exc:
        error = exc
    return render(
        request,
        "automation/runs.html",
        {
            "page": page,
            "error": error,
            "rules": Rule.objects.order_by("name"),
            "rule": rule,
            "problems": problems,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def starters_install(request: AuthedRequest) -> HttpResponse:
    from friday.automation import starters

    templates, rules = starters.install(by=request.user)
    if rules or templates:
        messages.success(
            request,
            f"Added {rules} starter rule{'s' if rules != 1 else ''} and {templates} message template"
            f"{'s' if templates != 1 else ''}, all off: open each to see what it would do, then switch it on.",
        )
    else:
        messages.success(request, "The starter rules are all here already.")
    return redirect("automation:rules")


@login_required
def sandbox(request: AuthedRequest) -> HttpResponse:
    """Every change being tried out — process drafts and rule drafts — with its check, its forecast or the
    records it affects, and the one step that makes it live (or throws it away)."""
    from friday.processes.models import Process
    from friday.processes.sandbox import draft_review

    services.require_rule_editor(request.user)
    process_rows = [
        draft_review(p, user=request.user)
        for p in Process.objects.exclude(draft="")
        .select_related("current", "draft_updated_by")
        .order_by("name")
    ]
    # Each rule's lint and forecast come with its row's summary, fetched after the page (rule_draft_summary):
    # the page itself is a fixed number of queries however many rules are drafted.
    rule_rows = [{"rule": rule, "draft": services.draft_rule(rule)} for rule in selectors.drafts_pending()]
    return render(request, "automation/sandbox.html", {"processes": process_rows, "rules": rule_rows})


@login_required
def rule_draft_summary(request: AuthedRequest, rule_id: int) -> HttpResponse:
    """One row's check and forecast summary on the Sandbox page, fetched after the page: over a large book each
    draft's two forecasts take seconds, and the page should not wait for all of them."""
    services.require_rule_editor(request.user)
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    if not rule.draft:
        return HttpResponse('<span class="muted">No draft any more.</span>')
    findings = lint_rule(services.draft_rule(rule))
    return render(
        request,
        "automation/_draft_summary.html",
        {
            "diff": services.forecast_diff(rule, days=30),
            "rule": rule,
            "errors": sum(1 for f in findings if f.severity == "error"),
            "warnings": sum(1 for f in findings if f.severity != "error"),
        },
    )

"""Reminder pages: my day (overdue, today, upcoming), all I can see, a reminder, the form, the calendar feed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.core import clock, export
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest, safe_next
from friday.core.pagination import Page
from friday.parties.selectors import party_get
from friday.reminders import selectors, services
from friday.reminders.calendar import calendar_for
from friday.reminders.forms import ReminderForm, SnoozeForm
from friday.reminders.models import Reminder


@login_required
def my_reminders(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "reminders/mine.html",
        {"day": selectors.my_day(request.user), "now": clock.now(), "tonight": selectors.end_of_today()},
    )


def _export(
    request: AuthedRequest, fmt: str, filters: selectors.ReminderFilters
) -> HttpResponse | StreamingHttpResponse:
    """Every reminder of the list as filtered (its own pages, so its own scope)."""
    columns = [
        export.Column("id", lambda r: r.pk),
        export.Column("title", lambda r: r.title),
        export.Column("status", lambda r: r.get_status_display()),
        export.Column("remind at", lambda r: r.remind_at),
        export.Column("due", lambda r: r.due_at),
        export.Column("for", lambda r: r.assignee.display if r.assignee else r.get_assignee_role_display()),
        export.Column("about", lambda r: r.party.display_name if r.party else ""),
        export.Column("chasing", lambda r: r.chase.display_name if r.chase else ""),
        export.Column("done", lambda r: r.done_at),
        export.Column("cancelled because", lambda r: r.cancelled_reason),
        export.Column("notes", lambda r: r.notes),
    ]

    def fetch(cursor: str | None) -> Page:
        return selectors.reminder_list(
            user=request.user, filters=filters, cursor=cursor, limit=selectors.MAX_LIMIT
        )

    return export.export_response(fmt, "reminders", columns, export.rows_of(fetch))


@login_required
def reminder_list(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    """Every reminder the user may see, soonest first, filtered by status and by whom it is for."""
    assignee = request.GET.get("assignee", "")
    filters = selectors.ReminderFilters(
        status=request.GET.get("status", "active"),
        assignee_id=int(assignee) if assignee.isdigit() and len(assignee) < 19 else None,
    )
    error, page = None, None
    try:
        page = selectors.reminder_list(user=request.user, filters=filters, cursor=request.GET.get("cursor"))
    except FridayError as exc:
        error = exc
    fmt = export.requested(request)
    if fmt and error is None:
        return _export(request, fmt, filters)
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("format", None)
    return render(
        request,
        "reminders/list.html",
        {
            "page": page,
            "error": error,
            "filters": filters,
            "assignees": User.objects.filter(is_active=True).order_by("first_name", "username"),
            "now": clock.now(),
            "query": query.urlencode(),
        },
        status=400 if error else 200,
    )


def _party(request: AuthedRequest, form: ReminderForm, name: str) -> Any:
    pk = form.ref(name)
    if pk is None:
        if form.cleaned_data.get(name):
            raise ValidationFailed(
                [FridayError("Pick the party from the list as you type.", code="invalid.party", field=name)]
            )
        return None
    try:
        return party_get(user=request.user, party_id=pk)
    except NotFound as exc:
        exc.field = name
        raise


def _data(request: AuthedRequest, form: ReminderForm) -> services.ReminderIn:
    role = form.cleaned_data["assignee_role"]
    assignee = form.cleaned_data["assignee"]
    return services.ReminderIn(
        title=form.cleaned_data["title"],
        due_at=form.cleaned_data["due_at"],
        notes=form.cleaned_data["notes"],
        assignee=None if role and assignee is None else (assignee or request.user),
        assignee_role=role,
        party=_party(request, form, "party"),
        chase=_party(request, form, "chase"),
    )


def _form_errors(form: ReminderForm, exc: FridayError) -> None:
    for e in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
        form.add_error(e.field if e.field in form.fields else None, e.detail)


@login_required
@require_http_methods(["GET", "POST"])
def reminder_create(request: AuthedRequest) -> HttpResponse:
    require_write(request.user)
    initial: dict[str, Any] = {"due_at": (clock.now() + dt.timedelta(days=1)).astimezone(clock.business_tz())}
    party_id = request.GET.get("party", "")
    if party_id.isdigit():
        try:
            party = party_get(user=request.user, party_id=int(party_id))
            initial["party"] = f"{party.display_name} · #{party.pk}"
        except NotFound:
            pass
    form = ReminderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reminder = services.reminder_create(by=request.user, data=_data(request, form))
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Reminder set: {reminder.title}.")
            return redirect(safe_next(request, reverse("reminders:mine")))
    return render(
        request,
        "reminders/form.html",
        {"form": form, "creating": True, "next": safe_next(request, "")},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def reminder_detail(request: AuthedRequest, reminder_id: int) -> HttpResponse:
    """A reminder: what, for whom, about whom; edit it; done, snooze, cancel or reopen."""
    reminder = selectors.reminder_get(user=request.user, reminder_id=reminder_id)
    initial = {
        "title": reminder.title,
        "due_at": reminder.due_at.astimezone(clock.business_tz()),
        "assignee": reminder.assignee_id,
        "assignee_role": reminder.assignee_role,
        "party": f"{reminder.party.display_name} · #{reminder.party_id}" if reminder.party else "",
        "chase": f"{reminder.chase.display_name} · #{reminder.chase_id}" if reminder.chase else "",
        "notes": reminder.notes,
    }
    form = ReminderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.reminder_update(by=request.user, reminder=reminder, data=_data(request, form))
        except FridayError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Your changes were saved.")
            return redirect("reminders:detail", reminder_id=reminder.pk)
    return render(
        request,
        "reminders/detail.html",
        {"reminder": reminder, "form": form, "snooze": SnoozeForm(), "now": clock.now()},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def reminder_action(request: AuthedRequest, reminder_id: int, action: str) -> HttpResponse:
    """Done, snooze (until a time, or by a preset: 1h, tomorrow, next week), cancel, reopen."""
    reminder = selectors.reminder_get(user=request.user, reminder_id=reminder_id)
    back = safe_next(request, reverse("reminders:detail", args=[reminder.pk]))
    try:
        if action == "done":
            services.reminder_done(by=request.user, reminder=reminder)
            messages.success(request, f"Done: {reminder.title}.")
        elif action == "snooze":
            until = _snooze_until(request)
            services.reminder_snooze(by=request.user, reminder=reminder, until=until)
            local = until.astimezone(clock.business_tz())
            messages.success(
                request, f"{reminder.title}: snoozed until {local:%a} {local.day} {local:%b %H:%M}."
            )
        elif action == "cancel":
            services.reminder_cancel(
                by=request.user, reminder=reminder, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"Cancelled: {reminder.title}.")
        elif action == "reopen":
            services.reminder_reopen(by=request.user, reminder=reminder)
            messages.success(request, f"Reopened: {reminder.title}.")
        else:
            raise Http404("No such action.")
    except FridayError as exc:
        messages.error(request, exc.detail)
    return redirect(back)


def _snooze_until(request: AuthedRequest) -> dt.datetime:
    preset = request.POST.get("preset", "")
    now = clock.now()
    tz = clock.business_tz()
    if preset == "1h":
        return now + dt.timedelta(hours=1)
    if preset in ("tomorrow", "week"):
        days = 1 if preset == "tomorrow" else 7
        return dt.datetime.combine(clock.today() + dt.timedelta(days=days), dt.time(9, 0), tzinfo=tz)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        raise FridayError("Give a date and time to snooze until.", code="invalid.datetime", field="until")
    until = form.cleaned_data["until"]
    return until if until.tzinfo else until.replace(tzinfo=tz)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: AuthedRequest) -> HttpResponse:
    """The secret calendar address: make one (shown once), replace it, or turn it off."""
    url = None
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            services.calendar_feed_remove(user=request.user, by=request.user)
            messages.success(request, "The calendar address no longer works.")
            return redirect("reminders:calendar")
        raw = services.calendar_feed_reset(user=request.user, by=request.user)
        url = request.build_absolute_uri(reverse("reminders:feed", args=[raw]))
    has_feed = hasattr(request.user, "calendar_feed") and url is None
    return render(request, "reminders/calendar.html", {"url": url, "has_feed": has_feed})


def calendar_feed(request: AuthedRequest, token: str) -> HttpResponse:
    """No sign-in: the secret in the address is the key. An unknown address is a plain 404."""
    user = services.calendar_feed_user(token)
    if user is None:
        raise Http404("No such calendar.")
    response = HttpResponse(
        calendar_for(user, host=request.get_host()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="friday-reminders.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Reminders card on a party page: its open reminders the user may see."""
    return {"reminders": selectors.party_reminders(user, party.pk), "now": clock.now()}


def reminder_counts(request: Any) -> dict[str, Any]:
    """Context processor: how many of my reminders need attention today (for the navigation)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"reminders_due": _Lazy(lambda: selectors.attention_count(user))}


class _Lazy:
    """Counted only if a page shows it."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.value = fn, None

    def __str__(self) -> str:
        if self.value is None:
            self.value = self.fn()
        return str(self.value)

    def __bool__(self) -> bool:
        return str(self) != "0"


__all__ = ["Reminder"]

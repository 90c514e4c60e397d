"""Insight pages: the customers at risk, with their reasons; the four corners; whether the process is used
(adoption) and the lists behind its figures. The party page's card of figures lives here too."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from friday.accounts.models import User
from friday.core import clock
from friday.core.http import AuthedRequest
from friday.core.ids import valid_id
from friday.core.pagination import keyset_page
from friday.insights import adoption, selectors
from friday.insights.models import CustomerMetrics
from friday.insights.risk import threshold
from friday.insights.selectors import scoped
from friday.processes import records
from friday.processes.models import Process
from friday.reminders.selectors import reminders_visible


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Figures card on a party page (the party page has already checked the user may see it)."""
    return {"metrics": CustomerMetrics.objects.filter(party=party).first(), "threshold": threshold()}


@login_required
def at_risk(request: AuthedRequest) -> HttpResponse:
    raw = request.GET.get("min", "")
    minimum = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100 else threshold()
    page = selectors.at_risk(user=request.user, min_score=minimum, cursor=request.GET.get("cursor"), limit=50)
    return render(
        request, "insights/at_risk.html", {"page": page, "minimum": minimum, "threshold": threshold()}
    )


@login_required
def four_corners(request: AuthedRequest) -> HttpResponse:
    """Revenue, costs, profit and lost opportunity over the last 12 months, drawn and tabled; lost deals by
    reason, stage and owner; the yearly value of the customers now lapsing."""
    from friday.insights import corners

    months = corners.trend(user=request.user, months=12)
    start, end = months[0].start, corners.next_month(months[-1].start)
    top = max([max(m.revenue, m.costs, m.lost_deals) for m in months] + [Decimal(1)])
    chart = []
    for i, m in enumerate(months):
        bars = []
        for offset, value, colour, label in (
            (8, m.revenue, "var(--accent)", "Revenue"),
            (24, m.costs, "var(--muted)", "Costs"),
            (40, m.lost_deals, "var(--bad)", "Lost deals"),
        ):
            height = round(float(140 * value / top), 1)
            bars.append(
                {
                    "x": offset,
                    "y": round(150 - height, 1),
                    "h": height,
                    "fill": colour,
                    "label": label,
                    "value": value,
                }
            )
        chart.append({"month": m, "x": i * 60, "bars": bars})
    whole = corners.corners(user=request.user, start=start, end=end)
    return render(
        request,
        "insights/corners.html",
        {
            "months": months,
            "last_month": months[-1].start,
            "chart": chart,
            "whole": whole,
            "by_reason": corners.lost_by(user=request.user, start=start, end=end, by="reason"),
            "by_stage": corners.lost_by(user=request.user, start=start, end=end, by="stage"),
            "by_owner": corners.lost_by(user=request.user, start=start, end=end, by="owner"),
            "today": clock.today(),
        },
    )


# --- is the process used? (adoption) ------------------------------------------------------------------------


def _csv(filename: str, rows: Iterable[list[Any]]) -> HttpResponse:
    """A CSV download. A cell a spreadsheet would run as a formula (=, +, -, @ first) is quoted with ' first."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    return response


def _person(request: AuthedRequest, raw: str) -> User | None:
    """The person a page is about: managers and admins may ask for anyone (or no one: everybody); anyone else
    always gets themself, and asking for someone else is a 404."""
    if not adoption.sees_everyone(request.user):
        if raw and raw != str(request.user.pk):
            raise Http404("No such person.")
        return request.user
    if not raw:
        return None
    if not raw.isdigit() or not valid_id(int(raw)):
        raise Http404("No such person.")
    return get_object_or_404(User, pk=int(raw))


def _week(raw: str) -> dt.date:
    """A week asked for by its Monday (this week by default); not a Monday, not a date or in the future: 404."""
    this = adoption.week_of(clock.today())
    if not raw:
        return this
    try:
        week = dt.date.fromisoformat(raw)
    except ValueError:
        raise Http404("No such week.") from None
    if week.weekday() != 0 or week > this:
        raise Http404("No such week.")
    return week


@login_required
def adoption_page(request: AuthedRequest) -> HttpResponse:
    """Per person and per process: the adoption score now, its twelve weeks, and the signals behind it."""
    person = _person(request, request.GET.get("person", ""))
    week = _week(request.GET.get("week", ""))
    try:
        view = adoption.adoption(user=request.user, person=person, week=week)
    except ValueError:
        raise Http404("That week is not on this page.") from None
    if request.GET.get("format") == "csv":
        name = f"adoption-{person.username}.csv" if person else "adoption.csv"
        return _csv(name, adoption.csv_rows(view))
    focus = view.people[0] if view.person is not None and view.people else None
    return render(
        request,
        "insights/adoption.html",
        {
            "view": view,
            "focus": focus,
            "week_q": "" if view.current else f"&week={view.week.isoformat()}",
            "weights": adoption.PERSON_WEIGHTS,
            "process_weights": adoption.PROCESS_WEIGHTS,
            "chart": _trend_chart(focus) if focus else None,
        },
    )


def _trend_chart(line: adoption.Line) -> dict[str, Any]:
    """A 12-week line chart of one person's score (600 × 160), with a dot and label per week."""
    step = 560 / max(1, len(line.points) - 1)
    dots = [
        {"x": round(20 + i * step, 1), "y": round(140 - 1.2 * p.score, 1), "point": p}
        for i, p in enumerate(line.points)
        if p.score is not None
    ]
    return {
        "dots": dots,
        "path": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "labels": [{"x": round(20 + i * step, 1), "week": p.week} for i, p in enumerate(line.points)],
    }


@login_required
def adoption_list(request: AuthedRequest, signal: str) -> HttpResponse:
    """The rows behind a figure of the adoption page: a person's overdue reminders or stuck records at a week's
    end (or now), their moves off the process or the activities they logged in the week."""
    if signal not in adoption.LISTS:
        raise Http404("No such list.")
    user = request.user
    raw_person = request.GET.get("person", "")
    if raw_person == "0" and adoption.sees_everyone(user):
        person_id: int | None = 0  # nobody: automation, a deleted user, records without an owner
        person = None
    else:
        person = _person(request, raw_person)
        person_id = person.pk if person else None
    key = request.GET.get("process", "")
    process = get_object_or_404(Process, key=key, current__isnull=False) if key else None
    week = _week(request.GET.get("week", ""))
    since, at = adoption.week_start(week), adoption.moment(week)
    final = at >= adoption.week_end(week)
    cursor = request.GET.get("cursor")
    rows: list[dict[str, Any]] = []
    if signal == "overdue":
        reminders = reminders_visible(user) & adoption.overdue_list(person=person_id, at=at)
        page = keyset_page(
            reminders.select_related("assignee", "party"), order=["remind_at", "id"], cursor=cursor, limit=50
        )
    elif signal == "activities":
        activities = scoped(adoption.activities_list(person=person_id, since=since, until=at), user)
        page = keyset_page(
            activities.select_related("author", "party"), order=["occurred_at", "id"], cursor=cursor, limit=50
        )
    else:
        changes = (
            adoption.stuck_list(person=person_id, process=process, at=at, live=not final)
            if signal == "stuck"
            else adoption.moves_list(person=person_id, process=process, since=since, until=at)
        )
        page = keyset_page(
            scoped(changes, user).select_related("by", "process"), order=["at", "id"], cursor=cursor, limit=50
        )
        rows = _record_rows(page.items, at)
    query = {
        k: v
        for k, v in (("person", raw_person), ("process", key), ("week", request.GET.get("week", "")))
        if v
    }
    return render(
        request,
        "insights/adoption_list.html",
        {
            "signal": signal,
            "page": page,
            "rows": rows,
            "person": person,
            "nobody": person_id == 0,
            "process": process,
            "week": week,
            "at": at,
            "final": final,
            "query": urlencode(query),
        },
    )


def _record_rows(changes: list[Any], at: dt.datetime) -> list[dict[str, Any]]:
    """Each stage change with its record's title and page (one query per record type) and, for a stay still
    going on at `at`, how many days it is over its stage's time limit."""
    ids: dict[str, list[int]] = {}
    for change in changes:
        ids.setdefault(change.record_type, []).append(change.record_id)
    titles: dict[tuple[str, int], tuple[str, str]] = {}
    for record_type, record_ids in ids.items():
        kind = records.kind_for(record_type)
        if kind is not None:
            titles.update({(record_type, k): v for k, v in kind.titles(record_ids).items()})
    out = []
    for change in changes:
        definition = change.process.current.definition if change.process.current else None
        stage = definition.stage(change.to_stage) if definition else None
        source = definition.stage(change.from_stage) if definition and change.from_stage else None
        limit = stage.time_limit_days if stage else None
        title, url = titles.get((change.record_type, change.record_id), (f"#{change.record_id}", ""))
        out.append(
            {
                "change": change,
                "title": title,
                "url": url,
                "stage": stage.name if stage else change.to_stage,
                "from_stage": source.name if source else change.from_stage,
                "days_over": (at - change.at).days - limit if limit else None,
            }
        )
    return out


@login_required
def best_staff_csv(request: AuthedRequest) -> HttpResponse:
    """The staff ranking of the Best page as CSV, for the period it shows (?start=&end=, business dates)."""
    start, end = staff_period(request.GET.get("start", ""), request.GET.get("end", ""))
    rows = adoption.best_staff(user=request.user, start=start, end=end)
    return _csv(f"best-staff-{start}-{end}.csv", adoption.staff_csv_rows(rows))


def staff_period(start: str, end: str) -> tuple[dt.date, dt.date]:
    """[start, end) from the query (business dates); the last 90 days to today by default."""
    today = clock.today()

    def parse(value: str, default: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return default

    first, last = parse(start, today - dt.timedelta(days=89)), parse(end, today + dt.timedelta(days=1))
    return (last, first) if first > last else (first, last)


def best_staff_context(*, user: User, start: dt.date, end: dt.date) -> dict[str, Any]:
    """What `insights/_best_staff.html` needs: include it with these (the Best page does)."""
    return {
        "staff_rows": adoption.best_staff(user=user, start=start, end=end),
        "staff_start": start,
        "staff_end": end,
        "staff_everyone": adoption.sees_everyone(user),
        "staff_currency": settings.FRIDAY_CURRENCY,
    }

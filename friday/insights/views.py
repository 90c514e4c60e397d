"""Insight pages: the customers at risk, with their reasons; the four corners; the best customers, suppliers and
staff; whether the process is used (adoption) and the lists behind its figures; the daily digest's unsubscribe
page. The party page's card of figures lives here too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from friday.accounts.models import User
from friday.core import business, clock
from friday.core.csvout import csv_response
from friday.core.errors import FridayError
from friday.core.http import AuthedRequest
from friday.core.ids import valid_id
from friday.core.pagination import keyset_page
from friday.insights import adoption, digest, selectors
from friday.insights import best as ranks
from friday.insights import value as value_model
from friday.insights.forms import BestForm
from friday.insights.models import CustomerMetrics
from friday.insights.rfm import DESCRIPTIONS, Segment
from friday.insights.risk import threshold
from friday.insights.selectors import scoped
from friday.processes import records
from friday.processes.models import Process
from friday.reminders.selectors import reminders_visible


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Figures card on a party page (the party page has already checked the user may see it), with the
    customer-value model's figures and the fit they came from — or why there are none."""
    metrics = CustomerMetrics.objects.filter(party=party).select_related("value_fit").first()
    alive = None
    if metrics is not None and metrics.p_alive is not None:
        alive = int(100 * metrics.p_alive)  # rounded down, as the risk reason words it
    return {"metrics": metrics, "threshold": threshold(), "alive_percent": alive}


@login_required
def at_risk(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    raw = request.GET.get("min", "")
    minimum = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100 else threshold()
    if request.GET.get("format") == "csv":
        return csv_response(
            f"customers-at-risk-{minimum}.csv",
            [
                "party id",
                "customer",
                "risk score",
                "reasons",
                "revenue",
                "currency",
                "last purchase",
                "owner",
                "as of",
            ],
            _at_risk_rows(request.user, minimum),
        )
    page = selectors.at_risk(user=request.user, min_score=minimum, cursor=request.GET.get("cursor"), limit=50)
    return render(
        request, "insights/at_risk.html", {"page": page, "minimum": minimum, "threshold": threshold()}
    )


def _at_risk_rows(user: User, minimum: int) -> Iterator[list[Any]]:
    """Every customer at risk the user may see, a keyset page of 1,000 at a time (the download streams)."""
    cursor = None
    while True:
        page = selectors.at_risk(user=user, min_score=minimum, cursor=cursor, limit=1000)
        for m in page.items:
            yield [
                m.party_id,
                m.party.display_name,
                m.risk_score,
                "; ".join(r["text"] for r in m.risk_reasons),
                m.revenue,
                m.currency,
                m.last_purchase_on,
                m.party.owner.display if m.party.owner else "",
                m.as_of.isoformat(timespec="seconds"),
            ]
        if not page.next_cursor:
            return
        cursor = page.next_cursor


@login_required
def four_corners(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    """Revenue, costs, profit and lost opportunity over the last 12 months, drawn and tabled; lost deals by
    reason, stage and owner; the yearly value of the customers now lapsing. `?format=csv`: the numbers."""
    from friday.insights import corners

    starts = corners.month_starts(12)
    lost = corners.lost(user=request.user, starts=starts)
    months = corners.trend(user=request.user, months=12, lost_deals=lost)
    whole = corners.over(months, user=request.user, lost_count=sum(b.count for b in lost.by_reason))
    if request.GET.get("format") == "csv":
        return _corners_csv(months, lost, whole)
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
    return render(
        request,
        "insights/corners.html",
        {
            "months": months,
            "last_month": months[-1].start,
            "chart": chart,
            "whole": whole,
            "by_reason": _with_bars(lost.by_reason),
            "by_stage": _with_bars(lost.by_stage),
            "by_owner": _with_bars(lost.by_owner),
            "today": clock.today(),
        },
    )


def _with_bars(rows: list[Any]) -> list[dict[str, Any]]:
    """Ranked rows with each one's bar as a share of the biggest value (the chart beside the numbers)."""
    biggest = max((r.value for r in rows), default=Decimal(0))
    return [{"row": r, "percent": round(100 * r.value / biggest) if biggest else 0} for r in rows]


def _corners_csv(months: list[Any], lost: Any, whole: Any) -> StreamingHttpResponse:
    rows: list[list[Any]] = [
        ["month", m.start.strftime("%Y-%m"), m.revenue, m.costs, m.profit, m.lost_deals, ""] for m in months
    ]
    for section, items in (
        ("lost by reason", lost.by_reason),
        ("lost by stage", lost.by_stage),
        ("lost by owner", lost.by_owner),
    ):
        rows += [[section, b.label, "", "", "", b.value, b.count] for b in items]
    rows.append(["lapsing customers' yearly value", "", "", "", "", whole.lapsing_value, whole.lapsing_count])
    return csv_response(
        f"four-corners-{months[0].start:%Y-%m}-to-{months[-1].start:%Y-%m}.csv",
        ["section", "label", f"revenue ({whole.currency})", "costs", "profit", "lost value", "count"],
        rows,
    )


@never_cache
@csrf_exempt  # RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click" with no session and no CSRF token
@require_http_methods(["GET", "POST"])
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link of a digest: no sign-in, the signed token is the key. Opening it (GET) only asks — a
    link scanner must not unsubscribe anyone — and the button (or the mail client's one-click POST) turns the
    digest off. A token not made by Friday is refused with 404 and changes nothing."""
    from friday.accounts.services import user_digest_set

    target = digest.unsubscribe_user(token)
    if target is None:
        return render(request, "insights/digest_unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        user_digest_set(by=target, user=target, enabled=False)
        done = True
    return render(request, "insights/digest_unsubscribe.html", {"target": target, "done": done})


# --- is the process used? (adoption) ------------------------------------------------------------------------


def _csv(filename: str, rows: Iterable[list[Any]]) -> StreamingHttpResponse:
    """A CSV download whose first row is the header; formula-like cells neutralised (`friday.core.csvout`)."""
    it = iter(rows)
    return csv_response(filename, next(it, []), it)


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
def adoption_page(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
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
def best_staff_csv(request: AuthedRequest) -> StreamingHttpResponse:
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
        "staff_currency": business.currency(),
    }


# --- Best: customers and suppliers --------------------------------------------------------------------------

CSV_PARTS = ("profit", "clv", "rfm", "reliability", "costs")


def _best_csv(part: str, user: User, form: BestForm) -> StreamingHttpResponse:
    top, period = form.top_n(), form.period()
    if part in ("profit", "clv"):
        ranked = ranks.top_customers(user=user, by=part, limit=top)
        return csv_response(
            f"best-customers-by-{part}.csv",
            ["rank", "party_id", "customer", "gross_profit", "revenue", "clv_12m", "currency"],
            (
                [
                    i,
                    r.metrics.party_id,
                    r.metrics.party.display_name,
                    r.metrics.gross_profit,
                    r.metrics.revenue,
                    r.metrics.clv_12m,
                    r.metrics.currency,
                ]
                for i, r in enumerate(ranked, 1)
            ),
        )
    if part == "rfm":
        found = ranks.rfm_segments(user=user)
        return csv_response(
            "rfm-segments.csv",
            ["segment", "label", "customers", "customers_percent", "revenue", "revenue_percent", "currency"],
            (
                [
                    s.key,
                    s.label,
                    s.customers,
                    s.customers_percent,
                    s.revenue,
                    s.revenue_percent,
                    found.currency,
                ]
                for s in found.rows
            ),
        )
    if part == "reliability":
        kept = ranks.supplier_reliability(user=user, period=period, limit=top)
        return csv_response(
            f"suppliers-by-reliability-{period.start}-{period.last_day}.csv",
            [
                "rank",
                "party_id",
                "supplier",
                "on_time_percent",
                "on_time",
                "late",
                "open_past_due",
                "not_yet_due",
            ],
            (
                [i, r.party.pk, r.party.display_name, r.share, r.on_time, r.late, r.overdue, r.pending]
                for i, r in enumerate(kept, 1)
            ),
        )
    costs = ranks.supplier_costs(user=user, period=period, limit=top)
    return csv_response(
        f"suppliers-by-cost-{period.start}-{period.last_day}.csv",
        ["rank", "party_id", "supplier", "bills", "total", "share_percent", "currency"],
        (
            [i, c.party.pk, c.party.display_name, c.bills, c.total, c.share, costs.currency]
            for i, c in enumerate(costs.rows, 1)
        ),
    )


@login_required
def best(request: AuthedRequest) -> HttpResponseBase:
    """Customers ranked by gross profit and by lifetime value, RFM segments, suppliers by reliability and by
    cost — each drawn, tabled, and downloadable (?format=csv&part=…), within what the user may see."""
    default = ranks.last_year()
    form = BestForm(
        request.GET or None, initial={"since": default.start, "until": default.last_day, "top": ranks.TOP}
    )
    if request.GET.get("format") == "csv":
        part = request.GET.get("part", "")
        if part not in CSV_PARTS:
            return HttpResponse(
                f"Unknown part {part!r}: use one of {', '.join(CSV_PARTS)}.",
                status=400,
                content_type="text/plain",
            )
        if not form.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
            )
            return HttpResponse(problems, status=400, content_type="text/plain")
        return _best_csv(part, request.user, form)
    top, period = form.top_n(), form.period()
    context = {
        "form": form,
        "top": top,
        "period": period,
        "by_profit": ranks.top_customers(user=request.user, by="profit", limit=top),
        "by_clv": ranks.top_customers(user=request.user, by="clv", limit=top),
        "segments": ranks.rfm_segments(user=request.user),
        "reliability": ranks.supplier_reliability(user=request.user, period=period, limit=top),
        "costs": ranks.supplier_costs(user=request.user, period=period, limit=top),
        "fit": value_model.current_fit(),
        "query": f"since={period.start}&until={period.last_day}&top={top}",
        # Staff, by process adherence and their customers' outcomes, over the same period (insights.adoption).
        **best_staff_context(user=request.user, start=period.start, end=period.end),
    }
    return render(
        request, "insights/best.html", context, status=400 if form.is_bound and not form.is_valid() else 200
    )


@login_required
def best_segment(request: AuthedRequest, segment: str) -> HttpResponseBase:
    """The customers of one RFM segment, most revenue first; ?format=csv gives them all."""
    if segment not in Segment.values:
        raise Http404("No such RFM segment.")
    which = Segment(segment)
    if request.GET.get("format") == "csv":
        rows = ranks.segment_members_all(user=request.user, segment=segment)
        return csv_response(
            f"rfm-{segment}.csv",
            [
                "party_id",
                "customer",
                "r",
                "f",
                "m",
                "purchases",
                "last_purchase_on",
                "revenue",
                "gross_profit",
                "clv_12m",
            ],
            rows.iterator(chunk_size=2000),
        )
    error, page = None, None
    try:
        page = ranks.segment_members(user=request.user, segment=segment, cursor=request.GET.get("cursor"))
    except FridayError as exc:
        error = exc
    return render(
        request,
        "insights/best_segment.html",
        {
            "segment": which,
            "description": DESCRIPTIONS[which],
            "page": page,
            "error": error,
            "fit": value_model.current_fit(),
        },
        status=400 if error else 200,
    )

"""Reads of feedback, scoped to what the user may see: a member sees the answers of the parties they may see.
The report: NPS (% promoters − % detractors) and CSAT (% of answers 4–5, and the average) per period and
per segment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncQuarter

from friday.accounts.models import User
from friday.accounts.scoping import visible_q
from friday.core import clock
from friday.core.errors import Collector, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page
from friday.feedback.models import Category, FeedbackRequest, Response, Survey, SurveyKind
from friday.processes import segments

MAX_LIMIT = 200
PERIODS = ("month", "quarter")
MAX_PERIODS = 60  # five years of months on one page
MAX_SEGMENTS = 50
# Dates a report or a list may ask about: wide enough for any business, narrow enough to never overflow.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def _check_dates(errors: Collector, **dates: dt.date | None) -> None:
    for name, value in dates.items():
        if value is not None and not EARLIEST <= value <= LATEST:
            errors.add(name, f"Give a date from {EARLIEST.year} to {LATEST.year}.", code="invalid.date")


def survey_list() -> QuerySet[Survey]:
    return Survey.objects.order_by("name", "id")


def survey_get(*, key: str) -> Survey:
    ok = isinstance(key, str) and len(key) <= 40 and "\x00" not in key
    survey = Survey.objects.filter(key=key).first() if ok else None
    if survey is None:
        raise NotFound("No such survey.", code="survey.not_found", field="survey")
    return survey


def responses_visible(user: User) -> QuerySet[Response]:
    return Response.objects.filter(visible_q(user, owner="party__owner", team="party__team"))


def requests_visible(user: User) -> QuerySet[FeedbackRequest]:
    return FeedbackRequest.objects.filter(visible_q(user, owner="party__owner", team="party__team"))


def response_get(*, user: User, response_id: int) -> Response:
    response = None
    if valid_id(response_id):
        response = (
            responses_visible(user)
            .select_related("party", "survey", "request")
            .filter(pk=response_id)
            .first()
        )
    if response is None:
        raise NotFound("No such response.", code="response.not_found")
    return response


def request_get(*, user: User, request_id: int) -> FeedbackRequest:
    found = None
    if valid_id(request_id):
        found = requests_visible(user).select_related("party", "survey").filter(pk=request_id).first()
    if found is None:
        raise NotFound("No such feedback request.", code="feedback_request.not_found")
    return found


@dataclass
class ResponseFilters:
    survey: str = ""  # a survey's key, or "" for all
    category: str = ""  # detractor, passive, promoter, unsatisfied, neutral, satisfied, or ""
    party_id: int | None = None
    since: dt.date | None = None  # business dates, both ends included
    until: dt.date | None = None


def _bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = clock.business_tz()
    return (
        dt.datetime.combine(since, dt.time.min, tzinfo=tz),
        dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def response_list(
    *, user: User, filters: ResponseFilters, cursor: str | None = None, limit: int = 50
) -> Page:
    """The answers the user may see, newest first (keyset-paginated on (answered_at, id))."""
    errors = Collector()
    if not 1 <= limit <= MAX_LIMIT:
        errors.add("limit", f"Limit must be between 1 and {MAX_LIMIT}.", code="invalid.limit")
    qs = responses_visible(user)
    if filters.survey:
        ok = len(filters.survey) <= 40 and "\x00" not in filters.survey
        survey = Survey.objects.filter(key=filters.survey).first() if ok else None
        if survey is None:
            errors.add("survey", f"There is no survey {filters.survey!r}.", code="invalid.survey")
        else:
            qs = qs.filter(survey=survey)
    if filters.category:
        if filters.category not in Category.values:
            errors.add(
                "category", f"A category is one of {', '.join(Category.values)}.", code="invalid.category"
            )
        qs = qs.filter(category=filters.category)
    if filters.party_id is not None:
        if not valid_id(filters.party_id):
            errors.add("party_id", "No such id.", code="invalid.id")
        else:
            qs = qs.filter(party_id=filters.party_id)
    _check_dates(errors, since=filters.since, until=filters.until)
    if not errors and filters.since and filters.until and filters.since > filters.until:
        errors.add("until", "The end is before the start.", code="invalid.range")
    errors.raise_if_any()
    if filters.since:
        qs = qs.filter(answered_at__gte=_bounds(filters.since, filters.since)[0])
    if filters.until:
        qs = qs.filter(answered_at__lt=_bounds(filters.until, filters.until)[1])
    qs = qs.select_related("party", "survey")
    return keyset_page(qs, order=["-answered_at", "-id"], cursor=cursor, limit=limit)


def party_responses(user: User, party_id: int, *, limit: int = 5) -> list[Response]:
    return list(
        responses_visible(user)
        .filter(party_id=party_id)
        .select_related("survey")
        .order_by("-answered_at", "-id")[:limit]
    )


def party_open_requests(user: User, party_id: int, *, limit: int = 5) -> list[FeedbackRequest]:
    return list(
        requests_visible(user)
        .filter(party_id=party_id, answered_at__isnull=True, expires_at__gt=clock.now())
        .select_related("survey")
        .order_by("-created_at", "-id")[:limit]
    )


# --- the report ------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """The answers of one period or one segment, and the scores they make."""

    label: str
    responses: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # category → answers
    score_sum: int = 0
    start: dt.date | None = None
    segment_id: int | None = None

    def n(self, category: str) -> int:
        return self.counts.get(category, 0)

    @property
    def promoters(self) -> int:
        return self.n(Category.PROMOTER)

    @property
    def passives(self) -> int:
        return self.n(Category.PASSIVE)

    @property
    def detractors(self) -> int:
        return self.n(Category.DETRACTOR)

    @property
    def satisfied(self) -> int:
        return self.n(Category.SATISFIED)

    @property
    def nps(self) -> float | None:
        """% promoters − % detractors, from −100 to 100 (one decimal); None without answers."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)

    @property
    def csat(self) -> float | None:
        """% of answers that are 4 or 5 (one decimal); None without answers."""
        if not self.responses:
            return None
        return round(100 * self.satisfied / self.responses, 1)

    @property
    def average(self) -> float | None:
        if not self.responses:
            return None
        return round(self.score_sum / self.responses, 2)

    def add(self, category: str, count: int, score_sum: int) -> None:
        self.counts[category] = self.counts.get(category, 0) + count
        self.responses += count
        self.score_sum += score_sum


@dataclass
class Report:
    survey: Survey
    period: str
    since: dt.date
    until: dt.date
    periods: list[Figures]
    segments: list[Figures]
    total: Figures
    segment: Any = None  # the segment the periods are narrowed to, if any

    @property
    def is_nps(self) -> bool:
        return self.survey.kind == SurveyKind.NPS


def _period_start(day: dt.date, period: str) -> dt.date:
    if period == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, day.month, 1)


def _next_period(day: dt.date, period: str) -> dt.date:
    step = 3 if period == "quarter" else 1
    month = day.month - 1 + step
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def _period_label(start: dt.date, period: str) -> str:
    if period == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"{start:%b %Y}"


def default_range() -> tuple[dt.date, dt.date]:
    """The last twelve months, this one included."""
    today = clock.today()
    start = dt.date(today.year - 1, today.month, 1)
    return _next_period(start, "month"), today


def report_range(since: dt.date | None, until: dt.date | None, period: str) -> tuple[dt.date, dt.date]:
    """The dates a report covers, checked: FridayError naming the field that is wrong."""
    errors = Collector()
    if period not in PERIODS:
        errors.add("period", "A period is month or quarter.", code="invalid.period")
    _check_dates(errors, since=since, until=until)
    errors.raise_if_any()
    default_since, default_until = default_range()
    since, until = since or default_since, until or default_until
    if since > until:
        errors.add("until", "The end is before the start.", code="invalid.range")
    elif period in PERIODS:
        count, start = 0, _period_start(since, period)
        while start <= until and count <= MAX_PERIODS:
            start, count = _next_period(start, period), count + 1
        if count > MAX_PERIODS:
            errors.add("since", f"A report covers at most {MAX_PERIODS} periods.", code="invalid.range")
    errors.raise_if_any()
    return since, until


def _figures(qs: QuerySet[Response], into: Figures) -> Figures:
    for row in qs.values("category").annotate(n=Count("id"), s=Sum("score")).order_by("category"):
        into.add(row["category"], row["n"], row["s"] or 0)
    return into


def report(
    *,
    user: User,
    survey: Survey,
    since: dt.date | None = None,
    until: dt.date | None = None,
    period: str = "month",
    segment_id: int | None = None,
) -> Report:
    """NPS or CSAT of `survey` per period (month or quarter, business time zone) and per segment the user can
    see, from the answers the user may see. Every period in the range is listed, those without answers too."""
    since, until = report_range(since, until, period)
    start, end = _bounds(since, until)
    base = responses_visible(user).filter(survey=survey, answered_at__gte=start, answered_at__lt=end)
    segment = None
    narrowed = base
    if segment_id is not None:
        try:
            segment = segments.segment_get(user=user, segment_id=segment_id)
        except NotFound as exc:
            exc.field = "segment_id"
            raise
        narrowed = base.filter(party__in=segments.segment_parties(user=user, filters=segment.filters))
    tz = clock.business_tz()
    trunc = TruncQuarter if period == "quarter" else TruncMonth
    buckets: dict[dt.date, Figures] = {}
    day = _period_start(since, period)
    while day <= until:
        buckets[day] = Figures(label=_period_label(day, period), start=day)
        day = _next_period(day, period)
    rows = (
        narrowed.annotate(bucket=trunc("answered_at", tzinfo=tz))
        .values("bucket", "category")
        .annotate(n=Count("id"), s=Sum("score"))
        .order_by("bucket", "category")
    )
    total = Figures(label="All")
    for row in rows:
        bucket = row["bucket"]
        key = _period_start(
            bucket.astimezone(tz).date() if isinstance(bucket, dt.datetime) else bucket, period
        )
        figures = buckets.setdefault(key, Figures(label=_period_label(key, period), start=key))
        figures.add(row["category"], row["n"], row["s"] or 0)
        total.add(row["category"], row["n"], row["s"] or 0)
    by_segment = [_figures(base, Figures(label="Everyone you can see"))]
    for seg in segments.segments_visible(user).order_by("name", "id")[:MAX_SEGMENTS]:
        parties = segments.segment_parties(user=user, filters=seg.filters)
        by_segment.append(
            _figures(base.filter(party__in=parties), Figures(label=seg.name, segment_id=seg.pk))
        )
    return Report(
        survey=survey,
        period=period,
        since=since,
        until=until,
        periods=[buckets[k] for k in sorted(buckets)],
        segments=by_segment,
        total=total,
        segment=segment,
    )

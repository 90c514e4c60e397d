"""Feedback pages: the public answer page behind a link (no sign-in, rate-limited), and for staff the report
(NPS / CSAT per period and per segment), the answers, the survey settings and asking a party by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts.models import User
from friday.core import business, export
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest
from friday.core.pagination import Page
from friday.feedback import selectors, services
from friday.feedback.forms import SurveyForm
from friday.feedback.models import Category, SurveyKind
from friday.feedback.ratelimit import over_limit
from friday.parties.selectors import party_get
from friday.processes.segments import segments_visible

# --- the public answer page --------------------------------------------------------------------------------------


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _too_many(request: HttpRequest) -> HttpResponse:
    window = settings.FRIDAY_FEEDBACK_WINDOW_SECONDS
    response = render(
        request,
        "feedback/public_refused.html",
        {
            "title": "Too many attempts",
            "detail": "There have been too many attempts from here. Please wait a while and try again.",
        },
        status=429,
    )
    response["Retry-After"] = str(window)
    return response


def _refused(request: HttpRequest, exc: FridayError) -> HttpResponse:
    titles = {
        "feedback.token_used": "Already answered",
        "feedback.token_expired": "This link has expired",
    }
    return render(
        request,
        "feedback/public_refused.html",
        {"title": titles.get(exc.code, "Link not found"), "detail": exc.detail, "code": exc.code},
        status=exc.status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in: the secret in the address is the key. Forged → 404, expired or used → 410, both saying so
    plainly; too many attempts from one address or on one link → 429. Nothing changes unless the answer is
    recorded."""
    if over_limit(
        "feedback-ip",
        _client_ip(request),
        limit=settings.FRIDAY_FEEDBACK_MAX_PER_IP,
        window=settings.FRIDAY_FEEDBACK_WINDOW_SECONDS,
    ):
        return _too_many(request)
    if request.method == "POST" and over_limit(
        "feedback-token",
        services.token_digest(token),
        limit=settings.FRIDAY_FEEDBACK_MAX_PER_TOKEN,
        window=settings.FRIDAY_FEEDBACK_WINDOW_SECONDS,
    ):
        return _too_many(request)
    try:
        feedback = services.feedback_open(token)
    except services.TokenRefused as exc:
        return _refused(request, exc)
    errors: dict[str, str] = {}
    values = {"score": "", "comment": ""}
    if request.method == "POST":
        values = {"score": request.POST.get("score", ""), "comment": request.POST.get("comment", "")}
        try:
            services.feedback_answer(token=token, score=values["score"] or None, comment=values["comment"])
        except services.TokenRefused as exc:
            return _refused(request, exc)
        except ValidationFailed as exc:
            errors = {e.field or "score": e.detail for e in exc.errors}
        else:
            return redirect("feedback_thanks")
    survey = feedback.survey
    return render(
        request,
        "feedback/public_answer.html",
        {
            "survey": survey,
            "scale": list(survey.scale),
            "nps": survey.kind == SurveyKind.NPS,
            "business": business.name(),
            "errors": errors,
            "values": values,
        },
        status=422 if errors else 200,
    )


@never_cache
def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/public_thanks.html", {"business": business.name()})


# --- staff pages -------------------------------------------------------------------------------------------------


def _date(value: str, name: str, errors: list[FridayError]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(FridayError("Give a date as YYYY-MM-DD.", code="invalid.date", field=name))
        return None


def _bar(value: float | None, diverging: bool) -> dict[str, float]:
    """Where a value's bar sits on a 0–100 % track: NPS (−100…100) grows either way from the middle."""
    if value is None:
        return {"x": 0.0, "width": 0.0}
    if diverging:
        half = abs(value) / 2
        return {"x": 50.0 if value >= 0 else 50.0 - half, "width": half}
    return {"x": 0.0, "width": max(0.0, min(100.0, value))}


@login_required
def report_page(request: AuthedRequest) -> HttpResponse:
    surveys = list(selectors.survey_list())
    errors: list[FridayError] = []
    default = next((s.key for s in surveys if s.kind == SurveyKind.NPS), surveys[0].key if surveys else "")
    key = request.GET.get("survey") or default
    period = request.GET.get("period", "month")
    since = _date(request.GET.get("since", ""), "since", errors)
    until = _date(request.GET.get("until", ""), "until", errors)
    segment = request.GET.get("segment", "")
    segment_id = int(segment) if segment.isdigit() and len(segment) < 19 else None
    report = None
    if key and not errors:
        try:
            survey = selectors.survey_get(key=key)
            report = selectors.report(
                user=request.user,
                survey=survey,
                since=since,
                until=until,
                period=period,
                segment_id=segment_id,
            )
        except FridayError as exc:
            errors.extend(exc.errors if isinstance(exc, ValidationFailed) else [exc])
    rows = []
    if report is not None:
        for figures in report.periods:
            value = figures.nps if report.is_nps else figures.csat
            rows.append({"f": figures, "value": value, "bar": _bar(value, report.is_nps)})
    return render(
        request,
        "feedback/report.html",
        {
            "surveys": surveys,
            "report": report,
            "rows": rows,
            "errors": errors,
            "key": key,
            "period": period,
            "since": request.GET.get("since", ""),
            "until": request.GET.get("until", ""),
            "segment_id": segment_id,
            "segments": list(segments_visible(request.user).order_by("name", "id")[: selectors.MAX_SEGMENTS]),
        },
        status=400 if errors else 200,
    )


def _export(
    request: AuthedRequest, fmt: str, filters: selectors.ResponseFilters
) -> HttpResponse | StreamingHttpResponse:
    """Every answer of the list as filtered (its own pages, so its own scope)."""
    columns = [
        export.Column("answered", lambda r: r.answered_at),
        export.Column("survey", lambda r: r.survey.name),
        export.Column("party", lambda r: r.party.display_name),
        export.Column("party id", lambda r: r.party_id),
        export.Column("score", lambda r: r.score),
        export.Column("category", lambda r: r.get_category_display()),
        export.Column("comment", lambda r: r.comment),
    ]

    def fetch(cursor: str | None) -> Page:
        return selectors.response_list(
            user=request.user, filters=filters, cursor=cursor, limit=selectors.MAX_LIMIT
        )

    return export.export_response(fmt, "feedback", columns, export.rows_of(fetch))


@login_required
def response_list(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    errors: list[FridayError] = []
    party = request.GET.get("party", "")
    filters = selectors.ResponseFilters(
        survey=request.GET.get("survey", ""),
        category=request.GET.get("category", ""),
        party_id=int(party) if party.isdigit() and len(party) < 19 else None,
        since=_date(request.GET.get("since", ""), "since", errors),
        until=_date(request.GET.get("until", ""), "until", errors),
    )
    page = None
    if not errors:
        try:
            page = selectors.response_list(
                user=request.user, filters=filters, cursor=request.GET.get("cursor")
            )
        except FridayError as exc:
            errors.extend(exc.errors if isinstance(exc, ValidationFailed) else [exc])
    fmt = export.requested(request)
    if fmt and not errors:
        return _export(request, fmt, filters)
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("format", None)
    return render(
        request,
        "feedback/responses.html",
        {
            "page": page,
            "errors": errors,
            "filters": filters,
            "since": request.GET.get("since", ""),
            "until": request.GET.get("until", ""),
            "surveys": list(selectors.survey_list()),
            "categories": Category.choices,
            "query": query.urlencode(),
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_edit(request: AuthedRequest, key: str) -> HttpResponse:
    services.require_survey_editor(request.user)
    survey = selectors.survey_get(key=key)
    initial = {
        "name": survey.name,
        "question": survey.question,
        "comment_prompt": survey.comment_prompt,
        "valid_days": survey.valid_days,
        "template_key": survey.template_key,
        "active": survey.active,
    }
    form = SurveyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_update(
                by=request.user, survey=survey, data=services.SurveyIn(**form.cleaned_data)
            )
        except ValidationFailed as exc:
            for e in exc.errors:
                form.add_error(e.field if e.field in form.fields else None, e.detail)
        else:
            messages.success(request, f"“{form.cleaned_data['name']}” was saved.")
            return redirect("feedback:report")
    return render(
        request,
        "feedback/survey_form.html",
        {"survey": survey, "form": form},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def request_create(request: AuthedRequest, party_id: int) -> HttpResponse:
    """Ask a party by hand: email them the survey's message with the link (when they have an address), or show
    the link once, to pass on by phone or text."""
    party = party_get(user=request.user, party_id=party_id, for_write=True)
    survey = selectors.survey_get(key=request.POST.get("survey", ""))
    by_email = request.POST.get("send") == "email"
    try:
        feedback, url, message = services.feedback_ask(
            by=request.user, survey=survey, party=party, email=by_email
        )
    except FridayError as exc:
        messages.error(request, exc.detail)
        return redirect("parties:detail", party_id=party.pk)
    return render(
        request,
        "feedback/request_made.html",
        {"party": party, "survey": survey, "feedback": feedback, "url": url, "message": message},
        status=201,
    )


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Feedback card on a party page: the latest answers and open requests, and asking by hand."""
    return {
        "responses": selectors.party_responses(user, party.pk),
        "open": selectors.party_open_requests(user, party.pk),
        "surveys": [s for s in selectors.survey_list() if s.active],
    }

"""Feedback over HTTP: surveys, requests (a link made by hand is returned once), responses and the report."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Query, Router, Schema, Status

from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Str20, Str40, Str60, Str200, Str500
from friday.feedback import selectors, services
from friday.feedback.models import SCALES, FeedbackRequest, Response, Survey
from friday.feedback.selectors import Figures
from friday.parties.selectors import party_get

router = Router(tags=["feedback"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 410: ErrorOut, 422: ErrorOut}
CATEGORY = "^(|detractor|passive|promoter|unsatisfied|neutral|satisfied)$"


class Ref(Schema):
    id: int
    name: str


class SurveyOut(Schema):
    key: str
    name: str
    kind: str = Field(description="nps (0–10) or csat (1–5)")
    question: str
    comment_prompt: str
    active: bool
    valid_days: int = Field(description="How long a link can be answered")
    template_key: str = Field(description="The message template that carries the link")
    scale_min: int
    scale_max: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_scale_min(obj: Survey) -> int:
        return SCALES[obj.kind][0]

    @staticmethod
    def resolve_scale_max(obj: Survey) -> int:
        return SCALES[obj.kind][1]


class SurveyPatchIn(InSchema):
    name: Str200 | None = None
    question: Str500 | None = Field(None, description="At most 300 characters")
    comment_prompt: Str200 | None = None
    active: bool | None = None
    valid_days: int | None = Field(None, ge=1, le=365)
    template_key: Str60 | None = None


class RequestIn(InSchema):
    survey: Str40 = Field(description="The survey's key, e.g. nps")
    party_id: Id
    record_type: Str20 = Field("", description="What it asks about, e.g. job (optional)")
    record_id: Id | None = None


class RequestOut(Schema):
    id: int
    survey: str
    party: Ref
    record_type: str
    record_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime
    answered_at: dt.datetime | None

    @staticmethod
    def resolve_survey(obj: FeedbackRequest) -> str:
        return obj.survey.key

    @staticmethod
    def resolve_party(obj: FeedbackRequest) -> dict:
        return {"id": obj.party_id, "name": obj.party.display_name}


class RequestCreatedOut(RequestOut):
    url: str = Field(description="The link to answer it: shown this once, only its hash is kept")


class ResponseOut(Schema):
    id: int
    survey: str
    kind: str
    party: Ref
    score: int
    category: str
    comment: str
    answered_at: dt.datetime
    request_id: int

    @staticmethod
    def resolve_survey(obj: Response) -> str:
        return obj.survey.key

    @staticmethod
    def resolve_kind(obj: Response) -> str:
        return obj.survey.kind

    @staticmethod
    def resolve_party(obj: Response) -> dict:
        return {"id": obj.party_id, "name": obj.party.display_name}


class ResponsePage(Schema):
    items: list[ResponseOut]
    next_cursor: str | None


class ResponseParams(Schema):
    survey: Str40 = ""
    category: str = Field("", pattern=CATEGORY)
    party_id: Id | None = None
    since: dt.date | None = Field(None, description="Answered on or after this date (business time zone)")
    until: dt.date | None = Field(None, description="Answered on or before this date")
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


class ReportParams(Schema):
    survey: Str40 = "nps"
    period: str = Field("month", pattern="^(month|quarter)$")
    since: dt.date | None = Field(None, description="Default: the start of the month a year ago")
    until: dt.date | None = Field(None, description="Default: today")
    segment_id: Id | None = Field(None, description="Only the parties of this segment, per period")


class FiguresOut(Schema):
    label: str
    start: dt.date | None = Field(description="The period's first day (periods only)")
    segment_id: int | None
    responses: int
    promoters: int
    passives: int
    detractors: int
    satisfied: int = Field(description="CSAT answers of 4 or 5")
    nps: float | None = Field(description="% promoters − % detractors (NPS surveys)")
    csat: float | None = Field(description="% of answers that are 4 or 5 (CSAT surveys)")
    average: float | None
    counts: dict[str, int]


class ReportOut(Schema):
    survey: str
    kind: str
    period: str
    since: dt.date
    until: dt.date
    segment_id: int | None
    total: FiguresOut
    periods: list[FiguresOut]
    segments: list[FiguresOut]


def _figures(f: Figures, nps: bool) -> dict:
    return {
        "label": f.label,
        "start": f.start,
        "segment_id": f.segment_id,
        "responses": f.responses,
        "promoters": f.promoters,
        "passives": f.passives,
        "detractors": f.detractors,
        "satisfied": f.satisfied,
        "nps": f.nps if nps else None,
        "csat": None if nps else f.csat,
        "average": f.average,
        "counts": f.counts,
    }


def _survey_field(key: str) -> Survey:
    """A survey named in a request body: unknown is bad input (422) naming the field."""
    try:
        return selectors.survey_get(key=key)
    except NotFound:
        raise ValidationFailed(
            [FridayError(f"There is no survey {key!r}.", code="invalid.survey", field="survey")]
        ) from None


@router.get("/surveys", response={200: list[SurveyOut], **ERRORS}, summary="List the surveys")
def survey_list(request: AuthedRequest):
    return list(selectors.survey_list())


@router.get("/surveys/{key}", response={200: SurveyOut, **ERRORS}, summary="Get a survey")
def survey_get(request: AuthedRequest, key: str):
    return selectors.survey_get(key=key)


@router.patch(
    "/surveys/{key}", response={200: SurveyOut, **ERRORS}, summary="Change a survey (admins and managers)"
)
def survey_update(request: AuthedRequest, key: str, payload: SurveyPatchIn):
    survey = selectors.survey_get(key=key)
    data = services.SurveyIn()
    for name in payload.model_fields_set:
        setattr(data, name, getattr(payload, name))
    return services.survey_update(by=request.user, survey=survey, data=data)


@router.post(
    "/requests",
    response={201: RequestCreatedOut, **ERRORS},
    summary="Ask a party for feedback: returns the link, this once",
)
def request_create(request: AuthedRequest, payload: RequestIn):
    try:
        party = party_get(user=request.user, party_id=payload.party_id, for_write=True)
    except NotFound as exc:
        exc.field = "party_id"
        raise
    survey = _survey_field(payload.survey)
    if bool(payload.record_type) != (payload.record_id is not None):
        raise ValidationFailed(
            [
                FridayError(
                    "Give both record_type and record_id, or neither.",
                    code="invalid.record",
                    field="record_id" if payload.record_type else "record_type",
                )
            ]
        )
    record = (payload.record_type, payload.record_id) if payload.record_id is not None else None
    made, raw = services.feedback_request(survey=survey, party=party, record=record, by=request.user)
    assert raw is not None  # no key: always a new request
    made = selectors.request_get(user=request.user, request_id=made.pk)
    made.url = services.feedback_url(raw)  # type: ignore[attr-defined]
    return Status(201, made)


@router.get("/requests/{request_id}", response={200: RequestOut, **ERRORS}, summary="Get a feedback request")
def request_get(request: AuthedRequest, request_id: int):
    return selectors.request_get(user=request.user, request_id=request_id)


@router.get(
    "/responses",
    response={200: ResponsePage, **ERRORS},
    summary="List answers (newest first, keyset-paginated; only parties you may see)",
)
def response_list(request: AuthedRequest, params: Query[ResponseParams]):
    filters = selectors.ResponseFilters(
        survey=params.survey,
        category=params.category,
        party_id=params.party_id,
        since=params.since,
        until=params.until,
    )
    page = selectors.response_list(
        user=request.user, filters=filters, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/responses/{response_id}", response={200: ResponseOut, **ERRORS}, summary="Get an answer")
def response_get(request: AuthedRequest, response_id: int):
    return selectors.response_get(user=request.user, response_id=response_id)


@router.get(
    "/report",
    response={200: ReportOut, **ERRORS},
    summary="NPS or CSAT of a survey per period (month or quarter) and per segment",
)
def report(request: AuthedRequest, params: Query[ReportParams]):
    try:
        survey = selectors.survey_get(key=params.survey)
    except NotFound:
        raise ValidationFailed(
            [FridayError(f"There is no survey {params.survey!r}.", code="invalid.survey", field="survey")]
        ) from None
    result = selectors.report(
        user=request.user,
        survey=survey,
        since=params.since,
        until=params.until,
        period=params.period,
        segment_id=params.segment_id,
    )
    nps = result.is_nps
    return {
        "survey": survey.key,
        "kind": survey.kind,
        "period": result.period,
        "since": result.since,
        "until": result.until,
        "segment_id": result.segment.pk if result.segment else None,
        "total": _figures(result.total, nps),
        "periods": [_figures(f, nps) for f in result.periods],
        "segments": [_figures(f, nps) for f in result.segments],
    }

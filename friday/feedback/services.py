"""The only write path for feedback: survey settings, tokenised requests (idempotent by key) and answers
(once per link, refused with a clear code when the link is forged, expired or used — changing nothing)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.core import clock
from friday.core.errors import Collector, Conflict, FridayError, PermissionDenied
from friday.core.events import event_emit
from friday.core.ids import valid_id
from friday.feedback.models import SCALES, FeedbackRequest, Response, Survey, SurveyKind, category_for
from friday.parties.models import Party
from friday.parties.services import timeline_add

MAX_COMMENT = 2000
MAX_VALID_DAYS = 365
MAX_TOKEN = 100  # a real token is 43 characters; anything much longer is not one of ours
PAYLOAD_COMMENT = 200  # characters of the comment an event carries (the response keeps all of it)
UNSET: Any = object()


class TokenRefused(FridayError):
    """A feedback link that cannot be answered. 404: it never existed; 410: it did, but no longer works."""

    code = "feedback.token_invalid"
    status = 404

    def __init__(self, detail: str, *, code: str, status: int = 404) -> None:
        super().__init__(detail, code=code)
        self.status = status


def _used() -> TokenRefused:
    return TokenRefused(
        "This feedback link has already been used: thank you, we have your answer.",
        code="feedback.token_used",
        status=410,
    )


def feedback_url(raw: str) -> str:
    """The absolute address of a feedback link, as customers reach the web app (FRIDAY_BASE_URL)."""
    from django.conf import settings
    from django.urls import reverse

    return settings.FRIDAY_BASE_URL.rstrip("/") + reverse("feedback_answer", args=[raw])


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def require_survey_editor(user: User) -> None:
    if not user.can_edit_processes:
        raise PermissionDenied(
            "Only an admin or a manager can change surveys.", code="permission.survey_editor"
        )


# --- surveys ---------------------------------------------------------------------------------------------------


def survey_defaults_install() -> int:
    """Add the default surveys (nps, csat) that are missing — the starter rules ask with them. Returns how many
    were added; one that exists is left as the business changed it."""
    from friday.feedback.defaults import DEFAULT_SURVEYS

    added = 0
    for values in DEFAULT_SURVEYS:
        _, created = Survey.objects.get_or_create(
            key=values["key"], defaults={**values, "updated_at": clock.now()}
        )
        added += created
    return added


@dataclass
class SurveyIn:
    name: Any = UNSET
    question: Any = UNSET
    comment_prompt: Any = UNSET
    active: Any = UNSET
    valid_days: Any = UNSET
    template_key: Any = UNSET


def _line(errors: Collector, field: str, value: Any, limit: int, *, required: bool) -> str:
    text = " ".join(str(value or "").split()) if isinstance(value, str) or value is None else None
    if text is None or "\x00" in text:
        errors.add(field, "Give text.", code="invalid.text")
        return ""
    if required and not text:
        errors.add(field, f"Give the {field.replace('_', ' ')}.", code="invalid.required")
    elif len(text) > limit:
        errors.add(field, f"At most {limit} characters.", code="invalid.too_long")
    return text


@transaction.atomic
def survey_update(*, by: User, survey: Survey, data: SurveyIn) -> Survey:
    """Change a survey's wording, link validity or whether it is in use. Its key and kind never change: the
    answers it has collected were given on its scale."""
    require_survey_editor(by)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    errors = Collector()
    changed: list[str] = []
    if data.name is not UNSET:
        survey.name = _line(errors, "name", data.name, 100, required=True)
        changed.append("name")
    if data.question is not UNSET:
        survey.question = _line(errors, "question", data.question, 300, required=True)
        changed.append("question")
    if data.comment_prompt is not UNSET:
        survey.comment_prompt = _line(errors, "comment_prompt", data.comment_prompt, 200, required=False)
        changed.append("comment_prompt")
    if data.template_key is not UNSET:
        key = _line(errors, "template_key", data.template_key, 60, required=True)
        if key and not key.replace("_", "").replace("-", "").isalnum():
            errors.add("template_key", "A template key is letters, digits, - and _.", code="invalid.key")
        survey.template_key = key
        changed.append("template_key")
    if data.active is not UNSET:
        if not isinstance(data.active, bool):
            errors.add("active", "Say yes or no.", code="invalid.bool")
        survey.active = bool(data.active)
        changed.append("active")
    if data.valid_days is not UNSET:
        days = data.valid_days
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_VALID_DAYS:
            errors.add(
                "valid_days", f"Give a number of days from 1 to {MAX_VALID_DAYS}.", code="invalid.number"
            )
        else:
            survey.valid_days = days
        changed.append("valid_days")
    errors.raise_if_any()
    survey.updated_at, survey.updated_by = clock.now(), by
    survey.save()
    event_emit(
        name="survey.updated", subject=survey, actor=by, payload={"key": survey.key, "fields": changed}
    )
    return survey


# --- requests --------------------------------------------------------------------------------------------------


@transaction.atomic
def feedback_request(
    *,
    survey: Survey,
    party: Party,
    record: tuple[str, int] | None = None,
    key: str | None = None,
    by: User | None = None,
) -> tuple[FeedbackRequest, str | None]:
    """Ask `party` to answer `survey`. Returns the request and its token — shown once, only its hash is kept.
    With a `key`, asking again returns the first request and no token (a retried automation run makes one
    request). `by` None is Friday itself (automation)."""
    if by is not None:
        require_write(by)
    if key is not None:
        if not key or len(key) > 200 or "\x00" in key:
            raise FridayError("A key has at most 200 characters.", code="invalid.key", field="key")
        existing = FeedbackRequest.objects.filter(key=key).first()
        if existing is not None:
            return existing, None
    if not survey.active:
        raise Conflict(
            f"The survey “{survey.name}” is switched off: switch it on to ask for feedback.",
            code="feedback.survey_inactive",
            field="survey",
        )
    errors = Collector()
    if record is not None:
        record_type, record_id = record
        if (
            not isinstance(record_type, str)
            or not record_type
            or len(record_type) > 16
            or "\x00" in record_type
        ):
            errors.add(
                "record_type", "A record's type has 1 to 16 characters, e.g. job.", code="invalid.record"
            )
        if not isinstance(record_id, int) or isinstance(record_id, bool) or not valid_id(record_id):
            errors.add("record_id", "Give the record's id.", code="invalid.record")
    errors.raise_if_any()
    raw = secrets.token_urlsafe(32)
    now = clock.now()
    request = FeedbackRequest(
        survey=survey,
        party=party,
        record_type=record[0] if record else "",
        record_id=record[1] if record else None,
        token_hash=token_digest(raw),
        key=key,
        created_at=now,
        expires_at=now + dt.timedelta(days=survey.valid_days),
        requested_by=by,
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:
        if key is not None:
            existing = FeedbackRequest.objects.filter(key=key).first()
            if existing is not None:  # a concurrent run made it first
                return existing, None
        raise
    timeline_add(
        party,
        event="feedback.requested",
        subject=f"Feedback asked for: {survey.name}",
        by=by,
        data={"request_id": request.pk, "survey": survey.key},
    )
    event_emit(
        name="feedback.requested",
        subject=request,
        actor=by,
        payload={"survey": survey.key, "party_id": party.pk, "key": key or ""},
    )
    return request, raw


@transaction.atomic
def feedback_token_renew(*, request: FeedbackRequest) -> str:
    """A new token for a request that has not been answered (the old link stops working). Used when the
    message carrying the first token was never written, so that no one ever saw it."""
    locked = FeedbackRequest.objects.select_for_update().get(pk=request.pk)
    if locked.answered_at is not None:
        raise _used()
    raw = secrets.token_urlsafe(32)
    locked.token_hash = token_digest(raw)
    locked.save(update_fields=["token_hash"])
    request.token_hash = locked.token_hash
    return raw


# --- answers ---------------------------------------------------------------------------------------------------


def feedback_open(token: Any, *, now: dt.datetime | None = None) -> FeedbackRequest:
    """The request a link stands for, if it can still be answered; TokenRefused (404 forged, 410 expired or
    used) otherwise. Reads only."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN or "\x00" in token:
        raise TokenRefused("This feedback link is not valid.", code="feedback.token_invalid")
    request = (
        FeedbackRequest.objects.select_related("survey", "party")
        .filter(token_hash=token_digest(token))
        .first()
    )
    if request is None:
        raise TokenRefused("This feedback link is not valid.", code="feedback.token_invalid")
    if request.answered_at is not None:
        raise _used()
    if request.expires_at <= (now or clock.now()):
        raise TokenRefused(
            "This feedback link has expired: links work for a limited time.",
            code="feedback.token_expired",
            status=410,
        )
    return request


def clean_answer(survey: Survey, score: Any, comment: Any) -> tuple[int, str]:
    """The score (on the survey's scale) and the comment, or ValidationFailed naming each bad field."""
    errors = Collector()
    low, high = SCALES[survey.kind]
    if isinstance(score, str) and score.strip().lstrip("-").isdigit() and len(score.strip()) < 5:
        score = int(score.strip())
    if not isinstance(score, int) or isinstance(score, bool):
        errors.add("score", f"Choose a score from {low} to {high}.", code="invalid.required")
    elif not low <= score <= high:
        errors.add("score", f"A score is from {low} to {high}.", code="invalid.score")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        errors.add("comment", "A comment is text.", code="invalid.text")
        comment = ""
    comment = comment.strip()
    if "\x00" in comment:
        errors.add("comment", "Null characters are not allowed.", code="invalid.null_character")
    elif len(comment) > MAX_COMMENT:
        errors.add("comment", f"A comment has at most {MAX_COMMENT:,} characters.", code="invalid.too_long")
    errors.raise_if_any()
    return int(score), comment


def _label(survey: Survey, score: int) -> str:
    high = SCALES[survey.kind][1]
    name = "NPS" if survey.kind == SurveyKind.NPS else "CSAT"
    return f"{name} {score}/{high}"


def feedback_answer(*, token: Any, score: Any, comment: Any = "") -> Response:
    """Record the answer to a link: the response, the request marked answered, a timeline entry on the party and
    a `feedback.received` event — in one transaction. A forged, expired or used link, or a bad score or comment,
    is refused and changes nothing; two submits at once record one answer (the second is told it is used)."""
    request = feedback_open(token)
    value, text = clean_answer(request.survey, score, comment)
    with transaction.atomic():
        now = clock.now()
        # Conditional: only the first of two racing submits finds the request unanswered and unexpired.
        won = FeedbackRequest.objects.filter(
            pk=request.pk, answered_at__isnull=True, expires_at__gt=now
        ).update(answered_at=now)
        if not won:
            raise _used()
        survey, party = request.survey, request.party
        category = category_for(survey.kind, value)
        response = Response.objects.create(
            request=request,
            party=party,
            survey=survey,
            score=value,
            category=category,
            comment=text,
            answered_at=now,
        )
        timeline_add(
            party,
            event="feedback.received",
            subject=f"{survey.name} — {_label(survey, value)} ({category})",
            body=text,
            by=None,
            data={"response_id": response.pk, "survey": survey.key, "score": value, "category": category},
        )
        payload: dict[str, Any] = {
            "survey": survey.key,
            "kind": survey.kind,
            "score": value,
            "category": category,
            "party_id": party.pk,
            "request_id": request.pk,
            "comment": text[:PAYLOAD_COMMENT],
            "record_type": request.record_type,
        }
        if request.record_id is not None:
            payload["record_id"] = request.record_id
        if survey.kind == SurveyKind.NPS:
            payload["nps_category"] = category
        event_emit(name="feedback.received", subject=response, actor=None, payload=payload)
    return response


def feedback_email(*, request: FeedbackRequest, url: str, by: User | None) -> Any:
    """Email a request made by hand: the survey's message with its link, through the outbox (keyed by the
    request, so once). Returns the outbox row, which says if it was skipped (no address, do-not-contact) and why."""
    from friday.messaging.models import MessageTemplate
    from friday.messaging.services import message_queue

    survey = request.survey
    template = MessageTemplate.objects.filter(key=survey.template_key).first()
    if template is None:
        raise FridayError(
            f"The message template {survey.template_key!r} (survey “{survey.name}”) does not exist: install the "
            "starters (Automation) or name another template in the survey's settings.",
            code="feedback.no_template",
            field="survey",
        )
    return message_queue(
        key=f"feedback:{request.pk}",
        party=request.party,
        template=template,
        record={"survey": survey.name, "survey_url": url, "valid_days": survey.valid_days},
        links={"feedback": url},
        by=by,
    )


@transaction.atomic
def feedback_ask(*, by: User, survey: Survey, party: Party, email: bool) -> tuple[FeedbackRequest, str, Any]:
    """Ask by hand: a new request and — with `email` — its message in the outbox, in one transaction (a refused
    email leaves no request behind). Returns the request, its link (to show once) and the outbox row or None."""
    request, raw = feedback_request(survey=survey, party=party, by=by)
    assert raw is not None  # no key: always a new request
    url = feedback_url(raw)
    return request, url, feedback_email(request=request, url=url, by=by) if email else None

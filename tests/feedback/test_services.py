"""Asking and answering: scores on the survey's scale, one answer per link, and every refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from friday.core import clock
from friday.core.errors import ValidationFailed
from friday.core.models import DomainEvent
from friday.feedback import services
from friday.feedback.models import FeedbackRequest, Response
from friday.feedback.services import TokenRefused, feedback_answer, feedback_request
from friday.parties.models import Activity


def snapshot() -> tuple[int, int, int, list]:
    """What an answer changes: responses, timeline entries, events, and the requests' answered times."""
    return (
        Response.objects.count(),
        Activity.objects.filter(event="feedback.received").count(),
        DomainEvent.objects.filter(name="feedback.received").count(),
        list(FeedbackRequest.objects.order_by("pk").values_list("answered_at", flat=True)),
    )


def test_a_request_keeps_only_the_hash_of_its_token(cast, ada, nps):
    request, raw = feedback_request(survey=nps, party=ada, by=cast.alice)
    assert raw and len(raw) >= 40
    assert request.token_hash == services.token_digest(raw) and raw not in request.token_hash
    assert request.expires_at == request.created_at + dt.timedelta(days=nps.valid_days)
    assert FeedbackRequest.objects.filter(token_hash=raw).count() == 0
    assert Activity.objects.filter(party=ada, event="feedback.requested").exists()


def test_a_keyed_request_is_made_once(cast, ada, nps):
    first, raw = feedback_request(survey=nps, party=ada, key="run:7")
    again, none = feedback_request(survey=nps, party=ada, key="run:7")
    assert again.pk == first.pk and raw and none is None
    assert FeedbackRequest.objects.count() == 1


def test_a_switched_off_survey_asks_no_one(cast, ada, nps):
    services.survey_update(by=cast.manager, survey=nps, data=services.SurveyIn(active=False))
    with pytest.raises(services.FridayError) as exc:
        feedback_request(survey=nps.__class__.objects.get(pk=nps.pk), party=ada, by=cast.alice)
    assert exc.value.code == "feedback.survey_inactive" and exc.value.field == "survey"
    assert not FeedbackRequest.objects.exists()


def test_a_reader_cannot_ask(cast, ada, nps):
    with pytest.raises(services.PermissionDenied):
        feedback_request(survey=nps, party=ada, by=cast.reader)


def test_an_answer_lands_on_the_timeline_and_raises_an_event(cast, ada, nps):
    request, raw = feedback_request(survey=nps, party=ada, record=("job", 42), by=cast.alice)
    response = feedback_answer(token=raw, score=3, comment="  The engineer was late.  ")
    assert (response.score, response.category, response.comment) == (3, "detractor", "The engineer was late.")
    request.refresh_from_db()
    assert request.answered_at == response.answered_at
    entry = Activity.objects.get(party=ada, event="feedback.received")
    assert entry.subject == "Would you recommend us? — NPS 3/10 (detractor)"
    assert entry.body == "The engineer was late."
    event = DomainEvent.objects.get(name="feedback.received")
    assert event.subject_type == "response" and event.subject_id == response.pk
    assert event.payload == {
        "survey": "nps",
        "kind": "nps",
        "score": 3,
        "category": "detractor",
        "nps_category": "detractor",
        "party_id": ada.pk,
        "request_id": request.pk,
        "comment": "The engineer was late.",
        "record_type": "job",
        "record_id": 42,
    }


@pytest.mark.parametrize(
    ("score", "category"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")],
)
def test_nps_categories(cast, ada, nps, score, category):
    _, raw = feedback_request(survey=nps, party=ada)
    assert feedback_answer(token=raw, score=score).category == category


@pytest.mark.parametrize(
    ("score", "category"), [(1, "unsatisfied"), (2, "unsatisfied"), (3, "neutral"), (5, "satisfied")]
)
def test_csat_categories_and_no_nps_category(cast, ada, csat, score, category):
    _, raw = feedback_request(survey=csat, party=ada)
    assert feedback_answer(token=raw, score=score).category == category
    assert "nps_category" not in DomainEvent.objects.get(name="feedback.received").payload


@pytest.mark.parametrize(
    ("survey", "score", "field", "code"),
    [
        ("nps", 11, "score", "invalid.score"),
        ("nps", -1, "score", "invalid.score"),
        ("csat", 0, "score", "invalid.score"),
        ("csat", 6, "score", "invalid.score"),
        ("nps", None, "score", "invalid.required"),
        ("nps", "seven", "score", "invalid.required"),
        ("nps", True, "score", "invalid.required"),
        ("nps", 2**70, "score", "invalid.score"),
    ],
)
def test_out_of_range_scores_are_refused_and_change_nothing(cast, ada, survey, score, field, code, request):
    chosen = request.getfixturevalue(survey)
    _, raw = feedback_request(survey=chosen, party=ada)
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        feedback_answer(token=raw, score=score)
    assert (exc.value.field, exc.value.code) == (field, code)
    assert snapshot() == before


def test_a_bad_comment_is_refused_by_name(cast, ada, nps):
    _, raw = feedback_request(survey=nps, party=ada)
    before = snapshot()
    for comment, code in (("x" * 2001, "invalid.too_long"), ("a\x00b", "invalid.null_character")):
        with pytest.raises(ValidationFailed) as exc:
            feedback_answer(token=raw, score=9, comment=comment)
        assert (exc.value.field, exc.value.code) == ("comment", code)
    assert snapshot() == before
    feedback_answer(token=raw, score=9, comment="x" * 2000)  # the link still works


@pytest.mark.parametrize("token", ["", "not-a-token", "a" * 43, "a" * 5000, "a\x00b", None, 12])
def test_a_forged_token_is_refused_404_and_changes_nothing(cast, ada, nps, token):
    feedback_request(survey=nps, party=ada)
    before = snapshot()
    with pytest.raises(TokenRefused) as exc:
        feedback_answer(token=token, score=9)
    assert (exc.value.code, exc.value.status) == ("feedback.token_invalid", 404)
    assert snapshot() == before


def test_an_expired_token_is_refused_410_and_changes_nothing(cast, ada, nps):
    _, raw = feedback_request(survey=nps, party=ada)
    before = snapshot()
    later = clock.now() + dt.timedelta(days=nps.valid_days, seconds=1)
    with time_machine.travel(later), pytest.raises(TokenRefused) as exc:
        feedback_answer(token=raw, score=9)
    assert (exc.value.code, exc.value.status) == ("feedback.token_expired", 410)
    assert snapshot() == before
    with time_machine.travel(clock.now() + dt.timedelta(days=nps.valid_days - 1)):
        assert feedback_answer(token=raw, score=9).score == 9  # the day before, it still worked


def test_a_used_token_is_refused_410_and_keeps_the_first_answer(cast, ada, nps):
    _, raw = feedback_request(survey=nps, party=ada)
    first = feedback_answer(token=raw, score=10, comment="Great")
    before = snapshot()
    with pytest.raises(TokenRefused) as exc:
        feedback_answer(token=raw, score=0, comment="Changed my mind")
    assert (exc.value.code, exc.value.status) == ("feedback.token_used", 410)
    assert snapshot() == before
    assert Response.objects.get().pk == first.pk and first.score == 10


def test_a_renewed_token_replaces_the_old_one(cast, ada, nps):
    request, old = feedback_request(survey=nps, party=ada, key="run:1")
    new = services.feedback_token_renew(request=request)
    with pytest.raises(TokenRefused):
        feedback_answer(token=old, score=9)
    assert feedback_answer(token=new, score=9).request_id == request.pk
    with pytest.raises(TokenRefused):
        services.feedback_token_renew(request=request)


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_record_one_answer(cast, ada, nps):
    _, raw = feedback_request(survey=nps, party=ada)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def submit(score: int) -> None:
        try:
            barrier.wait()
            feedback_answer(token=raw, score=score)
            outcomes.append("ok")
        except TokenRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()  # this thread's own connection: left open it would keep the test database busy

    threads = [threading.Thread(target=submit, args=(s,)) for s in (2, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["feedback.token_used", "ok"]
    assert Response.objects.count() == 1
    assert DomainEvent.objects.filter(name="feedback.received").count() == 1
    assert Activity.objects.filter(event="feedback.received").count() == 1


def test_survey_settings_are_checked_by_field_and_kept_for_editors(cast, nps):
    with pytest.raises(services.PermissionDenied):
        services.survey_update(by=cast.alice, survey=nps, data=services.SurveyIn(name="Mine"))
    with pytest.raises(ValidationFailed) as exc:
        services.survey_update(
            by=cast.manager,
            survey=nps,
            data=services.SurveyIn(name="", valid_days=0, question="q" * 301, template_key="no spaces"),
        )
    assert {e.field for e in exc.value.errors} == {"name", "valid_days", "question", "template_key"}
    services.survey_update(
        by=cast.manager, survey=nps, data=services.SurveyIn(valid_days=30, name=" Tell  us ")
    )
    nps.refresh_from_db()
    assert (nps.valid_days, nps.name) == (30, "Tell us")

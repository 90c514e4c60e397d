"""request_feedback as an automation action, and the two starter rules: ask after a job, call a detractor."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from friday.automation import starters
from friday.automation.forms import initial_from
from friday.automation.models import ActionRun, Rule, RunStatus
from friday.automation.services import RuleIn, rule_save, rule_set_enabled, run_due, sweep
from friday.core import clock
from friday.core.errors import ValidationFailed
from friday.core.models import DomainEvent
from friday.feedback.models import FeedbackRequest, Response
from friday.feedback.services import SurveyIn, feedback_answer, feedback_request, survey_update
from friday.messaging.models import OutboundMessage
from friday.reminders.models import Reminder
from tests.conftest import make_person


def job_completed(party, job_id: int = 7, title: str = "Annual boiler service") -> DomainEvent:
    """What the jobs app emits when a job is complete (subject job, with the party in the payload)."""
    return DomainEvent.objects.create(
        name="job.completed",
        occurred_at=clock.now(),
        subject_type="job",
        subject_id=job_id,
        payload={"party_id": party.pk, "title": title, "job_id": job_id},
    )


def test_the_action_is_checked_by_path(cast):
    for survey, text in (("nope", "There is no survey 'nope'"), ("", "Give survey")):
        with pytest.raises(ValidationFailed) as exc:
            rule_save(
                by=cast.manager,
                data=RuleIn(
                    name="Ask",
                    trigger={"type": "event", "event": "job.completed"},
                    actions=[{"type": "request_feedback", "survey": survey}],
                ),
            )
        assert exc.value.field == "actions.0.survey" and text in exc.value.detail


@pytest.mark.django_db(transaction=True)
def test_three_days_after_a_job_the_client_gets_a_link_that_works(cast, smtp_server, run_worker, settings):
    from friday.automation.tasks import automation_sweep

    settings.FRIDAY_BASE_URL = "https://crm.example.com/"
    starters.install(by=cast.manager)
    rule = Rule.objects.get(name="Ask for feedback 3 days after a job is complete")
    rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
    ada = make_person(cast.alice, "Ada", emails=["ada@example.com"])
    with time_machine.travel(clock.now() + dt.timedelta(seconds=2)):
        job_completed(ada)
        automation_sweep.enqueue()
        run_worker()
    assert FeedbackRequest.objects.count() == 0 and smtp_server.messages == []  # not yet: three days
    with time_machine.travel(clock.now() + dt.timedelta(days=3, minutes=1)):
        automation_sweep.enqueue()
        run_worker()
        (mail,) = smtp_server.messages
        assert mail["Subject"] == "How did we do, Ada?"
        body = mail.get_body(("plain",)).get_content()
        assert "“Annual boiler service”" in body
        link = re.search(r"https://crm\.example\.com/f/([\w-]+)/", body)
        assert link, body
        request = FeedbackRequest.objects.get()
        run = ActionRun.objects.get(firing__rule=rule)
        assert (request.key, request.record_type, request.record_id) == (f"run:{run.pk}", "job", 7)
        assert run.status == RunStatus.DONE and run.result["request_id"] == request.pk
        assert Client().get(f"/f/{link.group(1)}/").status_code == 200
        automation_sweep.enqueue()
        run_worker()
    assert len(smtp_server.messages) == 1 and FeedbackRequest.objects.count() == 1  # swept again: once


def test_a_retried_run_asks_once_and_sends_one_message(cast):
    starters.install(by=cast.manager)
    rule = Rule.objects.get(name="Ask for feedback 3 days after a job is complete")
    rule.actions[0]["delay_minutes"] = 0
    rule.save()
    rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
    ada = make_person(cast.alice, "Ada", emails=["ada@example.com"])
    with time_machine.travel(clock.now() + dt.timedelta(seconds=2)):
        job_completed(ada)
        sweep()
        assert run_due(worker_id="w").done == 1
        run = ActionRun.objects.get()
        # A worker whose lease ran out runs it again: same request, same message.
        ActionRun.objects.filter(pk=run.pk).update(status=RunStatus.PENDING)
        assert run_due(worker_id="w2").done == 1
    assert FeedbackRequest.objects.count() == 1 and OutboundMessage.objects.count() == 1


def test_no_party_is_skipped_and_a_switched_off_survey_too(cast):
    starters.install(by=cast.manager)
    rule = Rule.objects.get(name="Ask for feedback 3 days after a job is complete")
    rule.actions[0]["delay_minutes"] = 0
    rule.save()
    rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
    ada = make_person(cast.alice, "Ada", emails=["ada@example.com"])
    with time_machine.travel(clock.now() + dt.timedelta(seconds=2)):
        DomainEvent.objects.create(
            name="job.completed", occurred_at=clock.now(), subject_type="job", subject_id=8, payload={}
        )
        job_completed(ada, job_id=9)
        survey_update(by=cast.manager, survey=_nps(), data=SurveyIn(active=False))
        sweep()
        assert run_due(worker_id="w").skipped == 2
    assert sorted(ActionRun.objects.values_list("last_error", flat=True)) == [
        "The survey “Would you recommend us?” is switched off.",
        "This firing has no party to ask for feedback.",
    ]
    assert not FeedbackRequest.objects.exists()


def _nps():
    from friday.feedback.models import Survey

    return Survey.objects.get(key="nps")


def test_a_detractor_makes_a_reminder_for_the_owner_and_a_promoter_does_not(cast):
    starters.install(by=cast.manager)
    rule = Rule.objects.get(name="Tell the owner about a detractor")
    rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
    ada = make_person(cast.alice, "Ada", owner=cast.alice)
    grace = make_person(cast.alice, "Grace", owner=cast.alice)
    with time_machine.travel(clock.now() + dt.timedelta(seconds=2)):
        _, raw = feedback_request(survey=_nps(), party=ada, record=("job", 7))
        response = feedback_answer(token=raw, score=3, comment="The engineer was late.")
        _, raw = feedback_request(survey=_nps(), party=grace)
        feedback_answer(token=raw, score=10)
        assert sweep().fired == 1
        assert run_due(worker_id="w").done == 1
    reminder = Reminder.objects.get()
    assert reminder.title == "Call Ada Lovelace: they gave NPS 3"
    assert reminder.notes == "Their comment: The engineer was late."
    assert (reminder.assignee, reminder.party, reminder.record_type, reminder.record_id) == (
        cast.alice,
        ada,
        "response",
        response.pk,
    )
    assert Response.objects.count() == 2


def test_the_rule_form_keeps_the_survey(cast, web_for):
    starters.install(by=cast.manager)
    ask = Rule.objects.get(name="Ask for feedback 3 days after a job is complete")
    initial, _ = initial_from(ask)
    assert initial["act_0_survey"] == "nps" and initial["act_0_delay"] == 4320
    page = web_for(cast.manager).get(f"/automation/{ask.pk}/").content.decode()
    assert 'name="act_0_survey"' in page and 'value="nps" selected' in page
    detractor = Rule.objects.get(name="Tell the owner about a detractor")
    page = web_for(cast.manager).get(f"/automation/{detractor.pk}/").content.decode()
    # Its condition on the answer is a row of the form (the record's detail), not "kept as they are".
    assert 'value="feedback.received" selected' in page and 'id="advanced-conditions"' not in page
    assert 'value="nps_category"' in page
    saved = web_for(cast.manager).post(
        f"/automation/{ask.pk}/",
        {
            "name": ask.name,
            "trigger_type": "event",
            "event": "job.completed",
            "act_0": "request_feedback",
            "act_0_survey": "csat",
            "act_0_delay": "60",
        },
    )
    assert saved.status_code == 302
    ask.refresh_from_db()
    assert ask.actions == [{"type": "request_feedback", "delay_minutes": 60, "survey": "csat"}]

"""Jobs and automation: a service plan's due date fires the service-due starter on the right day, once, and
again after the next service; the loyal-customers segment and its once-a-year campaign; job events."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from friday.automation import starters
from friday.automation.models import Firing, Rule
from friday.automation.services import forecast, rule_set_enabled, run_due, sweep
from friday.automation.triggers import clean_trigger, period_of
from friday.core import clock
from friday.core.errors import ValidationFailed
from friday.jobs.models import Job
from friday.jobs.services import (
    AssetIn,
    JobIn,
    PlanIn,
    asset_save,
    job_create,
    job_move,
    job_set_paid,
    job_update,
    plan_save,
)
from friday.messaging.models import OutboundMessage
from friday.processes.models import Segment
from friday.processes.segments import clean_filters, segment_count
from friday.reminders.models import Reminder
from tests.conftest import make_person


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


def _complete(job: Job, by) -> None:
    job_update(by=by, job=job, data=JobIn(scheduled_for=clock.now(), staff=[by]))
    for stage in ("scheduled", "in_progress", "quality_check", "complete"):
        job.refresh_from_db()
        target = job.stage_version.definition.stage(stage)
        job_move(by=by, job=job, to=stage, checked=list(target.checklist))
    job.refresh_from_db()


def test_service_due_fires_fourteen_days_before_once_and_again_after_the_next_service(job_process, cast):
    with time_machine.travel(at(2026, 1, 10, 8, 0), tick=False):
        starters.install(by=cast.manager)
        party = make_person(cast.alice, "Ada", roles=["customer"], emails=["ada@example.com"])
        boiler = asset_save(by=cast.alice, party=party, data=AssetIn(name="Boiler", serial_number="WB-77"))
        plan = plan_save(
            by=cast.alice,
            party=party,
            data=PlanIn(
                name="Boiler service",
                every=6,
                unit="months",
                asset=boiler,
                last_service_on=dt.date(2025, 8, 1),
            ),
        )
        assert plan.next_due_on == dt.date(2026, 2, 1)
        rule = Rule.objects.get(name="Service due in 14 days")
        rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
        # The forecast sees it coming: 18 January at 9:00.
        days = [day for day, items in forecast([rule], days=30).by_day() if items]
        assert days == [dt.date(2026, 1, 18)]
    with time_machine.travel(at(2026, 1, 18, 8, 59), tick=False):
        assert sweep().fired == 0
    with time_machine.travel(at(2026, 1, 18, 9, 1), tick=False):
        assert sweep().fired == 1
        run_due(worker_id="w")
        assert sweep().fired == 0
    with time_machine.travel(at(2026, 1, 25, 9, 0), tick=False):
        assert sweep().fired == 0, list(Firing.objects.values_list("key", "due_at"))  # once
    message = OutboundMessage.objects.get()
    assert message.subject == "Your Boiler service is due on 1 February 2026"
    assert "(serial WB-77)" in message.body_text
    reminder = Reminder.objects.get()
    assert reminder.title == "Book the service for Ada Lovelace" and reminder.assignee == cast.alice
    # The service is done: the next due date moves on six months and fires in its turn.
    with time_machine.travel(at(2026, 1, 30, 12, 0), tick=False):
        job = job_create(by=cast.alice, party=party, data=JobIn(title="Service", service_plan=plan))
        reminder.refresh_from_db()
        assert reminder.status == "done"  # booking the visit settles "Book the service"
        _complete(job, cast.alice)
        plan.refresh_from_db()
        assert plan.last_service_on == dt.date(2026, 1, 30) and plan.next_due_on == dt.date(2026, 7, 30)
        sweep()
    with time_machine.travel(at(2026, 7, 16, 10, 0), tick=False):
        assert sweep().fired == 1
    assert Firing.objects.filter(rule=rule).count() == 2


def test_a_plan_added_inside_the_window_still_fires(job_process, cast):
    with time_machine.travel(at(2026, 3, 1, 8, 0), tick=False):
        starters.install(by=cast.manager)
        rule = Rule.objects.get(name="Service due in 14 days")
        rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
        party = make_person(cast.alice, roles=["customer"], emails=["ada@example.com"])
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):
        sweep()
        # Due in 5 days: its "14 days before" moment has passed, but the client still hears.
        plan_save(
            by=cast.alice,
            party=party,
            data=PlanIn(name="MOT", every=1, unit="years", last_service_on=dt.date(2025, 3, 7)),
        )
    with time_machine.travel(at(2026, 3, 2, 8, 1), tick=False):
        assert sweep().fired == 1
        assert sweep().fired == 0


def test_loyal_customers_and_the_campaign_once_a_year(job_process, cast):
    with time_machine.travel(at(2026, 5, 20, 8, 0), tick=False):
        starters.install(by=cast.manager)
        segment = Segment.objects.get(name="Loyal customers")
        assert segment.filters["paid_jobs"] == {"at_least": 3, "months": 24}
        loyal = make_person(
            cast.alice, "Lee", roles=["customer"], emails=["lee@example.com"], email_consent=True
        )
        occasional = make_person(
            cast.alice, "Occ", roles=["customer"], emails=["occ@example.com"], email_consent=True
        )
        for i, party in enumerate([loyal, loyal, loyal, occasional, loyal]):
            job = job_create(by=cast.alice, party=party, data=JobIn(title=f"Job {i}"))
            # The last of Lee's jobs was paid 25 months ago: outside the window.
            paid = at(2024, 4, 1, 12, 0) if i == 4 else at(2026, 1, 1 + i, 12, 0)
            job_set_paid(job=job, paid_at=paid)
        assert segment_count(user=cast.admin, filters=segment.filters) == 1
        rule = Rule.objects.get(name="Loyalty offer, once a year")
        assert rule.conditions == {"segment": segment.pk}
        rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
    with time_machine.travel(at(2026, 6, 1, 10, 1), tick=False):
        assert sweep().fired == 1
        run_due(worker_id="w")
    with time_machine.travel(at(2026, 7, 1, 10, 1), tick=False):
        assert sweep().fired == 0  # the same year
    assert list(OutboundMessage.objects.values_list("to_email", flat=True)) == ["lee@example.com"]
    with time_machine.travel(at(2027, 1, 1, 10, 1), tick=False):
        sweep()
    # A new year: Lee's three 2026 jobs still count (24 months) and the offer goes again.
    assert Firing.objects.filter(rule=rule, party=loyal).count() == 2


def test_campaign_and_service_due_triggers_refuse_bad_settings():
    with pytest.raises(ValidationFailed) as exc:
        clean_trigger({"type": "campaign", "cron": "every day", "period": "decade"})
    assert {e.field for e in exc.value.errors} == {"trigger.cron", "trigger.period"}
    with pytest.raises(ValidationFailed) as exc:
        clean_trigger({"type": "service_due", "days_before": -1, "at": "9am"})
    assert {e.field for e in exc.value.errors} == {"trigger.days_before", "trigger.at"}
    with pytest.raises(ValidationFailed) as exc:
        clean_filters({"paid_jobs": {"at_least": 0, "months": 24}})
    assert [e.field for e in exc.value.errors] == ["filters.paid_jobs.at_least"]
    assert period_of(at(2026, 11, 30, 12, 0), "quarter") == "2026-Q4"
    assert period_of(at(2026, 11, 30, 12, 0), "week") == "2026-W49"


def test_job_completed_event_reaches_event_rules(job_process, cast):
    from friday.automation.services import RuleIn, rule_save

    with time_machine.travel(at(2026, 2, 2, 9, 0), tick=False):
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Thank on completion",
                trigger={"type": "event", "event": "job.completed"},
                conditions={},
                actions=[{"type": "create_reminder", "title": "Thank {party}", "for": "owner"}],
                enabled=True,
            ),
        )
    with time_machine.travel(at(2026, 2, 2, 9, 1), tick=False):  # after the rule was switched on
        party = make_person(cast.alice)
        job = job_create(by=cast.alice, party=party, data=JobIn(title="Roof"))
        _complete(job, cast.alice)
    with time_machine.travel(at(2026, 2, 2, 9, 5), tick=False):
        assert sweep().fired == 1
        run_due(worker_id="w")
    firing = Firing.objects.get()
    assert firing.record_type == "job" and firing.party == party and firing.snapshot["title"] == "Roof"
    assert Reminder.objects.get().title == "Thank Ada Lovelace"
    from friday.parties.models import Activity

    line = Activity.objects.get(party=party, event="automation.action").subject
    assert (
        line == "Rule “Thank on completion”: Remind the owner: Thank Ada Lovelace"
    )  # filled in, not {party}


def test_a_plan_already_booked_gets_no_notice_and_switching_on_does_not_reach_back(job_process, cast):
    with time_machine.travel(at(2026, 3, 1, 8, 0), tick=False):
        starters.install(by=cast.manager)
        party = make_person(cast.alice, roles=["customer"], emails=["ada@example.com"])
        # Due in 5 days, changed just before the rule is switched on: not a notice for the past.
        plan_save(
            by=cast.alice,
            party=party,
            data=PlanIn(name="MOT", every=1, unit="years", last_service_on=dt.date(2025, 3, 6)),
        )
    with time_machine.travel(at(2026, 3, 1, 8, 5), tick=False):
        rule = Rule.objects.get(name="Service due in 14 days")
        rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
    with time_machine.travel(at(2026, 3, 1, 8, 6), tick=False):
        assert sweep().fired == 0
        booked = plan_save(
            by=cast.alice,
            party=party,
            data=PlanIn(name="Boiler", every=1, unit="years", last_service_on=dt.date(2025, 3, 20)),
        )
        job_create(by=cast.alice, party=party, data=JobIn(title="Boiler service", service_plan=booked))
    with time_machine.travel(at(2026, 3, 6, 9, 1), tick=False):
        assert sweep().fired == 0  # the Boiler plan's visit is booked: its notice (6 March) is not sent
    assert not Firing.objects.exists()

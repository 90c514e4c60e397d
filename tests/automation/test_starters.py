"""The starter rules: installed off, once; each works as described."""

from __future__ import annotations

import datetime as dt
import io

import time_machine
from django.core.management import call_command

from friday.automation import starters
from friday.automation.lint import ERROR, lint_rule
from friday.automation.models import Rule
from friday.automation.services import rule_set_enabled, run_due, sweep
from friday.core import clock
from friday.messaging.models import MessageTemplate, OutboundMessage
from tests.conftest import make_person


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


def test_installed_off_once_and_clean(cast, web_for):
    assert starters.install(by=cast.manager) == (len(starters.TEMPLATES), len(starters.RULES))
    assert starters.install(by=cast.manager) == (0, 0)
    assert not Rule.objects.filter(enabled=True).exists()
    assert all(f.severity != ERROR for r in Rule.objects.all() for f in lint_rule(r))
    assert MessageTemplate.objects.count() == len(starters.TEMPLATES)
    out = io.StringIO()
    call_command("automation", "starters", stdout=out)
    assert "Added 0 rule(s)" in out.getvalue()
    page = web_for(cast.manager).post("/automation/starters/", follow=True).content.decode()
    assert "all here already" in page


def test_the_anniversary_and_birthday_starters_send_what_they_say(cast):
    with time_machine.travel(at(2026, 4, 1, 8, 0), tick=False):
        starters.install(by=cast.manager)
        make_person(
            cast.alice,
            "Ada",
            roles=["customer"],
            emails=["ada@example.com"],
            email_consent=True,
            customer_since=dt.date(2021, 4, 3),
            birthday=dt.date(1980, 4, 2),
        )
        for name in ("Birthday email", "Customer anniversary email"):
            rule_set_enabled(by=cast.manager, rule=Rule.objects.get(name=name), enabled=True)
    with time_machine.travel(at(2026, 4, 3, 11, 0), tick=False):
        assert sweep().fired == 2
        run_due(worker_id="w")
    subjects = sorted(OutboundMessage.objects.values_list("subject", flat=True))
    assert subjects == ["5 years with Our business — thank you", "Happy birthday, Ada!"]


def test_a_supplier_is_chased_every_three_days_until_the_reminder_is_done(cast):
    from friday.reminders.models import Reminder
    from friday.reminders.services import ReminderIn, reminder_create, reminder_done
    from tests.conftest import make_org

    with time_machine.travel(at(2026, 6, 1, 8, 0), tick=False):
        starters.install(by=cast.manager)
        rule_set_enabled(
            by=cast.manager, rule=Rule.objects.get(name="Chase suppliers every 3 days"), enabled=True
        )
        supplier = make_org(cast.alice, "Boilers Direct", emails=["orders@boilers.example"])
        customer = make_person(cast.alice)
        reminder_create(
            by=cast.alice,
            data=ReminderIn(
                title="Parts for the Lovelace boiler",
                due_at=at(2026, 6, 2, 9, 0),
                party=customer,
                chase=supplier,
            ),
        )
    for day in (2, 3, 5, 8):
        with time_machine.travel(at(2026, 6, day, 10, 0), tick=False):
            sweep()
            run_due(worker_id="w")
    sent = list(OutboundMessage.objects.order_by("id").values_list("to_email", "subject"))
    assert sent == [
        ("orders@boilers.example", "Parts for the Lovelace boiler"),
        ("orders@boilers.example", "Reminder: Parts for the Lovelace boiler"),
        ("orders@boilers.example", "Reminder: Parts for the Lovelace boiler"),
    ]  # 2 June, then 5 and 8 June
    reminder_done(by=cast.alice, reminder=Reminder.objects.get())
    with time_machine.travel(at(2026, 6, 12, 10, 0), tick=False):
        assert sweep().fired == 0  # done: no more chasing


def test_stage_notices_name_the_record_and_its_stage(cast, pipeline):
    from friday.automation.services import RuleIn, rule_save
    from friday.core.models import DomainEvent
    from friday.deals.services import DealIn, deal_create, deal_move

    starters.install(by=cast.manager)
    ada = make_person(cast.alice, emails=["ada@example.com"])
    # The job notice starter: jobs arrive with issue 5; their moves raise job.stage_entered like this.
    rule_set_enabled(
        by=cast.manager, rule=Rule.objects.get(name="Tell the client when their job moves"), enabled=True
    )
    rule_save(
        by=cast.manager,
        data=RuleIn(
            name="Deal surveys booked",
            trigger={"type": "event", "event": "deal.stage_entered", "stage": "survey"},
            actions=[{"type": "send_message", "template": "job_update"}],
            enabled=True,
        ),
    )
    deal = deal_create(by=cast.alice, party=ada, data=DealIn(title="Combi boiler swap"))
    deal_move(by=cast.alice, deal=deal, to="survey", checked=["Visit in the diary"])
    for stage, name in (("booked", "Booked"), ("scheduled", "Scheduled")):
        DomainEvent.objects.create(
            name="job.stage_entered",
            occurred_at=clock.now(),
            subject_type="job",
            subject_id=7,
            payload={
                "stage": stage,
                "stage_name": name,
                "title": "Annual boiler service",
                "party_id": ada.pk,
            },
        )
    with time_machine.travel(clock.now() + dt.timedelta(seconds=5)):
        sweep()
        run_due(worker_id="w")
    subjects = sorted(OutboundMessage.objects.values_list("subject", flat=True))
    assert subjects == [
        "Your job: Annual boiler service — Scheduled",  # "booked" is not one of the chosen stages
        "Your job: Combi boiler swap — Survey booked",
    ]

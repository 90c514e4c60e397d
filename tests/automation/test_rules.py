"""Rules end to end: validated by path; birthdays every year (29 February on the 28th in other years), once,
caught up after downtime; events; silence; overdue reminders escalating; actions retried then given up to the
owner; two sweepers never fire twice."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from friday.automation import services
from friday.automation.models import ActionAttempt, ActionRun, Firing, RunStatus
from friday.automation.services import RuleIn, rule_save, run_due, sweep
from friday.core import clock
from friday.core.errors import ValidationFailed
from friday.messaging.models import OutboundMessage
from friday.messaging.services import TemplateIn, template_save
from friday.parties.models import Activity, PartyTag
from friday.parties.services import activity_log
from friday.reminders.models import Reminder
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import make_person

TZ = dt.UTC


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


@pytest.fixture
def birthday_template(cast):
    return template_save(
        by=cast.manager,
        data=TemplateIn(
            key="birthday",
            name="Birthday",
            subject="Happy birthday, {{ party.first_name }}!",
            body_text="Cheers.",
        ),
    )


def test_a_rule_is_refused_with_each_problem_by_path(cast):
    with pytest.raises(ValidationFailed) as exc:
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="",
                trigger={"type": "yearly", "field": "shoe_size", "at": "25:00"},
                conditions={"any": [{"filter": {"roles": ["wizard"]}}, {"colour": 1}]},
                actions=[{"type": "send_message", "template": "nope"}, {"type": "teleport"}],
            ),
        )
    fields = {e.field for e in exc.value.errors}
    assert {"name", "trigger.field", "trigger.at", "actions.0.template", "actions.1.type"} <= fields
    assert any(f.startswith("conditions.any.0.filter") for f in fields) and "conditions.any.1" in fields
    with pytest.raises(Exception):
        rule_save(by=cast.alice, data=RuleIn(name="x", trigger={"type": "no_contact", "days": 5}, actions=[]))


def test_birthdays_fire_once_a_year_and_29_february_on_the_28th(cast, birthday_template):
    with time_machine.travel(at(2026, 1, 1, 8, 0), tick=False):
        ada = make_person(
            cast.alice, birthday=dt.date(2000, 2, 29), emails=["ada@example.com"], email_consent=True
        )
        make_person(cast.alice, "Bo", birthday=dt.date(1990, 7, 1))
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Birthday email",
                trigger={"type": "yearly", "field": "birthday", "at": "09:00"},
                actions=[{"type": "send_message", "template": "birthday"}],
                enabled=True,
            ),
        )
    with time_machine.travel(at(2026, 2, 28, 8, 59), tick=False):
        assert sweep().fired == 0  # not yet 9:00
    with time_machine.travel(at(2026, 2, 28, 9, 1), tick=False):
        assert sweep().fired == 1 and sweep().fired == 0  # the second sweep finds it fired
        firing = Firing.objects.get()
        assert (
            firing.party_id == ada.pk
            and firing.occurrence == "2026"
            and firing.due_at == at(2026, 2, 28, 9, 0)
        )
        assert run_due(worker_id="w").done == 1
    assert OutboundMessage.objects.get().subject == "Happy birthday, Ada!"
    # 2028 is a leap year: the 29th. The worker was down from January to March: it catches up, once.
    with time_machine.travel(at(2028, 1, 10, 9, 0), tick=False):
        sweep()
    with time_machine.travel(at(2028, 3, 3, 9, 0), tick=False):
        sweep()
    # Its 2027 birthday (on the 28th) fell in the downtime: caught up, once. Bo's of July 2026 was more than
    # MAX_CATCH_UP (400 days) before the sweep that came back: that one is not sent late.
    dates = sorted(f.due_at.date() for f in Firing.objects.filter(party=ada))
    assert dates == [dt.date(2026, 2, 28), dt.date(2027, 2, 28), dt.date(2028, 2, 29)]
    assert sorted(Firing.objects.exclude(party=ada).values_list("occurrence", flat=True)) == ["2027"]


def test_an_event_rule_fires_for_each_new_party_and_tags_it(cast):
    make_person(cast.alice, "Before", roles=["customer"])  # created before the rule was on: never fired for
    rule = rule_save(
        by=cast.manager,
        data=RuleIn(
            name="New customers get a tag",
            trigger={"type": "event", "event": "party.created"},
            conditions={"filter": {"roles": ["customer"]}},
            actions=[{"type": "add_tag", "tag": "welcome"}],
            enabled=True,
        ),
    )
    customer = make_person(cast.alice, roles=["customer"])
    make_person(cast.alice, "Sam", roles=["supplier"])
    assert sweep().fired == 1
    assert run_due(worker_id="w").done == 1
    assert list(PartyTag.objects.filter(party=customer).values_list("tag__slug", flat=True)) == ["welcome"]
    assert Activity.objects.filter(
        party=customer, event="automation.action", subject__contains="Tag welcome"
    ).exists()
    assert sweep().fired == 0  # events are re-read with an overlap; their firings are not repeated
    assert Firing.objects.get().rule == rule


def test_silence_fires_once_per_silence(cast):
    with time_machine.travel(at(2026, 1, 1, 12, 0), tick=False):
        ada = make_person(cast.alice)
        activity_log(by=cast.alice, party=ada, kind="call", subject="Quote follow-up")
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Check in after 60 days",
                trigger={"type": "no_contact", "days": 60},
                actions=[{"type": "create_reminder", "title": "Check in with {party}", "for": "owner"}],
                enabled=True,
            ),
        )
    with time_machine.travel(at(2026, 3, 1, 12, 0), tick=False):
        assert sweep().fired == 0  # 59 days
    with time_machine.travel(at(2026, 3, 3, 12, 0), tick=False):
        assert sweep().fired == 1
        run_due(worker_id="w")
        reminder = Reminder.objects.get()
        assert reminder.title == "Check in with Ada Lovelace" and reminder.assignee == cast.alice
        activity_log(by=cast.alice, party=ada, kind="meeting", subject="Visited")
    with time_machine.travel(at(2026, 6, 1, 12, 0), tick=False):
        assert sweep().fired == 1  # a new silence, a new occurrence
    assert Firing.objects.count() == 2


def test_an_overdue_reminder_escalates_to_a_manager_once(cast):
    with time_machine.travel(at(2026, 5, 4, 9, 0), tick=False):
        party = make_person(cast.alice)
        reminder_create(
            by=cast.alice, data=ReminderIn(title="Send the quote", due_at=at(2026, 5, 4, 17, 0), party=party)
        )
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Escalate after a day",
                trigger={"type": "reminder_overdue", "hours": 24},
                actions=[{"type": "create_reminder", "title": "Overdue: {party}", "for": "role:manager"}],
                enabled=True,
            ),
        )
    with time_machine.travel(at(2026, 5, 5, 16, 0), tick=False):
        assert sweep().fired == 0
    with time_machine.travel(at(2026, 5, 5, 18, 0), tick=False):
        assert sweep().fired == 1 and sweep().fired == 0
        run_due(worker_id="w")
    escalated = Reminder.objects.get(assignee_role="manager")
    assert escalated.title == "Overdue: Ada Lovelace" and escalated.created_by is None


def test_a_failing_action_is_retried_then_given_up_to_the_rule_owner(cast, settings):
    settings.FRIDAY_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"
    with time_machine.travel(at(2026, 1, 1, 9, 0), tick=False):
        rule = rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Tell the booking system",
                trigger={"type": "event", "event": "party.created"},
                actions=[
                    {"type": "webhook", "url": "http://127.0.0.1:9/unreachable"}
                ],  # discard port: refused
                enabled=True,
            ),
        )
    with time_machine.travel(at(2026, 1, 1, 9, 1), tick=False):
        party = make_person(cast.alice)
    with time_machine.travel(at(2026, 1, 1, 9, 2), tick=False):
        assert sweep().fired == 1
    moment = at(2026, 1, 1, 9, 2)
    for _ in range(services.MAX_ATTEMPTS):
        with time_machine.travel(moment, tick=False):
            run_due(worker_id="w")
        moment += dt.timedelta(hours=3)
    run = ActionRun.objects.get()
    assert run.status == RunStatus.DEAD and run.attempts == services.MAX_ATTEMPTS
    assert ActionAttempt.objects.filter(run=run, ok=False).count() == services.MAX_ATTEMPTS
    alert = Reminder.objects.get(key=f"dead:{run.pk}")
    assert alert.assignee == rule.owner == cast.manager and alert.party == party
    assert "could not webhook" in alert.title


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_fire_each_match_once(cast):
    rule_save(
        by=cast.manager,
        data=RuleIn(
            name="Welcome",
            trigger={"type": "event", "event": "party.created"},
            actions=[{"type": "add_tag", "tag": "new"}],
            enabled=True,
        ),
    )
    for i in range(20):
        make_person(cast.alice, f"P{i}")
    barrier = threading.Barrier(2)
    results: list[int] = []

    def go() -> None:
        try:
            barrier.wait()
            results.append(sweep().fired)
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 20 and Firing.objects.count() == 20


@pytest.mark.django_db(transaction=True)
def test_the_worker_sweeps_runs_and_the_mail_reaches_the_smtp_server(cast, smtp_server, run_worker):
    from friday.automation.tasks import automation_sweep

    template_save(
        by=cast.manager,
        data=TemplateIn(
            key="welcome", name="Welcome", subject="Welcome, {{ party.first_name }}", body_text="Hi."
        ),
    )
    rule_save(
        by=cast.manager,
        data=RuleIn(
            name="Welcome new customers",
            trigger={"type": "event", "event": "party.created"},
            actions=[{"type": "send_message", "template": "welcome"}],
            enabled=True,
        ),
    )
    make_person(cast.alice, "Grace", "Hopper", emails=["grace@example.com"])
    automation_sweep.enqueue()  # what the scheduler does every minute
    run_worker()  # the sweep fires and runs the action; the outbox asks for a drain; the worker sends it
    assert [m["Subject"] for m in smtp_server.messages] == ["Welcome, Grace"]
    automation_sweep.enqueue()
    run_worker()
    assert len(smtp_server.messages) == 1  # swept again: nothing twice


def test_a_birthday_fires_at_nine_on_the_partys_own_clock(cast, settings):
    import zoneinfo

    from friday.parties.services import PartyIn, party_create

    settings.TIME_ZONE = "Europe/London"
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    with pytest.raises(ValidationFailed) as exc:
        party_create(by=cast.alice, data=PartyIn(kind="person", given_name="X", time_zone="Mars/Olympus"))
    assert exc.value.errors[0].field == "time_zone"
    with time_machine.travel(dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        ken = make_person(cast.alice, "Ken", birthday=dt.date(1980, 7, 10), time_zone="Asia/Tokyo")
        make_person(cast.alice, "Liz", birthday=dt.date(1980, 7, 10))
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Birthday",
                trigger={"type": "yearly", "field": "birthday", "at": "09:00"},
                actions=[{"type": "add_tag", "tag": "birthday"}],
                enabled=True,
            ),
        )
    with time_machine.travel(dt.datetime(2026, 7, 10, 1, 0, tzinfo=dt.UTC), tick=False):  # 10:00 in Tokyo
        sweep()
        assert [f.party_id for f in Firing.objects.all()] == [ken.pk]
        assert Firing.objects.get().due_at == dt.datetime(2026, 7, 10, 9, 0, tzinfo=tokyo)
    with time_machine.travel(dt.datetime(2026, 7, 10, 8, 30, tzinfo=dt.UTC), tick=False):  # 9:30 in London
        sweep()
        assert Firing.objects.count() == 2


def test_an_event_about_a_party_deleted_since_names_no_party(cast):
    """A party deleted (or merged away) after its event: the match names nobody, so no action runs for it."""
    import datetime as dt

    from django.db import transaction

    from friday.automation import triggers
    from friday.core import clock
    from friday.core.events import event_emit
    from friday.parties.services import party_delete
    from tests.conftest import make_person

    kept, gone = make_person(cast.alice, "Kept"), make_person(cast.alice, "Gone")
    began = clock.now() - dt.timedelta(seconds=1)
    with transaction.atomic():
        for party in (kept, gone):
            event_emit(name="test.happened", subject=party)
        event_emit(
            name="test.happened", subject=kept, payload={"party_id": 10**30}
        )  # an id that cannot exist
    gone_id = gone.pk
    party_delete(by=cast.alice, party=gone)
    matches = list(
        triggers.event_matches({"event": "test.happened"}, began, clock.now() + dt.timedelta(seconds=1))
    )
    assert [(m.record_id, m.party_id) for m in matches] == [
        (kept.pk, kept.pk),
        (gone_id, None),
        (kept.pk, kept.pk),
    ]

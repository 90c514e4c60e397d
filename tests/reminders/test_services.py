"""Reminders: create (one per key, even when two workers race), done once, snooze, cancel, reopen; who sees what;
the party's timeline; my day's overdue / today / upcoming."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from friday.core import clock
from friday.core.errors import FridayError, NotFound, PermissionDenied, ValidationFailed
from friday.core.models import DomainEvent
from friday.parties.models import Activity
from friday.reminders import selectors
from friday.reminders.models import Reminder, ReminderStatus
from friday.reminders.services import (
    ReminderIn,
    reminder_cancel,
    reminder_create,
    reminder_done,
    reminder_reopen,
    reminder_snooze,
    reminder_update,
)
from tests.conftest import make_org, make_person

H = dt.timedelta(hours=1)


def _new(by, title="Call back", due=None, **kw):
    return reminder_create(by=by, data=ReminderIn(title=title, due_at=due or clock.now() + H, **kw))


def test_create_defaults_timeline_and_event(cast):
    party = make_person(cast.alice)
    reminder = _new(cast.alice, party=party)
    assert reminder.assignee == cast.alice and reminder.remind_at == reminder.due_at
    assert reminder.team_id == party.team_id
    entry = Activity.objects.get(party=party, event="reminder.created")
    assert entry.subject.startswith("Reminder for Alice: Call back (due ")
    assert DomainEvent.objects.filter(name="reminder.created", subject_id=reminder.pk).exists()


def test_bad_input_names_the_field_and_writes_nothing(cast):
    with pytest.raises(ValidationFailed) as exc:
        reminder_create(by=cast.alice, data=ReminderIn(title="  ", due_at="tomorrow", assignee_role="boss"))
    assert {e.field for e in exc.value.errors} == {"title", "due_at", "assignee_role"}
    with pytest.raises(PermissionDenied):
        _new(cast.reader)
    assert not Reminder.objects.exists()
    # A naive time is read on the business's clock.
    naive = dt.datetime(2030, 1, 2, 9, 0)
    assert _new(cast.alice, due=naive).due_at == naive.replace(tzinfo=clock.business_tz())


def test_a_key_makes_one_reminder_however_often_it_is_created(cast):
    first = reminder_create(
        by=None,
        data=ReminderIn(title="Check in", due_at=clock.now(), assignee=cast.alice),
        key="rule:1:party:7:2026",
    )
    again = reminder_create(
        by=None,
        data=ReminderIn(title="Check in", due_at=clock.now(), assignee=cast.alice),
        key="rule:1:party:7:2026",
    )
    assert first.pk == again.pk and Reminder.objects.count() == 1
    assert first.created_by is None  # made by Friday itself


@pytest.mark.django_db(transaction=True)
def test_two_workers_creating_the_same_keyed_reminder_make_one(cast):
    barrier = threading.Barrier(2)
    made: list[int] = []

    def create() -> None:
        try:
            barrier.wait()
            r = reminder_create(
                by=None, data=ReminderIn(title="Chase", due_at=clock.now(), assignee=cast.alice), key="k:race"
            )
            made.append(r.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 2 and made[0] == made[1] and Reminder.objects.filter(key="k:race").count() == 1


def test_done_twice_is_done_once_and_late_is_noted(cast):
    party = make_person(cast.alice)
    reminder = _new(cast.alice, party=party, due=clock.now() - H)
    reminder_done(by=cast.alice, reminder=reminder)
    reminder_done(by=cast.manager, reminder=reminder)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.DONE and reminder.done_by == cast.alice
    assert Activity.objects.filter(party=party, event="reminder.done").count() == 1
    assert Activity.objects.get(party=party, event="reminder.done").subject == "Done: Call back (late)"
    with pytest.raises(FridayError):
        reminder_snooze(by=cast.alice, reminder=reminder, until=clock.now() + H)
    reminder_reopen(by=cast.alice, reminder=reminder)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.OPEN and reminder.done_at is None


def test_snooze_moves_when_it_asks_not_when_it_was_due(cast):
    reminder = _new(cast.alice)
    with pytest.raises(FridayError) as exc:
        reminder_snooze(by=cast.alice, reminder=reminder, until=clock.now() - H)
    assert exc.value.field == "until"
    until = clock.now() + 3 * H
    reminder_snooze(by=cast.alice, reminder=reminder, until=until)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SNOOZED and reminder.remind_at == until
    assert reminder.due_at < until
    reminder_cancel(by=cast.alice, reminder=reminder, reason="Customer rang first")
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED and reminder.cancelled_reason == "Customer rang first"
    with pytest.raises(FridayError):
        reminder_done(by=cast.alice, reminder=reminder)


def test_update_moves_the_due_time_and_reassigns(cast):
    reminder = _new(cast.alice)
    later = clock.now() + 5 * H
    reminder_update(by=cast.alice, reminder=reminder, data=ReminderIn(due_at=later, assignee=cast.olga))
    reminder.refresh_from_db()
    assert reminder.remind_at == later and reminder.assignee == cast.olga
    with pytest.raises(ValidationFailed) as exc:
        reminder_update(by=cast.alice, reminder=reminder, data=ReminderIn(assignee=None))
    assert exc.value.errors[0].field == "assignee"


def test_who_sees_which_reminder(cast):
    for_alice = _new(cast.alice)
    for_bob = _new(cast.bob)
    for_members = reminder_create(
        by=cast.manager,
        data=ReminderIn(title="Cover the phones", due_at=clock.now() + H, assignee_role="member"),
    )
    seen = {
        u: set(selectors.reminders_visible(u).values_list("pk", flat=True)) for u in (cast.alice, cast.bob)
    }
    assert seen[cast.alice] == {for_alice.pk, for_members.pk}
    assert seen[cast.bob] == {for_bob.pk, for_members.pk}
    assert selectors.reminders_visible(cast.manager).count() == 3
    with pytest.raises(NotFound):
        selectors.reminder_get(user=cast.bob, reminder_id=for_alice.pk)
    # A teammate (same team, team scope) sees it too; a colleague with own scope only hers.
    olga_sees = set(selectors.reminders_visible(cast.olga).values_list("pk", flat=True))
    assert olga_sees == {for_members.pk}


def test_my_day_splits_overdue_today_and_upcoming(cast):
    tz = clock.business_tz()
    noon = dt.datetime(2026, 3, 10, 12, 0, tzinfo=tz)
    with time_machine.travel(noon, tick=False):
        _new(cast.alice, "Late", due=noon - 2 * H)
        _new(cast.alice, "This afternoon", due=noon + 3 * H)
        _new(cast.alice, "Tomorrow", due=noon + 24 * H)
        _new(cast.bob, "Not mine", due=noon - H)
        day = selectors.my_day(cast.alice)
        assert [r.title for r in day.overdue] == ["Late"] and day.overdue_count == 1
        assert [r.title for r in day.today] == ["This afternoon"]
        assert [r.title for r in day.upcoming] == ["Tomorrow"]
        assert selectors.attention_count(cast.alice) == 2


def test_chasing_a_supplier_shows_on_their_timeline(cast):
    supplier = make_org(cast.alice, "Boilers Direct")
    customer = make_person(cast.alice)
    reminder = _new(cast.alice, "Parts for the Lovelace job", party=customer, chase=supplier)
    assert Activity.objects.filter(party=supplier, event="reminder.created").exists()
    assert Activity.objects.filter(party=customer, event="reminder.created").exists()
    assert reminder.chase == supplier

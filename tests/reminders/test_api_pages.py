"""Reminders over the API and the pages; the calendar feed read back with the icalendar parser."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar

from friday.core import clock
from friday.reminders.models import Reminder, ReminderStatus
from friday.reminders.services import ReminderIn, calendar_feed_reset, reminder_create
from tests.conftest import make_person


def test_api_create_list_act_and_refuse(cast, api_for):
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    due = (clock.now() + dt.timedelta(hours=2)).isoformat()
    r = api.post("/reminders", {"title": "Send the quote", "due_at": due, "party_id": party.pk})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["assignee"]["id"] == cast.alice.pk and body["party"]["name"] == "Ada Lovelace"
    assert body["status"] == "open" and body["overdue"] is False
    rid = body["id"]
    assert [i["id"] for i in api.get("/reminders", mine="true").json()["items"]] == [rid]
    assert api.post(f"/reminders/{rid}/snooze", {"until": "2020-01-01T09:00:00Z"}).json()["field"] == "until"
    assert api.post(f"/reminders/{rid}/done").json()["status"] == "done"
    assert api.post(f"/reminders/{rid}/done").json()["status"] == "done"  # twice is once
    assert api.get("/reminders").json()["items"] == []  # done is not active
    assert [i["id"] for i in api.get("/reminders", status="done").json()["items"]] == [rid]
    # Bad input: the field's path; another team's reminder: 404.
    r = api.post("/reminders", {"title": "x", "due_at": "soon"})
    assert r.status_code == 422 and r.json()["field"] == "due_at"
    r = api.post("/reminders", {"title": "x", "due_at": due, "colour": "red"})
    assert r.status_code == 422 and r.json()["field"] == "colour"
    r = api.post("/reminders", {"title": "x", "due_at": due, "party_id": 999999})
    assert r.status_code == 404 and r.json()["field"] == "party_id"
    assert api_for(cast.bob).get(f"/reminders/{rid}").status_code == 404
    assert api.get("/reminders", status="lost").status_code == 422
    # For a role: nobody in particular.
    r = api.post("/reminders", {"title": "Phones", "due_at": due, "assignee_role": "member"})
    assert r.status_code == 201 and r.json()["assignee"] is None and r.json()["assignee_role"] == "member"
    assert Reminder.objects.count() == 2


def test_pages_my_day_create_done_and_snooze(cast, web_for):
    alice = web_for(cast.alice)
    party = make_person(cast.alice, "Grace", "Hopper")
    page = alice.get(f"/reminders/new/?party={party.pk}").content.decode()
    assert f'value="Grace Hopper · #{party.pk}"' in page
    local = (clock.now() - dt.timedelta(hours=1)).astimezone(clock.business_tz())
    r = alice.post(
        "/reminders/new/",
        {
            "title": "Ring Grace",
            "due_at": local.strftime("%Y-%m-%dT%H:%M"),
            "party": f"Grace Hopper · #{party.pk}",
        },
    )
    assert r.status_code == 302
    reminder = Reminder.objects.get()
    home = alice.get("/reminders/").content.decode()
    assert 'id="reminders-due"' in home and f'data-reminder="{reminder.pk}"' in home and "overdue" in home
    assert "Ring Grace" in alice.get(f"/parties/{party.pk}/").content.decode()  # the party's Reminders card
    r = alice.post(f"/reminders/{reminder.pk}/snooze/", {"preset": "tomorrow", "next": "/reminders/"})
    assert r.status_code == 302 and r["Location"] == "/reminders/"
    reminder.refresh_from_db()
    assert (
        reminder.status == ReminderStatus.SNOOZED
        and reminder.remind_at.astimezone(clock.business_tz()).hour == 9
    )
    alice.post(f"/reminders/{reminder.pk}/done/")
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.DONE
    # Refusals: an empty title and a party typed but not picked, each by its field.
    r = alice.post("/reminders/new/", {"title": "", "due_at": "", "party": "Grace"})
    body = r.content.decode()
    assert r.status_code == 422 and "This field is required" in body
    r = alice.post(
        "/reminders/new/", {"title": "x", "due_at": local.strftime("%Y-%m-%dT%H:%M"), "party": "Grace"}
    )
    assert r.status_code == 422 and "Pick the party from the list" in r.content.decode()
    assert web_for(cast.bob).get(f"/reminders/{reminder.pk}/").status_code == 404
    assert web_for(cast.reader).post("/reminders/new/", {"title": "x"}).status_code == 403


def test_calendar_feed(cast, web_for, client):
    party = make_person(cast.alice)
    reminder = reminder_create(
        by=cast.alice,
        data=ReminderIn(title="Service visit", due_at=clock.now() + dt.timedelta(days=2), party=party),
    )
    reminder_create(by=cast.bob, data=ReminderIn(title="Bob's", due_at=clock.now() + dt.timedelta(days=1)))
    page = web_for(cast.alice).post("/reminders/calendar/", {"action": "reset"}).content.decode()
    assert 'id="feed-url"' in page and "/reminders/feed/" in page
    raw = calendar_feed_reset(
        user=cast.alice, by=cast.alice
    )  # a new address: the one on the page stops working
    r = client.get(f"/reminders/feed/{raw}.ics")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = [c for c in cal.walk("VEVENT")]
    assert [str(e["SUMMARY"]) for e in events] == ["Service visit"]
    assert str(events[0]["UID"]).startswith(f"reminder-{reminder.pk}@")
    assert "About: Ada Lovelace" in str(events[0]["DESCRIPTION"])
    assert client.get("/reminders/feed/not-a-token.ics").status_code == 404
    web_for(cast.alice).post("/reminders/calendar/", {"action": "remove"})
    assert client.get(f"/reminders/feed/{raw}.ics").status_code == 404

"""A colleague's open reminders as an iCalendar feed (RFC 5545), for the calendar app they already use."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from icalendar import Calendar, Event

from friday.accounts.models import User
from friday.core import business, clock
from friday.reminders.selectors import mine

FEED_DAYS_BACK = 30
FEED_MAX = 1000


def calendar_for(user: User, *, host: str) -> bytes:
    """Open and snoozed reminders of `user` (theirs and their role's) from 30 days back, as 15-minute events at
    the time they ask for attention. Each keeps its UID across refreshes, so calendars update it in place."""
    cal = Calendar()
    cal.add("prodid", "-//Friday CRM//Reminders//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Friday reminders: {user.display}")
    cal.add("x-wr-timezone", business.time_zone())
    now = clock.now()
    base = getattr(settings, "FRIDAY_BASE_URL", "").rstrip("/")
    reminders = (
        mine(user)
        .filter(remind_at__gte=now - dt.timedelta(days=FEED_DAYS_BACK))
        .select_related("party", "chase")
        .order_by("remind_at", "id")[:FEED_MAX]
    )
    for reminder in reminders:
        event = Event()
        event.add("uid", f"reminder-{reminder.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", reminder.remind_at)
        event.add("dtend", reminder.remind_at + dt.timedelta(minutes=15))
        event.add("summary", reminder.title)
        lines = []
        if reminder.party is not None:
            lines.append(f"About: {reminder.party.display_name}")
        if reminder.chase is not None:
            lines.append(f"Chase: {reminder.chase.display_name}")
        if reminder.notes:
            lines.append(reminder.notes)
        url = f"{base}/reminders/{reminder.pk}/"
        lines.append(url)
        event.add("description", "\n".join(lines))
        event.add("url", url)
        event.add("status", "CONFIRMED")
        event.add("last-modified", reminder.updated_at)
        cal.add_component(event)
    return cal.to_ical()

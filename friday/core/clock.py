"""The one clock. Everything that asks 'what time is it' asks here, so tests can move time (time-machine)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from friday.core import business


def now() -> dt.datetime:
    return timezone.now()


def business_tz() -> zoneinfo.ZoneInfo:
    return business.tz()


def today() -> dt.date:
    """Today's date in the business's time zone."""
    return now().astimezone(business_tz()).date()


def local_date(moment: dt.datetime) -> dt.date:
    """The business's date at `moment`."""
    return moment.astimezone(business_tz()).date()

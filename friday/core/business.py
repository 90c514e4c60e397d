"""The business's name, time zone, currency and region: the one place every app reads them from.

They live in the `Business` row (ordinary data, changed on the Business page or in the setup guide). Each process
keeps a copy and re-reads the row at most every `CHECK_SECONDS`, and at the start of every task, so the web app and
the worker agree within seconds of a change without a query per call. Before the row exists (a new install) the
first read creates it from the environment's values.
"""

from __future__ import annotations

import threading
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import DatabaseError, transaction

from friday.core import errors
from friday.core.money import currency_clean

CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Info:
    name: str
    time_zone: str
    currency: str
    region: str
    version: int

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return _zone(self.time_zone)


_lock = threading.Lock()
_cached: tuple[float, Info] | None = None


def _from_environment() -> Info:
    return Info(
        name=settings.FRIDAY_BUSINESS_NAME,
        time_zone=settings.TIME_ZONE,
        currency=settings.FRIDAY_CURRENCY,
        region=settings.FRIDAY_DEFAULT_REGION,
        version=0,
    )


def _load() -> Info | None:
    from django.utils import timezone

    from friday.core.models import Business

    env = _from_environment()
    try:
        with transaction.atomic():
            row, _ = Business.objects.get_or_create(
                pk=1,
                defaults={
                    "name": env.name,
                    "time_zone": env.time_zone,
                    "currency": env.currency,
                    "region": env.region,
                    "updated_at": timezone.now(),
                },
            )
    except (DatabaseError, RuntimeError):
        # No table yet (a migration before core 0003, `friday check`) or no database allowed here (a test without
        # one): the environment's values hold, uncached, until the row can be read.
        return None
    return Info(row.name, row.time_zone, row.currency, row.region, row.version)


def current() -> Info:
    """The business as this process last read it, re-read when that was more than CHECK_SECONDS ago."""
    global _cached
    cached = _cached
    if cached is not None and time.monotonic() - cached[0] < CHECK_SECONDS:
        return cached[1]
    with _lock:
        info = _load()
        if info is None:
            return _from_environment()
        _cached = (time.monotonic(), info)
        return info


def pin(info: Info) -> None:
    """Use `info` from now on in this process, never reading the row: for the processes that check an import's
    rows (`imports.pool`), which must read every row with the business the import started with, and need no
    database."""
    global _cached
    _cached = (float("inf"), info)  # "read" at an endless time to come: always fresh to `current`


def refresh() -> Info:
    """Read the row now (a task starting, a change just saved here)."""
    forget()
    return current()


def forget() -> None:
    global _cached
    _cached = None


def name() -> str:
    return current().name


def time_zone() -> str:
    return current().time_zone


def tz() -> zoneinfo.ZoneInfo:
    return current().tz


def currency() -> str:
    """The home currency: deals, jobs and invoices without one are in it, and every total is in it."""
    return current().currency


def region() -> str:
    """The phone region (ISO 3166 alpha-2): numbers without a country code are read in it."""
    return current().region


_zones: dict[str, zoneinfo.ZoneInfo] = {}


def _zone(key: str) -> zoneinfo.ZoneInfo:
    zone = _zones.get(key)
    if zone is None:
        zone = _zones[key] = zoneinfo.ZoneInfo(key)
    return zone


# --- validation (the Business page, the setup guide and the API share these) ----------------------------------


def time_zone_clean(value: object, *, field: str = "time_zone") -> str:
    text = str(value or "").strip()
    if text not in zoneinfo.available_timezones():
        raise errors.FridayError(
            f"{text or 'An empty name'} is not a time zone: use a name such as Europe/London or America/New_York.",
            code="invalid.time_zone",
            field=field,
        )
    return text


def region_clean(value: object, *, field: str = "region") -> str:
    text = str(value or "").strip().upper()
    if text not in phonenumbers.SUPPORTED_REGIONS:
        raise errors.FridayError(
            f"{text or 'An empty code'} is not a country code for phone numbers: use two letters such as GB, "
            "IE or US.",
            code="invalid.region",
            field=field,
        )
    return text


def clean(*, name: str, time_zone: str, currency: str, region: str) -> dict[str, Any]:
    """The four values checked together, every problem by its field (ValidationFailed)."""
    collector = errors.Collector()
    out: dict[str, Any] = {"name": " ".join(str(name or "").split())}
    if not out["name"]:
        collector.add("name", "The business needs a name.", code="invalid.required")
    elif len(out["name"]) > 200:
        collector.add("name", "A name has at most 200 characters.", code="invalid.too_long")
    elif "\x00" in out["name"]:
        collector.add("name", "Null characters are not allowed.", code="invalid.null_character")
    for key, check, value in (
        ("time_zone", time_zone_clean, time_zone),
        ("currency", currency_clean, currency),
        ("region", region_clean, region),
    ):
        try:
            out[key] = check(value, field=key)
        except errors.FridayError as exc:
            collector.add(key, exc.detail, code=exc.code)
    collector.raise_if_any()
    return out


# Tests and `override_settings` change the environment's values: a row nobody has saved yet follows them.
_SETTINGS = {"FRIDAY_BUSINESS_NAME", "TIME_ZONE", "FRIDAY_CURRENCY", "FRIDAY_DEFAULT_REGION"}


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting not in _SETTINGS:
        return
    forget()
    from friday.core.models import Business

    try:
        with transaction.atomic():
            Business.objects.filter(pk=1, updated_by__isnull=True).delete()
    except (DatabaseError, RuntimeError):
        pass  # no database here: nothing was copied from the old value


def on_task_started(**kwargs: Any) -> None:
    """A task sees the business as it is now, and renders dates in its time zone."""
    from django.utils import timezone

    timezone.activate(refresh().tz)

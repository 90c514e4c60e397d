"""Triggers: what makes a rule fire, and — for one window of time — which records it fires for.

Event triggers read `DomainEvent` rows; time triggers are indexed queries over a window (start, end]: a sweep asks
for the window since it last looked, so a worker that was down for days gets every missed moment once, and the
forecast asks the same code about the days ahead. Each match carries its occurrence — the year of a birthday,
the id of an event, the date a silence began — which makes the firing key, so nothing fires twice.

    {"type": "event", "event": "party.created"}                     any DomainEvent name
    {"type": "event", "event": "party.updated", "fields": ["owner"]} only when one of these fields changed
    {"type": "event", "event": "deal.stage_entered", "stage": "won"} entering a given stage
    {"type": "yearly", "field": "birthday" | "customer_since", "days_before": 0, "at": "09:00"}
    {"type": "date", "field": "deal.expected_close", "offset_minutes": -1440, "at": "09:00"}
    {"type": "no_contact", "days": 60}                               counted from the last call, meeting or email
    {"type": "reminder_overdue", "hours": 24}
    {"type": "chase", "every_days": 3}                               a reminder's chased supplier, until done
    {"type": "cron", "cron": "0 9 * * 1"}                            once per slot, for no record
    {"type": "service_due", "days_before": 14, "at": "09:00"}        a service plan's next visit comes due
    {"type": "campaign", "cron": "0 10 1 * *", "period": "year"}     at each slot, every party the conditions
                                                                     select — at most once per party per period
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter
from django.db.models import Exists, OuterRef, Q

from friday.core import clock
from friday.core.errors import Collector
from friday.core.ids import valid_id
from friday.core.models import DomainEvent
from friday.deals.models import Deal
from friday.jobs.models import Job, ServicePlan
from friday.parties.models import Activity, ActivityKind, Party
from friday.reminders.models import ACTIVE, Reminder

TYPES = (
    "event",
    "yearly",
    "date",
    "no_contact",
    "reminder_overdue",
    "chase",
    "cron",
    "service_due",
    "campaign",
)
PERIODS = ("week", "month", "quarter", "year")
YEARLY_FIELDS = ("birthday", "customer_since")
DATE_FIELDS = ("deal.expected_close",)
CONTACT = (ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL_IN, ActivityKind.EMAIL_OUT)
EVENT_OVERLAP = dt.timedelta(minutes=10)  # events are re-read this far back: a late commit is not missed
MAX_CATCH_UP = dt.timedelta(days=400)  # a sweep never looks further back than this
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass
class Match:
    record_type: str
    record_id: int | None
    party_id: int | None
    occurrence: str
    due_at: dt.datetime
    snapshot: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimeTrigger:
    """A time trigger added by an app above automation (an invoice overdue): its settings, its matches in a
    window, the record details it gives templates, a description in words, and `still_due`, which says why a
    firing no longer applies when its action runs (the invoice was paid meanwhile), or "" when it does."""

    type: str
    label: str
    fields: frozenset[str]
    clean: Callable[[dict[str, Any], Collector, str], dict[str, Any]]
    matches: Callable[[dict[str, Any], dt.datetime, dt.datetime], Iterator[Match]]
    describe: Callable[[dict[str, Any]], str]
    record_fields: frozenset[str] = frozenset()
    still_due: Callable[[Any], str] | None = None


REGISTERED: dict[str, TimeTrigger] = {}


def register(trigger: TimeTrigger) -> None:
    REGISTERED[trigger.type] = trigger


def clean_trigger(data: Any, *, prefix: str = "trigger") -> dict[str, Any]:
    errors = Collector()
    if not isinstance(data, dict) or data.get("type") not in (*TYPES, *REGISTERED):
        errors.add(
            f"{prefix}.type",
            f"A trigger's type is one of {', '.join((*TYPES, *REGISTERED))}.",
            code="invalid.trigger",
        )
        errors.raise_if_any()
    kind = data["type"]
    if kind in REGISTERED:
        extra = REGISTERED[kind]
        for name in data:
            if name not in extra.fields | {"type"}:
                errors.add(f"{prefix}.{name}", f"A {kind} trigger has no {name!r}.", code="invalid.field")
        cleaned = {"type": kind, **extra.clean(data, errors, prefix)}
        errors.raise_if_any()
        return cleaned
    allowed = {
        "event": {"type", "event", "fields", "stage"},
        "yearly": {"type", "field", "days_before", "at"},
        "date": {"type", "field", "offset_minutes", "at"},
        "no_contact": {"type", "days"},
        "reminder_overdue": {"type", "hours"},
        "chase": {"type", "every_days"},
        "cron": {"type", "cron"},
        "service_due": {"type", "days_before", "at"},
        "campaign": {"type", "cron", "period"},
    }[kind]
    for name in data:
        if name not in allowed:
            errors.add(f"{prefix}.{name}", f"A {kind} trigger has no {name!r}.", code="invalid.field")
    out: dict[str, Any] = {"type": kind}

    def integer(name: str, low: int, high: int, default: int | None = None) -> int:
        value = data.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors.add(
                f"{prefix}.{name}", f"Give a whole number from {low} to {high}.", code="invalid.number"
            )
            return low
        return value

    def at() -> str:
        value = data.get("at", "09:00")
        if not isinstance(value, str) or not TIME_RE.match(value):
            hint = (
                " In YAML, quote it: at: '10:30' (unquoted, YAML reads it as a number)."
                if isinstance(value, int)
                else ""
            )
            errors.add(f"{prefix}.at", f"Give a time of day as HH:MM, e.g. 09:00.{hint}", code="invalid.time")
            return "09:00"
        return value

    if kind == "event":
        name = data.get("event")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z_]+\.[a-z_]+", name or ""):
            errors.add(
                f"{prefix}.event",
                "Name an event, e.g. party.created or deal.stage_entered.",
                code="invalid.event",
            )
        out["event"] = name
        if "fields" in data:
            fields = data["fields"]
            if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
                errors.add(f"{prefix}.fields", "Give a list of field names.", code="invalid.fields")
            elif not str(name).endswith(".updated"):
                errors.add(f"{prefix}.fields", "Fields apply to an .updated event.", code="invalid.fields")
            else:
                out["fields"] = sorted(set(fields))
        if "stage" in data:
            if not isinstance(data["stage"], str) or not str(name).endswith(".stage_entered"):
                errors.add(
                    f"{prefix}.stage", "A stage applies to a .stage_entered event.", code="invalid.stage"
                )
            else:
                out["stage"] = data["stage"]
    elif kind == "yearly":
        if data.get("field") not in YEARLY_FIELDS:
            errors.add(f"{prefix}.field", f"Use one of {', '.join(YEARLY_FIELDS)}.", code="invalid.field")
        out.update(field=data.get("field"), days_before=integer("days_before", 0, 60, 0), at=at())
    elif kind == "date":
        if data.get("field") not in DATE_FIELDS:
            errors.add(f"{prefix}.field", f"Use one of {', '.join(DATE_FIELDS)}.", code="invalid.field")
        out.update(
            field=data.get("field"), offset_minutes=integer("offset_minutes", -525600, 525600, 0), at=at()
        )
    elif kind == "no_contact":
        out["days"] = integer("days", 1, 3650)
    elif kind == "reminder_overdue":
        out["hours"] = integer("hours", 0, 8760)
    elif kind == "chase":
        out["every_days"] = integer("every_days", 1, 90)
    elif kind in ("cron", "campaign"):
        expression = data.get("cron")
        if not isinstance(expression, str) or not croniter.is_valid(expression):
            errors.add(
                f"{prefix}.cron",
                "Give a cron schedule, e.g. 0 9 * * 1 (Mondays at 9:00).",
                code="invalid.cron",
            )
        out["cron"] = expression
        if kind == "campaign":
            period = data.get("period", "year")
            if period not in PERIODS:
                errors.add(f"{prefix}.period", f"Use one of {', '.join(PERIODS)}.", code="invalid.period")
            out["period"] = period
    elif kind == "service_due":
        out.update(days_before=integer("days_before", 0, 365, 14), at=at())
    errors.raise_if_any()
    return out


def is_event(trigger: dict[str, Any]) -> bool:
    return trigger["type"] == "event"


# --- events ------------------------------------------------------------------------------------------------------


def _party_ids(subject_type: str, ids: list[int]) -> dict[int, int | None]:
    if subject_type == "party":
        return {i: i for i in ids}
    if subject_type == "deal":
        return dict(Deal.objects.filter(pk__in=ids).values_list("pk", "party_id"))
    if subject_type == "reminder":
        return dict(Reminder.objects.filter(pk__in=ids).values_list("pk", "party_id"))
    if subject_type == "service_plan":
        return dict(ServicePlan.objects.filter(pk__in=ids).values_list("pk", "party_id"))
    if subject_type == "job":
        return dict(Job.objects.filter(pk__in=ids).values_list("pk", "party_id"))
    return {}


def event_matches(
    trigger: dict[str, Any], start: dt.datetime, end: dt.datetime, *, since: dt.datetime | None = None
) -> Iterator[Match]:
    """Events of the trigger's name in (start − overlap, end], oldest first — never before `since` (when the
    rule was switched on)."""
    lower = start - EVENT_OVERLAP
    if since is not None:
        lower = max(lower, since)
    events = DomainEvent.objects.filter(
        name=trigger["event"], occurred_at__gt=lower, occurred_at__lte=end
    ).order_by("occurred_at", "id")
    batch: list[DomainEvent] = []
    for event in events.iterator(chunk_size=1000):
        payload = event.payload or {}
        if "fields" in trigger and not set(trigger["fields"]) & set(payload.get("fields") or []):
            continue
        if "stage" in trigger and payload.get("stage") != trigger["stage"]:
            continue
        batch.append(event)
        if len(batch) >= 1000:
            yield from _event_batch(batch)
            batch = []
    yield from _event_batch(batch)


def _event_batch(events: list[DomainEvent]) -> Iterator[Match]:
    by_type: dict[str, list[int]] = {}
    for e in events:
        by_type.setdefault(e.subject_type, []).append(e.subject_id)
    parties = {t: _party_ids(t, ids) for t, ids in by_type.items()}
    named: dict[int, int | None] = {}
    for e in events:
        payload_party = (e.payload or {}).get("party_id")
        named[e.pk] = parties.get(e.subject_type, {}).get(e.subject_id) or (
            payload_party if isinstance(payload_party, int) and valid_id(payload_party) else None
        )
    # A party deleted (or merged into another) since its event is nobody to act for: no firing names it.
    existing = set(Party.objects.filter(pk__in={p for p in named.values() if p}).values_list("pk", flat=True))
    for e in events:
        party_id = named[e.pk]
        yield Match(
            record_type=e.subject_type,
            record_id=e.subject_id,
            party_id=party_id if party_id in existing else None,
            occurrence=f"event:{e.pk}",
            due_at=e.occurred_at,
            snapshot={
                "event": e.name,
                **{k: v for k, v in (e.payload or {}).items() if isinstance(v, (str, int, float, bool))},
            },
        )


# --- time ---------------------------------------------------------------------------------------------------------


def _local_days(start: dt.datetime, end: dt.datetime, margin: int = 1) -> list[dt.date]:
    tz = clock.business_tz()
    first, last = (
        start.astimezone(tz).date() - dt.timedelta(days=margin),
        end.astimezone(tz).date() + dt.timedelta(days=margin),
    )
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.business_tz())


def _anniversary(month: int, day: int, year: int) -> dt.date:
    """This year's date for a date's month and day: 29 February is kept on 28 February in other years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def yearly_matches(
    trigger: dict[str, Any], start: dt.datetime, end: dt.datetime, parties: Any
) -> Iterator[Match]:
    """Every party whose date (birthday, customer since) comes round at a moment in (start, end] — the moment
    being that day, minus `days_before`, at `at` on the party's own clock (their time zone, else the business's)."""
    name, before = trigger["field"], trigger["days_before"]
    hour, minute = (int(p) for p in trigger["at"].split(":"))
    business = clock.business_tz()
    # Every anniversary date whose moment could fall in the window in some time zone (±14 hours).
    for target in _local_days(start, end, margin=2):
        target = target + dt.timedelta(days=before)
        q = Q(**{f"{name}__month": target.month, f"{name}__day": target.day})
        if target.month == 2 and target.day == 28 and not calendar.isleap(target.year):
            q |= Q(**{f"{name}__month": 2, f"{name}__day": 29})
        rows = parties.filter(q).values_list("pk", name, "time_zone")
        for pk, value, zone in rows.iterator(chunk_size=2000):
            if _anniversary(value.month, value.day, target.year) != target:
                continue
            if name == "customer_since" and value.year >= target.year:
                continue  # not an anniversary yet
            tz = _zone(zone) or business
            moment = dt.datetime.combine(target - dt.timedelta(days=before), dt.time(hour, minute), tzinfo=tz)
            if not start < moment <= end:
                continue
            yield Match(
                record_type="party",
                record_id=pk,
                party_id=pk,
                occurrence=str(target.year),
                due_at=moment,
                snapshot={
                    name: value.isoformat(),
                    "years": target.year - value.year,
                    "date": target.isoformat(),
                },
            )


def _zone(name: str) -> Any:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def date_matches(trigger: dict[str, Any], start: dt.datetime, end: dt.datetime) -> Iterator[Match]:
    """Open deals whose expected close (at the given time, plus the offset) falls in (start, end]."""
    offset = dt.timedelta(minutes=trigger["offset_minutes"])
    days = [
        d for d in _local_days(start - offset, end - offset) if start < _at(d, trigger["at"]) + offset <= end
    ]
    if not days:
        return
    rows = Deal.objects.filter(closed_at__isnull=True, expected_close__in=days).values_list(
        "pk", "party_id", "expected_close", "title"
    )
    for pk, party_id, close, title in rows.iterator(chunk_size=2000):
        assert close is not None  # filtered by it
        yield Match(
            record_type="deal",
            record_id=pk,
            party_id=party_id,
            occurrence=close.isoformat(),
            due_at=_at(close, trigger["at"]) + offset,
            snapshot={"title": title, "expected_close": close.isoformat()},
        )


def no_contact_matches(
    trigger: dict[str, Any], start: dt.datetime, end: dt.datetime, parties: Any
) -> Iterator[Match]:
    """Parties whose last call, meeting or email (or, never contacted, their creation) was `days` before a
    moment in (start, end]. Messages Friday sent by itself do not count as contact."""
    silence = dt.timedelta(days=trigger["days"])
    lo, hi = start - silence, end - silence
    contact = Activity.objects.filter(kind__in=CONTACT).exclude(event="message.sent")
    later = contact.filter(party_id=OuterRef("party_id"), occurred_at__gt=OuterRef("occurred_at"))
    last = (
        contact.filter(occurred_at__gt=lo, occurred_at__lte=hi, party__in=parties)
        .annotate(superseded=Exists(later))
        .filter(superseded=False)
        .values_list("party_id", "occurred_at")
    )
    seen: set[int] = set()
    for party_id, at in last.iterator(chunk_size=2000):
        if party_id in seen:
            continue
        seen.add(party_id)
        yield Match(
            "party",
            party_id,
            party_id,
            f"since:{at.date().isoformat()}",
            at + silence,
            {"last_contact": at.isoformat()},
        )
    never = (
        parties.filter(created_at__gt=lo, created_at__lte=hi)
        .exclude(Exists(contact.filter(party_id=OuterRef("pk"))))
        .values_list("pk", "created_at")
    )
    for pk, created in never.iterator(chunk_size=2000):
        yield Match(
            "party", pk, pk, f"since:{created.date().isoformat()}", created + silence, {"last_contact": None}
        )


def overdue_matches(trigger: dict[str, Any], start: dt.datetime, end: dt.datetime) -> Iterator[Match]:
    """Open reminders whose time (due, or the end of a snooze) plus `hours` falls in (start, end]."""
    late = dt.timedelta(hours=trigger["hours"])
    rows = Reminder.objects.filter(
        status__in=ACTIVE, remind_at__gt=start - late, remind_at__lte=end - late
    ).values_list("pk", "party_id", "remind_at", "title", "assignee_id")
    for pk, party_id, at, title, assignee in rows.iterator(chunk_size=2000):
        yield Match(
            "reminder",
            pk,
            party_id,
            f"at:{at.isoformat()}",
            at + late,
            {"title": title, "due_at": at.isoformat(), "assignee_id": assignee},
        )


def chase_matches(trigger: dict[str, Any], start: dt.datetime, end: dt.datetime) -> Iterator[Match]:
    """Open reminders that chase a party (a supplier): when due, and again every `every_days` days until done.
    The occurrence is the round (0 when due, 1 the first re-chase …); a snooze moves them all."""
    every = dt.timedelta(days=trigger["every_days"])
    rows = Reminder.objects.filter(status__in=ACTIVE, chase__isnull=False, remind_at__lte=end).values_list(
        "pk", "party_id", "chase_id", "remind_at", "title"
    )
    for pk, party_id, chase_id, at, title in rows.iterator(chunk_size=2000):
        first = max(0, -(-(start - at) // every)) if start > at else 0  # the first round after `start`
        k = first
        while at + k * every <= end:
            moment = at + k * every
            if moment > start:
                yield Match(
                    "reminder",
                    pk,
                    party_id,
                    f"chase:{at.isoformat()}:{k}",
                    moment,
                    {"title": title, "round": k, "chase_id": chase_id, "due_at": at.isoformat()},
                )
            k += 1
            if k - first > 400:
                break


def cron_matches(trigger: dict[str, Any], start: dt.datetime, end: dt.datetime) -> Iterator[Match]:
    it = croniter(trigger["cron"], start.astimezone(clock.business_tz()))
    for _ in range(1000):
        slot = it.get_next(dt.datetime)
        if slot > end:
            return
        yield Match("", None, None, f"slot:{slot.astimezone(dt.UTC).isoformat()}", slot, {})


def service_due_matches(
    trigger: dict[str, Any], start: dt.datetime, end: dt.datetime, *, since: dt.datetime | None = None
) -> Iterator[Match]:
    """Active service plans whose next due date, less `days_before`, at `at` falls in (start, end] — and plans
    changed in the window (a new plan, a new due date) whose moment has already come but whose due date has not
    passed, so a plan added eight days before it is due is not skipped. The due date is the occurrence: once a
    completed job moves it on, the next one fires in its turn."""
    before = dt.timedelta(days=trigger["days_before"])
    days = [
        d for d in _local_days(start + before, end + before) if start < _at(d - before, trigger["at"]) <= end
    ]
    # A plan whose visit is already booked (an open job under it) needs no notice: the job is the booking.
    booked = Job.objects.filter(
        service_plan=OuterRef("pk"), completed_at__isnull=True, closed_at__isnull=True
    )
    plans = ServicePlan.objects.filter(active=True).exclude(Exists(booked))
    rows = plans.filter(next_due_on__in=days) if days else plans.none()
    late = plans.filter(
        # As for events: a change committed late is not missed — but nothing from before the rule was switched on.
        updated_at__gt=max(start - EVENT_OVERLAP, since) if since else start - EVENT_OVERLAP,
        updated_at__lte=end,
        next_due_on__gte=clock.local_date(end),
        next_due_on__lte=clock.local_date(end) + before,
    )
    seen: set[int] = set()
    for query in (rows, late):
        values = query.values_list(
            "pk", "party_id", "next_due_on", "name", "asset__name", "asset__serial_number"
        )
        for pk, party_id, due, name, asset, serial in values.iterator(chunk_size=2000):
            if pk in seen or due is None:
                continue
            moment = _at(due - before, trigger["at"])
            if moment > end:
                continue  # changed lately, but its moment is still to come: it fires then
            seen.add(pk)
            yield Match(
                "service_plan",
                pk,
                party_id,
                f"due:{due.isoformat()}",
                min(max(moment, start), end),
                {
                    "plan": name,
                    "due_on": due.isoformat(),
                    "due": f"{due.day} {due:%B %Y}",  # for people: 10 December 2026
                    "asset": asset or "",
                    "serial_number": serial or "",
                    "days_before": trigger["days_before"],
                },
            )


def period_of(moment: dt.datetime, period: str) -> str:
    """The campaign period a moment falls in, in the business's calendar: 2026, 2026-Q4, 2026-11, 2026-W48."""
    day = moment.astimezone(clock.business_tz()).date()
    if period == "year":
        return str(day.year)
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def campaign_matches(
    trigger: dict[str, Any], start: dt.datetime, end: dt.datetime, parties: Any
) -> Iterator[Match]:
    """At each slot of the schedule, every party the rule's conditions select; the period is the occurrence, so
    a party hears from the campaign at most once per period however often the schedule runs."""
    slots = [m.due_at for m in cron_matches(trigger, start, end)]
    for slot in slots:
        label = period_of(slot, trigger["period"])
        for pk in parties.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=2000):
            yield Match("party", pk, pk, f"{trigger['period']}:{label}", slot, {"period": label})


def time_matches(
    trigger: dict[str, Any],
    start: dt.datetime,
    end: dt.datetime,
    parties: Any,
    *,
    since: dt.datetime | None = None,
) -> Iterator[Match]:
    """The matches of a time trigger in (start, end]. `parties` is the queryset conditions already narrowed."""
    kind = trigger["type"]
    if kind == "yearly":
        yield from yearly_matches(trigger, start, end, parties)
    elif kind == "date":
        yield from date_matches(trigger, start, end)
    elif kind == "no_contact":
        yield from no_contact_matches(trigger, start, end, parties)
    elif kind == "reminder_overdue":
        yield from overdue_matches(trigger, start, end)
    elif kind == "chase":
        yield from chase_matches(trigger, start, end)
    elif kind == "cron":
        yield from cron_matches(trigger, start, end)
    elif kind == "service_due":
        yield from service_due_matches(trigger, start, end, since=since)
    elif kind == "campaign":
        yield from campaign_matches(trigger, start, end, parties)
    elif kind in REGISTERED:
        yield from REGISTERED[kind].matches(trigger, start, end)

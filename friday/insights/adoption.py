"""Is the process used? Per person and per process, per ISO week: overdue reminders, records stuck past a stage's
time limit, moves off the process, activities logged — and a score from 0 to 100 with its trend.

How the figures are kept (STYLE 9: aggregates are tables, refreshed by resumable jobs; pages read the tables):

- `count_week(week, at)` counts one week's signals as of a moment `at` — the week's end, or now for the week in
  progress — from the source rows: the daily move roll-ups (`processes.MoveDay`), the stays in `StageChange`
  (where each record was at `at`), the reminders' times, and the timeline. Past weeks are derivable: a stay has
  its start and end, a reminder its time and when it was done.
- `snapshot_week` writes those counts into `AdoptionCount` (unique (week, person, process)) under an
  `AdoptionWeek` marker, replacing the week's rows in one transaction, so a re-run never duplicates.
- `refresh` — the hourly job — recomputes the week in progress and every past week of the last twelve that is
  not final yet (missing, or last computed before it ended): a worker that was down catches up by itself.
- The page (`adoption`) reads at most twelve weeks of these small rows and works out the scores in Python.

The score (`person_score`, `process_score`) and why it is built this way are in docs/insights.md, "Is the process
used? (adoption)".
"""

from __future__ import annotations

import datetime as dt
import operator
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import reduce
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Model, OuterRef, Q, QuerySet, Subquery, Sum

from friday.accounts.models import Role, User
from friday.core import business, clock
from friday.core.money import round_money
from friday.deals.models import Deal
from friday.insights.models import AdoptionCount, AdoptionWeek, CustomerMetrics
from friday.insights.risk import threshold
from friday.jobs.models import Job
from friday.parties.models import Activity, ActivityKind, Party
from friday.processes import analytics, records
from friday.processes.models import MoveDay, Process, RecordType, StageChange
from friday.reminders.models import ACTIVE, Reminder, ReminderStatus

WEEKS = 12  # the weeks a page shows, and the weeks the job keeps final

# The score's weights (they add up to 100). Each signal takes off its weight times a share between 0 and 1.
PERSON_WEIGHTS = {"off_process": 35, "overdue": 25, "stuck": 25, "quiet": 15}
PROCESS_WEIGHTS = {"off_process": 50, "stuck": 50}

# What counts as logging an activity: what a person writes on a timeline (not what Friday wrote by itself).
LOGGED: dict[str, str] = {
    ActivityKind.CALL: "calls",
    ActivityKind.MEETING: "meetings",
    ActivityKind.NOTE: "notes",
    ActivityKind.EMAIL_IN: "emails",
    ActivityKind.EMAIL_OUT: "emails",
}
SENT_BY_FRIDAY = "message.sent"

SIGNALS = (
    "moves",
    "off_process",
    "undeclared",
    "overridden",
    "open_records",
    "stuck",
    "open_reminders",
    "overdue",
    "calls",
    "meetings",
    "notes",
    "emails",
)

# Whose a record is, by the process's record type: the table and its owner column (a party's lifecycle: the
# party's owner). The owner is today's: owners are not kept in the history.
OWNERS: dict[str, type[Model]] = {RecordType.DEAL: Deal, RecordType.JOB: Job, RecordType.PARTY: Party}


# --- weeks ----------------------------------------------------------------------------------------------------


def week_of(day: dt.date) -> dt.date:
    """The Monday of the ISO week `day` is in."""
    return day - dt.timedelta(days=day.weekday())


def week_start(week: dt.date) -> dt.datetime:
    return dt.datetime.combine(week, dt.time.min, tzinfo=clock.business_tz())


def week_end(week: dt.date) -> dt.datetime:
    """The first moment after the week: the next Monday at midnight, in the business's time zone."""
    return week_start(week + dt.timedelta(days=7))


def last_weeks(n: int = WEEKS, today: dt.date | None = None) -> list[dt.date]:
    """The Mondays of the last `n` weeks, oldest first, ending with this week."""
    this = week_of(today or clock.today())
    return [this - dt.timedelta(weeks=i) for i in range(n - 1, -1, -1)]


def moment(week: dt.date, now: dt.datetime | None = None) -> dt.datetime:
    """What a week's figures describe: its end, or now while it is in progress."""
    return min(now or clock.now(), week_end(week))


# --- counting one week ----------------------------------------------------------------------------------------

Key = tuple[int, int]  # (person, process)


def _add(out: dict[Key, Counter[str]], key: Key, **counts: int) -> None:
    for name, n in counts.items():
        if n:
            out[key][name] += n


def _moves(out: dict[Key, Counter[str]], week: dt.date, at: dt.datetime) -> None:
    """Moves by person and process in [week start, at), from the daily roll-ups: a business day's row holds the
    moves of that day, so the whole days up to `at` are exact (`at` is the week's end, or now)."""
    local = at.astimezone(clock.business_tz())
    end_day = local.date() if local.time() == dt.time.min else local.date() + dt.timedelta(days=1)
    off = Q(declared=False) | Q(overridden=True)
    rows = (
        MoveDay.objects.filter(day__gte=week, day__lt=min(end_day, week + dt.timedelta(days=7)))
        .values("actor", "process_id")
        .annotate(
            moves=Sum("n"),
            off_process=Sum("n", filter=off),
            undeclared=Sum("n", filter=Q(declared=False)),
            overridden=Sum("n", filter=Q(overridden=True)),
        )
        .order_by()
    )
    for row in rows:
        _add(
            out,
            (row["actor"] or 0, row["process_id"]),
            moves=row["moves"] or 0,
            off_process=row["off_process"] or 0,
            undeclared=row["undeclared"] or 0,
            overridden=row["overridden"] or 0,
        )


def stays_at(process: Process, at: dt.datetime) -> QuerySet[StageChange] | None:
    """The stays of `process` going on at `at` (entered before it, not left before it) in an open stage of the
    current version: where each record was. None when the process is not published."""
    if process.current is None:
        return None
    open_stages = [s.key for s in process.current.definition.stages if not s.terminal]
    return StageChange.objects.filter(process=process, to_stage__in=open_stages, at__lt=at).filter(
        Q(left_at__isnull=True) | Q(left_at__gte=at)
    )


def stuck_q(process: Process, at: dt.datetime) -> Q | None:
    """Of the stays going on at `at`: those longer than their stage's time limit (the current version's, as on
    the process board and in `analytics.stuck`). None when no stage has a limit."""
    assert process.current is not None
    parts = [
        Q(to_stage=s.key, at__lt=at - dt.timedelta(days=s.time_limit_days))
        for s in process.current.definition.stages
        if s.time_limit_days and not s.terminal
    ]
    return reduce(operator.or_, parts) if parts else None


def owner_of(process: Process) -> Subquery | None:
    """The owner of the record a StageChange row is about, today."""
    model = OWNERS.get(process.applies_to)
    if model is None:
        return None
    return Subquery(model._default_manager.filter(pk=OuterRef("record_id")).values("owner_id")[:1])


def _stays(out: dict[Key, Counter[str]], at: dt.datetime) -> None:
    """Records in an open stage at `at`, and those past its time limit, by owner and process."""
    for process in Process.objects.filter(current__isnull=False).select_related("current").order_by("pk"):
        stays, owner = stays_at(process, at), owner_of(process)
        if stays is None or owner is None:
            continue
        late = stuck_q(process, at)
        counts: dict[str, Any] = {"open_records": Count("id")}
        if late is not None:
            counts["stuck"] = Count("id", filter=late)
        rows: Any = stays.annotate(owner=owner).values("owner").annotate(**counts).order_by()
        for row in rows:
            _add(
                out,
                (row["owner"] or 0, process.pk),
                open_records=row["open_records"],
                stuck=row.get("stuck", 0),
            )


def open_reminders_q(at: dt.datetime) -> Q:
    """Reminders open at `at`: created before it and not done (or cancelled) before it. One done a second
    before `at` is not open; one done at `at` or later still was."""
    return Q(created_at__lt=at) & (
        Q(status__in=ACTIVE)
        | Q(status=ReminderStatus.DONE, done_at__gte=at)
        | Q(status=ReminderStatus.CANCELLED, updated_at__gte=at)
    )


def overdue_q(at: dt.datetime) -> Q:
    """Open at `at` and past their time (the time they are set for now: a snooze moves it)."""
    return open_reminders_q(at) & Q(remind_at__lt=at)


def _reminders(out: dict[Key, Counter[str]], at: dt.datetime) -> None:
    rows = (
        Reminder.objects.filter(open_reminders_q(at), assignee__isnull=False)
        .values("assignee_id")
        .annotate(n=Count("id"), late=Count("id", filter=Q(remind_at__lt=at)))
        .order_by()
    )
    for row in rows:
        _add(out, (row["assignee_id"], 0), open_reminders=row["n"], overdue=row["late"])


def logged(since: dt.datetime, until: dt.datetime) -> QuerySet[Activity]:
    """Activities people logged in [since, until): calls, meetings, notes and emails with an author."""
    return Activity.objects.filter(
        occurred_at__gte=since, occurred_at__lt=until, author__isnull=False, kind__in=list(LOGGED)
    ).exclude(event=SENT_BY_FRIDAY)


def _activities(out: dict[Key, Counter[str]], week: dt.date, at: dt.datetime) -> None:
    rows = logged(week_start(week), at).values("author_id", "kind").annotate(n=Count("id")).order_by()
    for row in rows:
        _add(out, (row["author_id"], 0), **{LOGGED[row["kind"]]: row["n"]})


def count_week(week: dt.date, at: dt.datetime) -> dict[Key, Counter[str]]:
    """Every signal of the week starting on Monday `week`, as of `at`, by (person, process)."""
    out: dict[Key, Counter[str]] = defaultdict(Counter)
    _moves(out, week, at)
    _stays(out, at)
    _reminders(out, at)
    _activities(out, week, at)
    return {key: counts for key, counts in out.items() if any(counts.values())}


# --- the weekly snapshots and the job that keeps them --------------------------------------------------------


def snapshot_week(week: dt.date, *, at: dt.datetime | None = None, force: bool = False) -> bool:
    """Count the week (as of its end, or now while in progress) and store it, replacing its rows. Counting runs
    outside the transaction, so the database is locked only while the rows are written. A final week is not
    replaced by figures taken before its end, nor any week by older figures (two runs at once), unless
    `force`. Returns whether it wrote."""
    if week.weekday() != 0:
        raise ValueError(f"{week} is not a Monday")
    now = clock.now()
    at = at or moment(week, now)
    began = time.perf_counter()
    counts = count_week(week, at)
    final = at >= week_end(week)
    with transaction.atomic():
        # A new marker says "nothing yet" (as of the week's start), so any figures replace it; an existing one is
        # locked, so two runs write one after the other.
        AdoptionWeek.objects.bulk_create(
            [AdoptionWeek(week=week, as_of=week_start(week), computed_at=now)], ignore_conflicts=True
        )
        marker = AdoptionWeek.objects.select_for_update().get(week=week)
        if not force and (marker.as_of > at or (marker.final and not final)):
            return False
        AdoptionCount.objects.filter(week=week).delete()
        AdoptionCount.objects.bulk_create(
            [
                AdoptionCount(week=week, person=person, process=process, **dict(values))
                for (person, process), values in sorted(counts.items())
            ],
            batch_size=2000,
        )
        marker.as_of, marker.final, marker.computed_at = at, final, now
        marker.seconds = round(time.perf_counter() - began, 3)
        marker.save()
    return True


def refresh(*, now: dt.datetime | None = None, weeks: int = WEEKS) -> list[dt.date]:
    """The hourly job: every past week of the last `weeks` that is not final yet (never computed, or computed
    before it ended — the worker was down), then the week in progress. Returns the weeks written."""
    now = now or clock.now()
    this = week_of(clock.local_date(now))
    past = [this - dt.timedelta(weeks=i) for i in range(weeks - 1, 0, -1)]
    final = set(AdoptionWeek.objects.filter(week__in=past, final=True).values_list("week", flat=True))
    written = [w for w in past if w not in final and snapshot_week(w, at=week_end(w))]
    if snapshot_week(this, at=now):
        written.append(this)
    return written


def backfill(
    *, weeks: int = WEEKS, redo: bool = False, progress: Callable[[dt.date], None] | None = None
) -> list[dt.date]:
    """Compute the last `weeks` weeks from history (`friday insights adoption`): those not final yet, or every one
    with `redo`. Stays, moves and activities are exact for any past week; reminders are counted with the time
    they are set for now and owners are today's (neither is kept in the history)."""
    now = clock.now()
    this = week_of(clock.local_date(now))
    past = [this - dt.timedelta(weeks=i) for i in range(weeks - 1, 0, -1)]
    final = set() if redo else set(AdoptionWeek.objects.filter(final=True).values_list("week", flat=True))
    written = []
    for week in [*past, this]:
        if week not in final and snapshot_week(week, at=moment(week, now), force=redo):
            written.append(week)
        if progress:
            progress(week)
    return written


# --- the score ------------------------------------------------------------------------------------------------


@dataclass
class Signals:
    """One week's signals of a person, a process, or a person in a process (sums of `AdoptionCount` rows)."""

    moves: int = 0
    off_process: int = 0
    undeclared: int = 0
    overridden: int = 0
    open_records: int = 0
    stuck: int = 0
    open_reminders: int = 0
    overdue: int = 0
    calls: int = 0
    meetings: int = 0
    notes: int = 0
    emails: int = 0

    def add(self, row: Any) -> None:
        for name in SIGNALS:
            setattr(self, name, getattr(self, name) + getattr(row, name))

    @property
    def activities(self) -> int:
        return self.calls + self.meetings + self.notes + self.emails

    @property
    def off_share(self) -> Fraction:
        return Fraction(self.off_process, self.moves) if self.moves else Fraction(0)

    @property
    def overdue_share(self) -> Fraction:
        return Fraction(self.overdue, self.open_reminders) if self.open_reminders else Fraction(0)

    @property
    def stuck_share(self) -> Fraction:
        return Fraction(self.stuck, self.open_records) if self.open_records else Fraction(0)

    def followed_percent(self) -> int | None:
        return _round(100 * (1 - self.off_share)) if self.moves else None


def _round(value: Fraction) -> int:
    """Half up, exactly (the shares are fractions, not floats)."""
    return int((value + Fraction(1, 2)).__floor__())


def quiet(activities: int, median: Fraction | None) -> Fraction:
    """How far below the team's usual week a person's logging is: 0 at or above the median of those who logged
    anything that week, 1 for nothing logged. No median (nobody logged anything): 0 — no one is compared."""
    if not median:
        return Fraction(0)
    return max(Fraction(0), 1 - Fraction(activities) / median)


def person_score(signals: Signals, median: Fraction | None) -> int:
    """100 − 35 × off-process share of their moves − 25 × overdue share of their open reminders − 25 × stuck share
    of their open records − 15 × quiet, rounded half up."""
    w = PERSON_WEIGHTS
    lost = (
        w["off_process"] * signals.off_share
        + w["overdue"] * signals.overdue_share
        + w["stuck"] * signals.stuck_share
        + w["quiet"] * quiet(signals.activities, median)
    )
    return max(0, min(100, _round(100 - lost)))


def process_score(signals: Signals) -> int:
    """100 − 50 × off-process share of the moves − 50 × stuck share of the open records, rounded half up."""
    w = PROCESS_WEIGHTS
    lost = w["off_process"] * signals.off_share + w["stuck"] * signals.stuck_share
    return max(0, min(100, _round(100 - lost)))


def median(values: Iterable[int]) -> Fraction | None:
    ordered = sorted(v for v in values if v > 0)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return Fraction(ordered[mid]) if len(ordered) % 2 else Fraction(ordered[mid - 1] + ordered[mid], 2)


def slope(scores: list[int | None]) -> float | None:
    """The least-squares slope of the weekly scores, in points per week (weeks without figures left out)."""
    points = [(i, s) for i, s in enumerate(scores) if s is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = Fraction(sum(x for x, _ in points), n)
    mean_y = Fraction(sum(y for _, y in points), n)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return round(float(num / den), 1) + 0.0  # never "-0.0"


# --- reading: the page ----------------------------------------------------------------------------------------


@dataclass
class Point:
    week: dt.date
    signals: Signals | None  # None: the week has no figures (not computed)
    score: int | None


@dataclass
class Line:
    """A person's or a process's twelve weeks."""

    kind: str  # "person" or "process"
    key: int
    name: str
    points: list[Point]
    process_key: str = ""
    selected: int = -1  # the week whose signals the page shows (this one by default)

    @property
    def now(self) -> Point:
        return self.points[-1]

    @property
    def shown(self) -> Point:
        return self.points[self.selected]

    @property
    def trend(self) -> float | None:
        return slope([p.score for p in self.points])

    @property
    def spark(self) -> str:
        """The polyline of a 120 × 32 sparkline (scores 0–100, higher is up)."""
        step = 120 / max(1, len(self.points) - 1)
        return " ".join(
            f"{round(i * step, 1)},{round(30 - 0.28 * p.score, 1)}"
            for i, p in enumerate(self.points)
            if p.score is not None
        )

    @property
    def scores_text(self) -> str:
        """The sparkline in words, for screen readers and the tooltip."""
        return ", ".join("—" if p.score is None else str(p.score) for p in self.points)

    @property
    def last_dot(self) -> tuple[float, float] | None:
        coords = self.spark.split()
        if not coords:
            return None
        x, y = coords[-1].split(",")
        return float(x), float(y)


@dataclass
class Adoption:
    weeks: list[dt.date]
    markers: dict[dt.date, AdoptionWeek]
    people: list[Line]
    processes: list[Line]
    everyone: bool  # the viewer sees everyone (a manager or an admin)
    person: User | None = None  # the page is about one person
    selected: int = -1  # the week whose signals are shown

    @property
    def week(self) -> dt.date:
        return self.weeks[self.selected]

    @property
    def current(self) -> bool:
        return self.week == self.weeks[-1]

    @property
    def as_of(self) -> dt.datetime | None:
        marker = self.markers.get(self.weeks[-1])
        return marker.as_of if marker else None


def sees_everyone(user: User) -> bool:
    """Managers and admins see everyone's adoption; anyone else sees their own."""
    return user.can_edit_processes


def staff() -> QuerySet[User]:
    """The people scored: active users who can change records (read-only users cannot move or log anything)."""
    return User.objects.filter(is_active=True).exclude(role=Role.READ_ONLY).order_by("first_name", "username")


def _weekly_rows(weeks: list[dt.date]) -> tuple[dict[dt.date, AdoptionWeek], list[AdoptionCount]]:
    markers = {m.week: m for m in AdoptionWeek.objects.filter(week__in=weeks)}
    rows = list(AdoptionCount.objects.filter(week__in=list(markers)).order_by())
    return markers, rows


def _scored_from(rows: list[AdoptionCount], joined: dict[int, dt.datetime]) -> dict[int, dt.date]:
    """The first week each person is scored: the week they joined, or their first week with figures if that is
    earlier (history imported from before their account). Before it a week has no score, not a clean 100."""
    out = {pk: week_of(clock.local_date(at)) for pk, at in joined.items()}
    for row in rows:
        if row.person in out and row.week < out[row.person]:
            out[row.person] = row.week
    return out


def _medians(rows: list[AdoptionCount], people: set[int]) -> dict[dt.date, Fraction | None]:
    """Per week: the median of the activities logged by the people scored who logged any."""
    logged_by: dict[dt.date, Counter[int]] = defaultdict(Counter)
    for row in rows:
        if row.process == 0 and row.person in people:
            logged_by[row.week][row.person] += row.activities
    return {week: median(counts.values()) for week, counts in logged_by.items()}


def person_scores(weeks: list[dt.date]) -> dict[tuple[dt.date, int], int]:
    """(week, person) → score for every person scored, in the weeks that have figures."""
    markers, rows = _weekly_rows(weeks)
    joined = dict(staff().values_list("pk", "date_joined"))
    people, first = set(joined), _scored_from(rows, joined)
    medians = _medians(rows, people)
    sums: dict[tuple[dt.date, int], Signals] = {
        (w, p): Signals() for w in markers for p in people if w >= first[p]
    }
    for row in rows:
        if (row.week, row.person) in sums:
            sums[(row.week, row.person)].add(row)
    return {key: person_score(s, medians.get(key[0])) for key, s in sums.items()}


def adoption(
    *, user: User, person: User | None = None, week: dt.date | None = None, today: dt.date | None = None
) -> Adoption:
    """The last twelve weeks for the page: every person scored and every process for a manager or an admin;
    anyone else (or a manager looking at one person) gets that person, and the processes as far as they are
    concerned. `week` (one of the twelve; this one by default) is the week whose signals are shown. Reads the
    weekly rows only."""
    everyone = sees_everyone(user)
    if not everyone:
        person = user
    weeks = last_weeks(WEEKS, today)
    if week is not None and week not in weeks:
        raise ValueError(f"{week} is not one of the last {WEEKS} weeks")
    selected = weeks.index(week) if week is not None else len(weeks) - 1
    markers, rows = _weekly_rows(weeks)
    scored = list(staff())
    ids = {u.pk for u in scored}
    medians = _medians(rows, ids)
    shown = [person] if person is not None else scored
    first = _scored_from(rows, {u.pk: u.date_joined for u in shown})

    def lines(kind: str, keys: list[tuple[int, str, str]], pick: Callable[[Any], int | None]) -> list[Line]:
        sums: dict[int, dict[dt.date, Signals]] = {k: {w: Signals() for w in markers} for k, _, _ in keys}
        for row in rows:
            key = pick(row)
            if key is not None and key in sums:
                sums[key][row.week].add(row)
        out = []
        for key, name, process_key in keys:
            points = []
            for week in weeks:
                signals = sums[key].get(week)
                if signals is None or (kind == "person" and week < first[key]):
                    points.append(Point(week, None, None))
                elif kind == "process":
                    points.append(Point(week, signals, process_score(signals)))
                else:
                    points.append(Point(week, signals, person_score(signals, medians.get(week))))
            out.append(Line(kind, key, name, points, process_key, selected))
        return out

    people = lines("person", [(u.pk, u.display, "") for u in shown], lambda r: r.person)
    people.sort(
        key=lambda line: (line.shown.score if line.shown.score is not None else 101, line.name.lower())
    )
    processes = [
        (p.pk, p.name, p.key) for p in Process.objects.filter(current__isnull=False).order_by("name", "pk")
    ]
    if person is None:  # a manager's whole picture: everyone's moves and records, automation's too
        process_lines = lines("process", processes, lambda r: r.process or None)
    else:
        process_lines = lines("process", processes, lambda r: r.process if r.person == person.pk else None)
    return Adoption(
        weeks=weeks,
        markers=markers,
        people=people,
        processes=process_lines,
        everyone=everyone,
        person=person,
        selected=selected,
    )


CSV_HEADER = ["week", "as_of", "final", "kind", "id", "name", "score", *SIGNALS, "activities"]


def csv_rows(view: Adoption) -> Iterable[list[Any]]:
    """The page's figures, one row per (line, week) — the numbers behind every chart."""
    yield CSV_HEADER
    for line in [*view.people, *view.processes]:
        for point in line.points:
            marker = view.markers.get(point.week)
            if point.signals is None or marker is None:
                continue
            yield [
                point.week.isoformat(),
                marker.as_of.isoformat(),
                "yes" if marker.final else "no",
                line.kind,
                line.key,
                line.name,
                point.score,
                *(getattr(point.signals, name) for name in SIGNALS),
                point.signals.activities,
            ]


# --- the lists behind the figures -----------------------------------------------------------------------------

LISTS = ("overdue", "stuck", "moves", "activities")


def overdue_list(*, person: int | None, at: dt.datetime) -> QuerySet[Reminder]:
    qs = Reminder.objects.filter(overdue_q(at), assignee__isnull=False)
    return qs.filter(assignee_id=person) if person is not None else qs


# The owner of a record, from the table that holds its stage (a party's lifecycle: the party's owner).
STATE_OWNER: dict[str, str] = {
    RecordType.DEAL: "owner",
    RecordType.JOB: "owner",
    RecordType.PARTY: "party__owner",
}


def stuck_list(
    *, person: int | None, process: Process | None, at: dt.datetime, live: bool = False
) -> QuerySet[StageChange]:
    """The stays stuck at `at` — in `process`, or in every published one — of records `person` owns (0: records
    without an owner; None: anyone's). `live`: `at` is now, so the stays are the records' current ones and are
    found from the records' own indexed stage columns (as on the board) instead of walking the whole history."""
    processes = (
        [process]
        if process is not None
        else Process.objects.filter(current__isnull=False).select_related("current")
    )
    matches = Q(pk__in=[])
    for p in processes:
        kind, model = records.kind_for(p.applies_to), OWNERS.get(p.applies_to)
        late = stuck_q(p, at) if p.current is not None else None
        if kind is None or model is None or late is None:
            continue
        if live:
            assert p.current is not None
            owner = STATE_OWNER[p.applies_to]
            manager = kind.state_model._default_manager
            # Deals and jobs carry their process (the boards' indexes lead with it); the lifecycle, its version.
            has_process = any(f.name == "process" for f in kind.state_model._meta.get_fields())
            state = manager.filter(process=p) if has_process else manager.filter(stage_version__process=p)
            state = state.filter(
                reduce(
                    operator.or_,
                    (
                        Q(stage=s.key, stage_entered_at__lt=at - dt.timedelta(days=s.time_limit_days))
                        for s in p.current.definition.stages
                        if s.time_limit_days and not s.terminal
                    ),
                )
            )
            if person is not None:
                state = (
                    state.filter(**{f"{owner}__isnull": True})
                    if person == 0
                    else state.filter(**{f"{owner}_id": person})
                )
            matches |= Q(
                late,
                process=p,
                record_type=p.applies_to,
                left_at__isnull=True,
                record_id__in=state.values(kind.state_record),
            )
            continue
        part = Q(process=p) & late
        if person is not None:
            everyone = model._default_manager.all()
            owned = everyone.filter(owner__isnull=True) if person == 0 else everyone.filter(owner_id=person)
            part &= Q(record_type=p.applies_to, record_id__in=owned.values("pk"))
        matches |= part
    return StageChange.objects.filter(matches, at__lt=at).filter(Q(left_at__isnull=True) | Q(left_at__gte=at))


def moves_list(
    *, person: int | None, process: Process | None, since: dt.datetime, until: dt.datetime
) -> QuerySet[StageChange]:
    """The moves off the process in [since, until): undeclared or overridden (not migrations)."""
    qs = StageChange.objects.filter(at__gte=since, at__lt=until, migrated=False).filter(
        Q(declared=False) | Q(overridden=True)
    )
    if process is not None:
        qs = qs.filter(process=process)
    if person is not None:
        qs = qs.filter(by__isnull=True) if person == 0 else qs.filter(by_id=person)
    return qs


def activities_list(*, person: int | None, since: dt.datetime, until: dt.datetime) -> QuerySet[Activity]:
    qs = logged(since, until)
    return qs.filter(author_id=person) if person is not None else qs


# --- the dashboard's process health ---------------------------------------------------------------------------


def process_health(days: int = 30) -> list[dict[str, Any]]:
    """Per published process: the share of the last `days` business days' moves (today's included) that followed
    it — the same count as the weekly figures, from the daily roll-ups — and the records stuck past a stage's
    time limit now (`analytics.stuck`, which the weekly figures equal at the moment they are taken)."""
    first = clock.today() - dt.timedelta(days=days - 1)
    totals = {
        row["process_id"]: row
        for row in MoveDay.objects.filter(day__gte=first)
        .values("process_id")
        .annotate(moves=Sum("n"), off=Sum("n", filter=Q(declared=False) | Q(overridden=True)))
        .order_by()
    }
    out = []
    for process in Process.objects.filter(current__isnull=False).select_related("current").order_by("pk"):
        row: Any = totals.get(process.pk, {})
        signals = Signals(moves=row.get("moves") or 0, off_process=row.get("off") or 0)
        out.append(
            {
                "process": process,
                "stuck": sum(analytics.stuck(process, limit=1).counts.values()),
                "moves": signals.moves,
                "off_process": signals.off_process,
                "followed": signals.followed_percent(),
            }
        )
    return out


# --- staff for the Best page ----------------------------------------------------------------------------------


@dataclass
class StaffRow:
    user: User
    moves: int = 0  # in the period, entries included (migrations not)
    followed: int = 0  # of those, along a declared transition and not overridden
    score: int | None = None  # the mean of the weekly adoption scores of the weeks starting in the period
    customers: int = 0  # customers they own
    revenue: Decimal = Decimal(0)  # those customers' figures (all time, insights.CustomerMetrics)
    gross_profit: Decimal = Decimal(0)
    nps: Decimal | None = None  # the mean of their latest NPS answers
    nps_answers: int = 0
    at_risk: int = 0
    jobs_done: int = 0  # jobs they own completed in the period
    jobs_due: int = 0  # … of those with a due date
    jobs_on_time: int = 0  # … completed on or before it
    adherence_bar: int = 0  # bar widths, 0–100, relative to the best in the table
    profit_bar: int = 0

    @property
    def name(self) -> str:
        return self.user.display

    @property
    def adherence(self) -> int | None:
        """The share of their moves that followed the process, in whole percent."""
        return _round(Fraction(100 * self.followed, self.moves)) if self.moves else None

    @property
    def on_time(self) -> int | None:
        return _round(Fraction(100 * self.jobs_on_time, self.jobs_due)) if self.jobs_due else None


def best_staff(*, user: User, start: dt.date, end: dt.date) -> list[StaffRow]:
    """Staff ranked by process adherence and their customers' outcomes, for [start, end) (business dates).

    Ranked by adoption score, then the share of moves that followed the process, then their customers' gross
    profit — those with nothing to judge (no move, no customer, no job completed) after everyone else, or a
    colleague who did nothing would top the table with a clean 100. Managers and admins get everyone scored;
    anyone else their own row. One grouped query per source."""
    people = list(staff()) if sees_everyone(user) else [user]
    rows = {u.pk: StaffRow(user=u) for u in people}
    ids = list(rows)
    for move in (
        MoveDay.objects.filter(day__gte=start, day__lt=end, actor__in=ids)
        .values("actor")
        .annotate(total=Sum("n"), off=Sum("n", filter=Q(declared=False) | Q(overridden=True)))
        .order_by()
    ):
        rows[move["actor"]].moves = move["total"] or 0
        rows[move["actor"]].followed = (move["total"] or 0) - (move["off"] or 0)
    weeks = []
    week = week_of(start) if start.weekday() == 0 else week_of(start) + dt.timedelta(days=7)
    while week < end:
        weeks.append(week)
        week += dt.timedelta(days=7)
    by_person: dict[int, list[int]] = defaultdict(list)
    for (_, pk), score in person_scores(weeks).items():
        by_person[pk].append(score)
    home = business.currency()
    for metric in (
        CustomerMetrics.objects.filter(owner_id__in=ids)
        .values("owner_id")
        .annotate(
            n=Count("party"),
            revenue=Sum("revenue"),
            profit=Sum("gross_profit"),
            nps=Sum("latest_nps"),
            answers=Count("latest_nps"),
            risky=Count("party", filter=Q(risk_score__gte=threshold())),
        )
        .order_by()
    ):
        row = rows[metric["owner_id"]]
        row.customers, row.at_risk, row.nps_answers = metric["n"], metric["risky"], metric["answers"]
        row.revenue = round_money(Decimal(metric["revenue"] or 0), home)
        row.gross_profit = round_money(Decimal(metric["profit"] or 0), home)
        if metric["answers"]:
            row.nps = (Decimal(metric["nps"]) / metric["answers"]).quantize(Decimal("0.1"))
    since, until = week_start(start), week_start(end)
    for job in (
        Job.objects.filter(owner_id__in=ids, completed_at__gte=since, completed_at__lt=until)
        .values("owner_id")
        .annotate(
            n=Count("id"),
            due=Count("id", filter=Q(due_on__isnull=False)),
            ok=Count("id", filter=Q(completed_at__date__lte=F("due_on"))),
        )
        .order_by()
    ):
        row = rows[job["owner_id"]]
        row.jobs_done, row.jobs_due, row.jobs_on_time = job["n"], job["due"], job["ok"]
    for pk, row in rows.items():
        scores = by_person.get(pk)
        row.score = _round(Fraction(sum(scores), len(scores))) if scores else None
    best_profit = max([r.gross_profit for r in rows.values()] + [Decimal(0)])
    for row in rows.values():
        row.adherence_bar = row.adherence or 0
        row.profit_bar = (
            int(100 * row.gross_profit / best_profit) if best_profit > 0 and row.gross_profit > 0 else 0
        )
    return sorted(
        rows.values(),
        key=lambda r: (
            not (r.moves or r.customers or r.jobs_done),  # nothing to judge in the period: after the others
            -(r.score if r.score is not None else -1),
            -(r.adherence if r.adherence is not None else -1),
            -r.gross_profit,
            r.name.lower(),
        ),
    )


STAFF_CSV_HEADER = [
    "rank",
    "person",
    "adoption_score",
    "moves",
    "followed",
    "adherence_percent",
    "customers",
    "revenue",
    "gross_profit",
    "average_nps",
    "nps_answers",
    "at_risk",
    "jobs_completed",
    "jobs_with_due_date",
    "jobs_on_time",
]


def staff_csv_rows(rows: list[StaffRow]) -> Iterable[list[Any]]:
    yield STAFF_CSV_HEADER
    for rank, r in enumerate(rows, 1):
        yield [
            rank,
            r.name,
            "" if r.score is None else r.score,
            r.moves,
            r.followed,
            "" if r.adherence is None else r.adherence,
            r.customers,
            r.revenue,
            r.gross_profit,
            "" if r.nps is None else r.nps,
            r.nps_answers,
            r.at_risk,
            r.jobs_done,
            r.jobs_due,
            r.jobs_on_time,
        ]

"""How records really move through a process: funnel, time in stage, stuck records, conformance, and the
process as it was actually followed (from `StageChange`).

Everything is an SQL aggregate over an indexed range of `StageChange` rows; Python only arranges the few
aggregated rows (stages × stages at most). Percentiles are "nearest rank" (PostgreSQL's percentile_disc): the
smallest time with at least p of the stays at or below it — the same answer on both databases.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from friday.accounts.models import User
from friday.core import clock
from friday.processes import records, rollup
from friday.processes.definition import ProcessDefinition, Stage
from friday.processes.drawing import _mermaid_text
from friday.processes.models import FunnelDay, MoveDay, Process, StageChange, StayDay

PERCENTILES = ((1, 2), (9, 10))  # median and p90, as fractions


@dataclass
class FunnelRow:
    stage: Stage
    entered: int = 0
    converted: int = 0  # left for a later stage that is not a loss
    lost: int = 0  # left for a lost stage
    went_back: int = 0  # left for an earlier stage
    still_here: int = 0
    median_seconds: int | None = None
    p90_seconds: int | None = None

    @property
    def conversion(self) -> float | None:
        left = self.entered - self.still_here
        return self.converted / left if left else None


@dataclass
class PersonConformance:
    user_id: int | None
    name: str
    moves: int = 0
    undeclared: int = 0
    backward: int = 0
    overridden: int = 0


@dataclass
class Conformance:
    moves: int
    declared: int
    undeclared_edges: list[tuple[str, str, int]]  # (from, to, count)
    people: list[PersonConformance]
    backward: int = 0
    overridden: int = 0

    @property
    def share(self) -> float | None:
        return self.declared / self.moves if self.moves else None


@dataclass
class StuckRecord:
    record_id: int
    title: str
    url: str
    stage: Stage
    entered_at: dt.datetime
    days_over: int


@dataclass
class Stuck:
    counts: dict[str, int]
    oldest: list[StuckRecord] = field(default_factory=list)


def _moves(process: Process, since: dt.datetime, until: dt.datetime) -> QuerySet[StageChange]:
    return StageChange.objects.filter(process=process, at__gte=since, at__lt=until, migrated=False)


@dataclass
class _Span:
    """A range split into whole business days (read from the daily roll-ups) and the partial days at its ends
    (read from StageChange itself, a day's moves at most each)."""

    first_day: dt.date | None  # whole days [first_day, end_day)
    end_day: dt.date | None
    raw: list[tuple[dt.datetime, dt.datetime]]


def _span(since: dt.datetime, until: dt.datetime) -> _Span:
    if since >= until:
        return _Span(None, None, [])
    tz = clock.business_tz()
    local = since.astimezone(tz)
    first = local.date() if local.time() == dt.time.min else local.date() + dt.timedelta(days=1)
    end = until.astimezone(tz).date()
    if first >= end:
        return _Span(None, None, [(since, until)])

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=tz)

    raw = [(a, b) for a, b in ((since, midnight(first)), (midnight(end), until)) if a < b]
    return _Span(first, end, raw)


def _days(model: Any, process: Process, span: _Span) -> QuerySet:
    if span.first_day is None:
        return model.objects.none()
    return model.objects.filter(process=process, day__gte=span.first_day, day__lt=span.end_day)


def _raw(process: Process, span: _Span) -> QuerySet[StageChange]:
    q = Q(pk__in=[])
    for a, b in span.raw:
        q |= Q(at__gte=a, at__lt=b)
    return StageChange.objects.filter(q, process=process, migrated=False)


def _pairs(process: Process, span: _Span) -> Counter[tuple[str, str]]:
    """Entries by (stage, next stage) in the range."""
    out: Counter[tuple[str, str]] = Counter()
    for row in (
        _days(FunnelDay, process, span).values("to_stage", "next_stage").annotate(n=Sum("n")).order_by()
    ):
        out[(row["to_stage"], row["next_stage"])] += row["n"]
    for row in _raw(process, span).values("to_stage", "next_stage").annotate(n=Count("id")).order_by():
        out[(row["to_stage"], row["next_stage"])] += row["n"]
    return out


def _stays(process: Process, span: _Span) -> dict[str, Counter[int]]:
    """Ended stays per stage, by length bucket."""
    out: dict[str, Counter[int]] = {}
    for row in _days(StayDay, process, span).values("to_stage", "bucket").annotate(n=Sum("n")).order_by():
        out.setdefault(row["to_stage"], Counter())[row["bucket"]] += row["n"]
    raw = _raw(process, span).filter(seconds_in_stage__isnull=False)
    for stage, seconds in raw.values_list("to_stage", "seconds_in_stage"):
        out.setdefault(stage, Counter())[rollup.bucket(seconds or 0)] += 1
    return out


def _move_rows(process: Process, span: _Span) -> Counter[tuple[int, str, str, bool, bool, bool]]:
    """Moves by (person, from, to, declared, backward, overridden); person 0 is automation or a deleted user."""
    keys = ("actor", "from_stage", "to_stage", "declared", "backward", "overridden")
    out: Counter[tuple[int, str, str, bool, bool, bool]] = Counter()
    for row in _days(MoveDay, process, span).values(*keys).annotate(n=Sum("n")).order_by():
        out[tuple(row[k] for k in keys)] += row["n"]
    raw_keys = ("by_id", *keys[1:])
    for row in _raw(process, span).values(*raw_keys).annotate(n=Count("id")).order_by():
        out[(row["by_id"] or 0, *(row[k] for k in keys[1:]))] += row["n"]
    return out


def _definition(process: Process) -> ProcessDefinition:
    assert process.current is not None, "analytics need a published process"
    return process.current.definition


def funnel(process: Process, since: dt.datetime, until: dt.datetime) -> list[FunnelRow]:
    """Per stage (in the current version's order): entries in the range, where they went, and how long they
    stayed (median and p90 of the stays that have ended)."""
    definition = _definition(process)
    order = {s.key: i for i, s in enumerate(definition.stages)}
    kinds = {s.key: s.kind for s in definition.stages}
    rows = {s.key: FunnelRow(stage=s) for s in definition.stages}
    span = _span(since, until)
    for (stage, nxt), n in _pairs(process, span).items():
        row = rows.get(stage)
        if row is None or not n:  # a stage of an older version, not in the current one
            continue
        row.entered += n
        if not nxt:
            row.still_here += n
        elif kinds.get(nxt) == "lost":
            row.lost += n
        elif nxt in order and order[nxt] < order[row.stage.key]:
            row.went_back += n
        else:
            row.converted += n
    for stage, histogram in _stays(process, span).items():
        if stage in rows:
            rows[stage].median_seconds, rows[stage].p90_seconds = _percentiles(histogram)
    return list(rows.values())


def _percentiles(histogram: Counter[int]) -> tuple[int | None, int | None]:
    """Nearest rank over a histogram of stay buckets: the bucket holding the ⌈p·n⌉-th shortest stay."""
    total = sum(n for n in histogram.values() if n > 0)
    out: list[int | None] = []
    for num, den in PERCENTILES:
        rank = (num * total + den - 1) // den  # ⌈p·n⌉, in integers
        seen, found = 0, None
        for value in sorted(histogram):
            seen += max(0, histogram[value])
            if total and seen >= rank:
                found = value
                break
        out.append(found)
    return out[0], out[1]


def conformance(process: Process, since: dt.datetime, until: dt.datetime) -> Conformance:
    """The share of moves along declared transitions; undeclared, backward and overridden moves by person."""
    rows = [(key, n) for key, n in _move_rows(process, _span(since, until)).items() if key[1] and n]
    edges: Counter[tuple[str, str]] = Counter()
    by_person: dict[int, PersonConformance] = {}
    totals = Counter[str]()
    for (actor, source, target, declared, backward, overridden), n in rows:
        person = by_person.setdefault(actor, PersonConformance(user_id=actor or None, name=""))
        person.moves += n
        totals["n"] += n
        if declared:
            totals["declared"] += n
        else:
            person.undeclared += n
            edges[(source, target)] += n
        if backward:
            person.backward += n
            totals["backward"] += n
        if overridden:
            person.overridden += n
            totals["overridden"] += n
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=[a for a in by_person if a]).only(
            "username", "first_name", "last_name"
        )
    }
    for actor, person in by_person.items():
        user = users.get(actor)
        full = f"{user.first_name} {user.last_name}".strip() if user else ""
        person.name = full or (user.username if user else "") or "(automation or a deleted user)"
        person.user_id = actor if user else None
    return Conformance(
        moves=totals["n"],
        declared=totals["declared"],
        undeclared_edges=sorted(
            ((f, t, n) for (f, t), n in edges.items()), key=lambda e: (-e[2], e[0], e[1])
        ),
        people=sorted(by_person.values(), key=lambda p: (-p.undeclared, -p.moves, p.user_id or 0)),
        backward=totals["backward"],
        overridden=totals["overridden"],
    )


def discovered_edges(process: Process, since: dt.datetime, until: dt.datetime) -> list[tuple[str, str, int]]:
    """(from, to, count) of every move that happened, entries into the process included (from "")."""
    edges: Counter[tuple[str, str]] = Counter()
    for (_, source, target, *_flags), n in _move_rows(process, _span(since, until)).items():
        edges[(source, target)] += n
    return [(f, t, n) for (f, t), n in sorted(edges.items()) if n]


def discovered_mermaid(process: Process, edges: list[tuple[str, str, int]]) -> str:
    """The process as it was followed: edges labelled with counts; undeclared ones drawn red and dashed."""
    definition = _definition(process)
    declared = {(t.source, t.target) for t in definition.transitions}
    names = {s.key: s.name for s in definition.stages}
    seen = {key for edge in edges for key in edge[:2] if key}
    lines = ["flowchart LR", "  start_((start))"]
    for stage in definition.stages:
        shape = ('(["', '"])') if stage.terminal else ('["', '"]')
        lines.append(f"  s_{stage.key}{shape[0]}{_mermaid_text(stage.name)}{shape[1]}")
    for key in sorted(seen - set(names)):  # stages of older versions
        lines.append(f'  s_{key}["{_mermaid_text(key)} (old)"]')
    undeclared_links = []
    for i, (source, target, n) in enumerate(edges):
        start = f"s_{source}" if source else "start_"
        lines.append(f"  {start} -->|{n}| s_{target}")
        ok = (source == "" and target == definition.initial) or (source, target) in declared
        if not ok:
            undeclared_links.append(str(i))
    if undeclared_links:
        lines.append(
            f"  linkStyle {','.join(undeclared_links)} stroke:#b3261e,stroke-width:2px,stroke-dasharray:5 4"
        )
    return "\n".join(lines) + "\n"


def stuck(process: Process, limit: int = 50) -> Stuck:
    """Records now in a stage longer than its time limit: counts per stage and the longest-waiting ones."""
    definition = _definition(process)
    kind = records.kind_for(process.applies_to)
    if kind is None:
        return Stuck(counts={})
    now = clock.now()
    manager = kind.state_model._default_manager
    # A record type with its own process column is read by its board index (process, stage, stage_entered_at);
    # through the version's process the database would walk every record of the process.
    has_process = any(f.name == "process" for f in kind.state_model._meta.concrete_fields)
    on_process = (
        manager.filter(process=process) if has_process else manager.filter(stage_version__process=process)
    )
    counts: dict[str, int] = {}
    oldest: list[tuple[dt.datetime, int, Stage]] = []
    for stage in definition.stages:
        if not stage.time_limit_days:
            continue
        late = on_process.filter(
            stage=stage.key, stage_entered_at__lt=now - dt.timedelta(days=stage.time_limit_days)
        )
        counts[stage.key] = late.count()
        if counts[stage.key]:
            for record_id, entered in late.order_by("stage_entered_at").values_list(
                kind.state_record, "stage_entered_at"
            )[:limit]:
                oldest.append((entered, record_id, stage))
    oldest.sort(key=lambda item: item[0])
    oldest = oldest[:limit]
    titles = kind.titles([record_id for _, record_id, _ in oldest])
    out = []
    for entered, record_id, stage in oldest:
        assert stage.time_limit_days is not None
        over = (now - entered).days - stage.time_limit_days
        title, url = titles.get(record_id, (f"#{record_id}", ""))
        out.append(StuckRecord(record_id, title, url, stage, entered, max(0, over)))
    return Stuck(counts=counts, oldest=out)


def date_range(since: str, until: str) -> tuple[dt.date, dt.date]:
    """The dates a page asked for (business dates, both ends included); the last 90 days by default."""
    today = clock.today()

    def parse(value: str, default: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return default

    start, end = parse(since, today - dt.timedelta(days=89)), parse(until, today)
    return (end, start) if start > end else (start, end)


def range_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The moments [start of `since`, start of the day after `until`) on the business's clock."""
    tz = clock.business_tz()
    start = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end

"""How records really move through a process: funnel, time in stage, stuck records, conformance, and the
process as it was actually followed (from `StageChange`).

Everything is an SQL aggregate over an indexed range of `StageChange` rows; Python only arranges the few
aggregated rows (stages × stages at most). Percentiles are "nearest rank" (PostgreSQL's percentile_disc): the
smallest time with at least p of the stays at or below it — the same answer on both databases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q, QuerySet

from friday.core import clock
from friday.processes import records
from friday.processes.definition import ProcessDefinition, Stage
from friday.processes.drawing import _mermaid_text
from friday.processes.models import Process, StageChange

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
    pairs = _moves(process, since, until).values("to_stage", "next_stage").annotate(n=Count("id")).order_by()
    for pair in pairs:
        row = rows.get(pair["to_stage"])
        if row is None:  # a stage of an older version, not in the current one
            continue
        n, nxt = pair["n"], pair["next_stage"]
        row.entered += n
        if not nxt:
            row.still_here += n
        elif kinds.get(nxt) == "lost":
            row.lost += n
        elif nxt in order and order[nxt] < order[row.stage.key]:
            row.went_back += n
        else:
            row.converted += n
    for key, values in _percentiles(process, since, until, list(rows)).items():
        rows[key].median_seconds, rows[key].p90_seconds = values
    return list(rows.values())


def _percentiles(
    process: Process, since: dt.datetime, until: dt.datetime, stages: list[str]
) -> dict[str, tuple[int | None, int | None]]:
    stays = _moves(process, since, until).filter(seconds_in_stage__isnull=False)
    if connection.vendor == "postgresql":
        sql = (
            "SELECT to_stage, percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds_in_stage), "
            "percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds_in_stage) FROM processes_stagechange "
            "WHERE process_id = %s AND at >= %s AND at < %s AND NOT migrated AND seconds_in_stage IS NOT NULL "
            "GROUP BY to_stage"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [process.pk, since, until])
            return {stage: (median, p90) for stage, median, p90 in cursor.fetchall()}
    # SQLite has no percentile aggregate: count each stage's stays, then read the k-th smallest through the
    # (process, to_stage, seconds_in_stage, at) index — a short index walk per stage, not a sort.
    counts = dict(stays.values_list("to_stage").annotate(n=Count("id")).order_by())
    out: dict[str, tuple[int | None, int | None]] = {}
    for stage in stages:
        n = counts.get(stage, 0)
        if not n:
            continue
        values: list[int | None] = []
        for num, den in PERCENTILES:
            k = (num * n + den - 1) // den - 1  # nearest rank: ceil(p·n) − 1, in integers
            values.append(
                stays.filter(to_stage=stage)
                .order_by("seconds_in_stage")
                .values_list("seconds_in_stage", flat=True)[k : k + 1]
                .first()
            )
        out[stage] = (values[0], values[1])
    return out


def conformance(process: Process, since: dt.datetime, until: dt.datetime) -> Conformance:
    """The share of moves along declared transitions; undeclared, backward and overridden moves by person."""
    moves = _moves(process, since, until).exclude(from_stage="")
    totals = moves.aggregate(
        n=Count("id"),
        declared=Count("id", filter=Q(declared=True)),
        backward=Count("id", filter=Q(backward=True)),
        overridden=Count("id", filter=Q(overridden=True)),
    )
    edges = [
        (row["from_stage"], row["to_stage"], row["n"])
        for row in moves.filter(declared=False)
        .values("from_stage", "to_stage")
        .annotate(n=Count("id"))
        .order_by("-n", "from_stage", "to_stage")
    ]
    people = []
    for row in (
        moves.values("by_id", "by__username", "by__first_name", "by__last_name")
        .annotate(
            n=Count("id"),
            undeclared=Count("id", filter=Q(declared=False)),
            backward=Count("id", filter=Q(backward=True)),
            overridden=Count("id", filter=Q(overridden=True)),
        )
        .order_by("-undeclared", "-n", "by_id")
    ):
        full = f"{row['by__first_name'] or ''} {row['by__last_name'] or ''}".strip()
        people.append(
            PersonConformance(
                user_id=row["by_id"],
                name=full or row["by__username"] or "(automation or a deleted user)",
                moves=row["n"],
                undeclared=row["undeclared"],
                backward=row["backward"],
                overridden=row["overridden"],
            )
        )
    return Conformance(
        moves=totals["n"],
        declared=totals["declared"],
        undeclared_edges=edges,
        people=people,
        backward=totals["backward"],
        overridden=totals["overridden"],
    )


def discovered_edges(process: Process, since: dt.datetime, until: dt.datetime) -> list[tuple[str, str, int]]:
    """(from, to, count) of every move that happened, entries into the process included (from "")."""
    return [
        (row["from_stage"], row["to_stage"], row["n"])
        for row in _moves(process, since, until)
        .values("from_stage", "to_stage")
        .annotate(n=Count("id"))
        .order_by("from_stage", "to_stage")
    ]


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
    on_process = manager.filter(stage_version__process=process)
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

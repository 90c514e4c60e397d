"""`friday bench processes`: deals moving through a pipeline, then the process analytics and the board timed.

Generation writes with `bulk_create` (the benchmark's documented exception to "services are the only write
path"), building each row the way `stage_move` does: a deal's moves follow its pipeline (mostly declared steps,
some undeclared, backward and overridden ones), each closed stay carries `left_at`, `seconds_in_stage` and
`next_stage`, and the deal's own stage columns say where it ended. It needs the parties of `friday bench generate`.

The measurements are in-process (no HTTP): the analytics functions over the whole history, and the board page
and a deep page of its biggest column through Django's test client, as a signed-in manager.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from friday.accounts.models import User
from friday.core import clock
from friday.deals.models import Deal
from friday.parties.models import Party
from friday.processes import analytics, rollup
from friday.processes.definition import ProcessDefinition
from friday.processes.models import Process, StageChange
from friday.processes.services import process_import
from friday.processes.templates import starter_text

KEY = "bench_sales"
SPAN = dt.timedelta(days=730)


@dataclass
class Timing:
    name: str
    runs: list[float]
    target_ms: float | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.runs)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def _process(admin: User) -> Process:
    existing = Process.objects.filter(key=KEY).first()
    if existing is not None:
        return existing
    source = starter_text("sales").replace("process: sales_pipeline", f"process: {KEY}")
    source = source.replace("name: Sales pipeline", "name: Bench sales pipeline")
    process, _ = process_import(by=admin, source=source, note="Benchmark")
    return process


def _path(rng: random.Random, definition: ProcessDefinition) -> list[tuple[str, bool, bool, bool]]:
    """A deal's journey: (stage, declared, backward, overridden) per move, starting with the entry."""
    out = {s.key: [t.target for t in definition.transitions if t.source == s.key] for s in definition.stages}
    order = [s.key for s in definition.stages]
    terminal = {s.key for s in definition.stages if s.terminal}
    stage = definition.initial
    path = [(stage, True, False, False)]
    for _ in range(12):
        if stage in terminal or rng.random() < 0.12:  # some deals wait where they are
            break
        roll = rng.random()
        if roll < 0.04 and order.index(stage) > 0:  # back a step: undeclared, overridden
            nxt = order[order.index(stage) - 1]
            path.append((nxt, False, True, True))
        elif roll < 0.08:  # skipping ahead: undeclared, half of them overridden
            ahead = [k for k in order[order.index(stage) + 2 :] if k not in terminal] or list(terminal)
            nxt = rng.choice(ahead)
            path.append((nxt, nxt in out[stage], False, rng.random() < 0.5))
        else:
            nxt = rng.choice(out[stage])
            path.append((nxt, True, False, False))
        stage = nxt
    return path


def generate(*, changes: int, seed: int, batch: int, force: bool, console: Console) -> dict[str, Any]:
    """Deals with their histories until there are `changes` stage changes (about 2.5 per deal)."""
    admin = User.objects.filter(username=f"{BENCH_USER_PREFIX}admin").first()
    owners = list(User.objects.filter(username__startswith=BENCH_USER_PREFIX, is_active=True))
    party_ids = list(Party.objects.values_list("id", flat=True)[:200_000])
    if admin is None or not party_ids:
        raise BenchError("Run `friday bench generate` first: the deals belong to its parties and users.")
    process = _process(admin)
    if Deal.objects.filter(process=process).exists():
        if not force:
            raise BenchError(f"{KEY} already has deals; pass --force to start again.")
        with connection.cursor() as cursor:  # one statement, not a per-row delete with its upkeep
            cursor.execute("DELETE FROM processes_stagechange WHERE process_id = %s", [process.pk])
        Deal.objects.filter(process=process).delete()
    assert process.current is not None
    version = process.current
    definition = version.definition
    teams = {u.pk: u.teams.order_by("pk").values_list("pk", flat=True).first() for u in owners}
    rng = random.Random(seed)
    now = clock.now()
    changes_total = 0
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("moves", total=changes)
        first = 0
        while changes_total < changes:
            size = batch
            rows: list[Deal] = []
            histories: list[Any] = []
            for _ in range(size):
                path = _path(rng, definition)
                start = now - SPAN * rng.random()
                moments = [start]
                for _ in path[1:]:
                    moments.append(min(now, moments[-1] + dt.timedelta(hours=rng.expovariate(1 / 60))))
                owner = rng.choice(owners)
                stage = path[-1][0]
                kind = definition.stage(stage)
                rows.append(
                    Deal(
                        party_id=rng.choice(party_ids),
                        title=f"Job {first + len(rows) + 1}",
                        value=round(rng.lognormvariate(7.5, 0.8), 2),
                        currency="GBP",
                        process=process,
                        stage_version=version,
                        stage=stage,
                        stage_entered_at=moments[-1],
                        owner=owner,
                        team_id=teams.get(owner.pk),
                        closed_at=moments[-1] if kind is not None and kind.kind in ("won", "lost") else None,
                        created_at=start,
                        updated_at=moments[-1],
                        created_by=owner,
                    )
                )
                histories.append((path, moments, owner))
            with transaction.atomic():
                created = Deal.objects.bulk_create(rows)
                moves = []
                for deal, (path, moments, owner) in zip(created, histories, strict=True):
                    for i, (stage, declared, backward, overridden) in enumerate(path):
                        nxt = path[i + 1][0] if i + 1 < len(path) else ""
                        left = moments[i + 1] if nxt else None
                        moves.append(
                            StageChange(
                                record_type="deal",
                                record_id=deal.pk,
                                party_id=deal.party_id,
                                process=process,
                                version=version,
                                from_stage=path[i - 1][0] if i else "",
                                to_stage=stage,
                                at=moments[i],
                                by=owner if not overridden else admin,
                                reason="Benchmark override" if overridden else "",
                                overridden=overridden,
                                declared=declared,
                                backward=backward,
                                left_at=left,
                                seconds_in_stage=int((left - moments[i]).total_seconds()) if left else None,
                                next_stage=nxt,
                            )
                        )
                StageChange.objects.bulk_create(moves, batch_size=5000)
                changes_total += len(moves)
            first += size
            progress.update(task, completed=min(changes_total, changes))
    # The history was bulk-written, past the moves' own upkeep of the daily figures: count them once.
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("daily figures", total=changes_total)
        rollup.rebuild(process, progress=lambda n: progress.advance(task, n))
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            # As autovacuum would soon after a bulk load: statistics, and the visibility map that lets the
            # board's counts be read from its indexes alone.
            cursor.execute("VACUUM ANALYZE processes_stagechange")
            cursor.execute("VACUUM ANALYZE deals_deal")
    return {"deals": first, "changes": changes_total, "seconds": time.perf_counter() - started}


def run(*, runs: int, console: Console) -> list[Timing]:
    process = Process.objects.filter(key=KEY).select_related("current").first()
    if process is None or not Deal.objects.filter(process=process).exists():
        raise BenchError("Run `friday bench processes --generate` first.")
    manager = User.objects.filter(username=f"{BENCH_USER_PREFIX}manager").first()
    if manager is None:
        raise BenchError("The bench manager is missing: run `friday bench generate`.")
    start, end = clock.now() - SPAN - dt.timedelta(days=1), clock.now() + dt.timedelta(days=1)
    timings = [
        Timing(
            "funnel (all stages, 2 years)", _time(runs, lambda: analytics.funnel(process, start, end)), 1000
        ),
        Timing("conformance", _time(runs, lambda: analytics.conformance(process, start, end)), 1000),
        Timing(
            "funnel + conformance",
            _time(
                runs,
                lambda: (analytics.funnel(process, start, end), analytics.conformance(process, start, end)),
            ),
            1000,
        ),
        Timing("discovered process", _time(runs, lambda: analytics.discovered_edges(process, start, end))),
        Timing("stuck records", _time(runs, lambda: analytics.stuck(process))),
    ]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    biggest = (
        Deal.objects.filter(process=process, closed_at__isnull=True)
        .values("stage")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    column = biggest["stage"] if biggest else process.current.definition.initial  # type: ignore[union-attr]
    deep = _deep_cursor(client, column)

    def get(url: str) -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise BenchError(f"{url} answered {response.status_code}")

    timings += [
        Timing("board page", _time(runs, lambda: get(f"/deals/board/?process={KEY}")), 100),
        Timing(
            f"board column, deep page ({biggest['n'] if biggest else 0:,} deals in it)",
            _time(
                runs, lambda: get(f"/api/v1/deals/board/column?process={KEY}&stage={column}&cursor={deep}")
            ),
            100,
        ),
    ]
    return timings


def _deep_cursor(client: Client, stage: str) -> str:
    """A cursor half-way down the biggest column."""
    cursor = ""
    for _ in range(40):
        response = client.get(
            f"/api/v1/deals/board/column?process={KEY}&stage={stage}&limit=200&cursor={cursor}"
        )
        cursor = response.json().get("next_cursor") or cursor
    return cursor


def _time(runs: int, fn: Any) -> list[float]:
    fn()  # warm: caches, statement preparation
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def report(generated: dict[str, Any] | None, timings: list[Timing], console: Console) -> None:
    if generated:
        console.print(
            f"Generated {generated['deals']:,} deals and {generated['changes']:,} stage changes "
            f"in {generated['seconds']:.0f} s."
        )
    process = Process.objects.get(key=KEY)
    console.print(
        f"{connection.vendor}: {Deal.objects.filter(process=process).count():,} deals, "
        f"{StageChange.objects.filter(process=process).count():,} stage changes."
    )
    table = Table("measure", "median ms", "p95 ms", "target ms", "ok")
    for t in timings:
        ok = "" if t.target_ms is None else ("yes" if t.p95_ms <= t.target_ms else "NO")
        table.add_row(
            t.name, f"{t.median_ms:.1f}", f"{t.p95_ms:.1f}", f"{t.target_ms:.0f}" if t.target_ms else "", ok
        )
    console.print(table)

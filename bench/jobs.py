"""`friday bench jobs`: jobs moving through the job workflow with their costs, service plans, and the pages and
sweeps over them timed.

Generation writes with `bulk_create` (the benchmark's documented exception to "services are the only write
path"): each job sits in a stage of the starter job workflow with the columns `stage_move` would have set
(completed, paid, closed), one entry move in its history, two costs (labour and materials), and every fifth
client a service plan. It needs the parties and users of `friday bench generate`.

Measured in-process as a signed-in manager: the job board, a filtered list page, a job's page with its costs
and margin, the API's job with money; the loyal-customers segment count; a day's service-due sweep and a
loyalty campaign's matches.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
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
from bench.processes import Timing, _time
from friday.accounts.models import User
from friday.automation import triggers
from friday.core import clock
from friday.jobs.models import Cost, CostKind, Job, ServicePlan
from friday.jobs.services import add_interval
from friday.parties.models import Party
from friday.processes import rollup
from friday.processes.models import Process, StageChange
from friday.processes.segments import segment_count, segment_q
from friday.processes.services import process_import
from friday.processes.templates import starter_text

KEY = "bench_jobs"
SPAN = dt.timedelta(days=730)
WEIGHTS = {  # where the jobs are: most are done and paid, some on the way
    "booked": 4,
    "scheduled": 5,
    "in_progress": 3,
    "quality_check": 1,
    "complete": 2,
    "invoiced": 5,
    "paid": 75,
    "cancelled": 5,
}


def _process(admin: User) -> Process:
    existing = Process.objects.filter(key=KEY).first()
    if existing is not None:
        return existing
    source = starter_text("jobs").replace("process: job_workflow", f"process: {KEY}")
    source = source.replace("name: Job workflow", "name: Bench job workflow")
    process, _ = process_import(by=admin, source=source, note="Benchmark")
    return process


def generate(*, jobs: int, seed: int, batch: int, force: bool, console: Console) -> dict[str, Any]:
    admin = User.objects.filter(username=f"{BENCH_USER_PREFIX}admin").first()
    staff = list(User.objects.filter(username__startswith=BENCH_USER_PREFIX, is_active=True))
    party_ids = list(Party.objects.order_by("pk").values_list("id", flat=True)[:100_000])
    if admin is None or not party_ids:
        raise BenchError("Run `friday bench generate` first: the jobs belong to its parties and users.")
    process = _process(admin)
    if Job.objects.filter(process=process).exists():
        if not force:
            raise BenchError(f"{KEY} already has jobs; pass --force to start again.")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM processes_stagechange WHERE process_id = %s", [process.pk])
        Cost.objects.filter(job__process=process).delete()
        Job.objects.filter(process=process).delete()
        ServicePlan.objects.filter(name="Bench annual service").delete()
    assert process.current is not None
    version = process.current
    definition = version.definition
    order = [s.key for s in definition.stages]
    completing = definition.completing()
    first_complete = min(order.index(k) for k in completing)
    teams = {u.pk: u.teams.order_by("pk").values_list("pk", flat=True).first() for u in staff}
    rng = random.Random(seed)
    now = clock.now()
    stages, weights = list(WEIGHTS), list(WEIGHTS.values())
    # A fifth of the clients buy again and again (the loyal ones); the rest now and then.
    regulars = party_ids[: max(1, len(party_ids) // 5)]
    started = time.perf_counter()
    made = costs_made = 0
    with Progress(
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("jobs", total=jobs)
        while made < jobs:
            size = min(batch, jobs - made)
            rows: list[Job] = []
            for i in range(size):
                stage = rng.choices(stages, weights)[0]
                kind = definition.stage(stage)
                assert kind is not None
                created = now - SPAN * rng.random()
                entered = min(now, created + dt.timedelta(days=rng.expovariate(1 / 12)))
                done = stage != "cancelled" and order.index(stage) >= first_complete
                owner = rng.choice(staff)
                rows.append(
                    Job(
                        party_id=rng.choice(regulars if rng.random() < 0.6 else party_ids),
                        title=f"Job {made + i + 1}",
                        process=process,
                        stage_version=version,
                        stage=stage,
                        stage_entered_at=entered,
                        owner=owner,
                        team_id=teams.get(owner.pk),
                        quoted_price=Decimal(str(round(rng.lognormvariate(5.5, 0.7), 2))),
                        currency="GBP",
                        scheduled_for=created + dt.timedelta(days=3),
                        completed_at=entered if done else None,
                        paid_at=entered if stage == "paid" else None,
                        closed_at=entered if kind.terminal else None,
                        created_at=created,
                        updated_at=entered,
                        created_by=owner,
                    )
                )
            with transaction.atomic():
                created_jobs = Job.objects.bulk_create(rows)
                Job.staff.through.objects.bulk_create(
                    [Job.staff.through(job_id=j.pk, user_id=j.owner_id) for j in created_jobs]
                )
                StageChange.objects.bulk_create(
                    [
                        StageChange(
                            record_type="job",
                            record_id=j.pk,
                            party_id=j.party_id,
                            process=process,
                            version=version,
                            from_stage="",
                            to_stage=j.stage,
                            at=j.stage_entered_at,
                            by=j.owner,
                            declared=True,
                        )
                        for j in created_jobs
                    ],
                    batch_size=5000,
                )
                costs = []
                for j in created_jobs:
                    hours = Decimal(rng.choice(["1.50", "2.00", "3.00", "4.50", "6.00"]))
                    parts = Decimal(str(round(rng.uniform(5, 120), 2)))
                    day = j.created_at.date()
                    costs += [
                        Cost(
                            party_id=j.party_id,
                            job=j,
                            kind=CostKind.LABOUR,
                            quantity=hours,
                            unit_cost=Decimal("32.50"),
                            amount=(hours * Decimal("32.50")).quantize(Decimal("0.01")),
                            currency="GBP",
                            staff_id=j.owner_id,
                            incurred_on=day,
                            created_at=j.created_at,
                        ),
                        Cost(
                            party_id=j.party_id,
                            job=j,
                            kind=CostKind.MATERIALS,
                            description="Parts",
                            quantity=Decimal(1),
                            unit_cost=parts,
                            amount=parts,
                            currency="GBP",
                            incurred_on=day,
                            created_at=j.created_at,
                        ),
                    ]
                Cost.objects.bulk_create(costs, batch_size=5000)
                costs_made += len(costs)
            made += size
            progress.update(task, completed=made)
    # The history was written directly: its daily roll-ups (funnels, conformance, adoption) are rebuilt from it.
    rollup.rebuild(process)
    # Every fifth client has an annual service plan, last serviced at some time in the past year.
    today = clock.today()
    plans = []
    for pk in party_ids[::5]:
        last = today - dt.timedelta(days=rng.randrange(0, 365))
        plans.append(
            ServicePlan(
                party_id=pk,
                name="Bench annual service",
                every=1,
                unit="years",
                last_service_on=last,
                next_due_on=add_interval(last, 1, "years"),
                created_at=now,
                updated_at=now - dt.timedelta(days=1),
            )
        )
    ServicePlan.objects.bulk_create(plans, batch_size=5000)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
        else:
            for table in ("jobs_job", "jobs_cost", "jobs_serviceplan", "processes_stagechange"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return {"jobs": made, "costs": costs_made, "plans": len(plans), "seconds": time.perf_counter() - started}


def run(*, runs: int, console: Console) -> list[Timing]:
    process = Process.objects.filter(key=KEY).select_related("current").first()
    if process is None or not Job.objects.filter(process=process).exists():
        raise BenchError("Run `friday bench jobs --generate` first.")
    manager = User.objects.filter(username=f"{BENCH_USER_PREFIX}manager").first()
    if manager is None:
        raise BenchError("The bench manager is missing: run `friday bench generate`.")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)

    def get(url: str) -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise BenchError(f"{url} answered {response.status_code}")

    job = Job.objects.filter(process=process, stage="paid").order_by("-pk").first()
    assert job is not None
    loyal = {"roles": [], "paid_jobs": {"at_least": 3, "months": 24}}
    now = clock.now()
    day_start = now - dt.timedelta(days=1)
    service_due = {"type": "service_due", "days_before": 14, "at": "09:00"}
    campaign = {"type": "campaign", "cron": "0 10 1 * *", "period": "year"}
    loyal_q = Party.objects.filter(segment_q({"paid_jobs": loyal["paid_jobs"]}))
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return [
        Timing("job board page", _time(runs, lambda: get(f"/jobs/board/?process={KEY}")), 100),
        Timing("job list, unpaid, first page", _time(runs, lambda: get("/jobs/?status=unpaid")), 100),
        Timing("job page (costs, margin, history)", _time(runs, lambda: get(f"/jobs/{job.pk}/")), 100),
        Timing("API job with money", _time(runs, lambda: get(f"/api/v1/jobs/{job.pk}")), 50),
        Timing(
            "loyal customers count (3 paid jobs in 24 months)",
            _time(runs, lambda: segment_count(user=manager, filters=loyal)),
            1000,
        ),
        Timing(
            "service-due sweep, one day",
            _time(runs, lambda: list(triggers.service_due_matches(service_due, day_start, now))),
            2000,
        ),
        Timing(
            "loyalty campaign matches (one slot)",
            _time(
                runs,
                lambda: list(
                    triggers.campaign_matches(
                        campaign, month - dt.timedelta(minutes=1), month + dt.timedelta(days=1), loyal_q
                    )
                ),
            ),
            5000,
        ),
    ]


def report(generated: dict[str, Any] | None, timings: list[Timing], console: Console) -> None:
    if generated:
        console.print(
            f"Generated {generated['jobs']:,} jobs, {generated['costs']:,} costs and {generated['plans']:,} "
            f"service plans in {generated['seconds']:.0f} s."
        )
    process = Process.objects.get(key=KEY)
    loyal = segment_count(
        user=User.objects.get(username=f"{BENCH_USER_PREFIX}manager"),
        filters={"paid_jobs": {"at_least": 3, "months": 24}},
    )
    console.print(
        f"{connection.vendor}: {Job.objects.filter(process=process).count():,} jobs, "
        f"{Cost.objects.count():,} costs, {ServicePlan.objects.count():,} service plans, {loyal:,} loyal customers."
    )
    table = Table("measure", "median ms", "p95 ms", "target ms", "ok")
    for t in timings:
        ok = "" if t.target_ms is None else ("yes" if t.p95_ms <= t.target_ms else "NO")
        table.add_row(
            t.name, f"{t.median_ms:.1f}", f"{t.p95_ms:.1f}", f"{t.target_ms:.0f}" if t.target_ms else "", ok
        )
    console.print(table)

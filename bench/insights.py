"""`friday bench insights`: the customer figures' full recompute, the customer-value fit, the dashboard, the four
corners, the at-risk and the Best pages, and the adoption page (with its weekly job) over the bench dataset
(parties, deals, jobs and invoices of the other bench commands).

Targets (issue 6): full recompute for 100k customers ≤ 30 s; dashboard p95 ≤ 150 ms; four-corners page ≤ 300 ms;
adoption page p95 ≤ 300 ms. The fit, the Best page and the adoption job (it runs in the worker) have no target of
their own; they are reported. Measured in-process through Django's test client, as the bench manager (sees
everything) and as a team member (scoped). The figures' cache is cleared before each timed request: what is
measured is the work, not the cache.

`--suppliers` first adds what the Best page's supplier rankings read and the bench has none of: reminders chasing
the bench suppliers (some done on time, some late, some open) and supplier bills on the bench jobs — written with
`bulk_create` (the benchmark's exception to "services are the only write path"), once.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.test import Client
from rich.console import Console
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from bench.processes import Timing
from friday.accounts.models import Role, User
from friday.core import clock
from friday.insights import adoption, metrics, value
from friday.insights.management.commands.insights import summary
from friday.insights.models import CustomerMetrics
from friday.jobs.models import Cost, CostKind, Job
from friday.parties.models import PartyRole, RoleName
from friday.reminders.models import Reminder, ReminderStatus

CHASE_KEY = "bench-chase-"


def _timed(runs: int, fn: Any) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        cache.clear()
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def suppliers(*, chases: int, bills: int, seed: int, console: Console) -> tuple[int, int]:
    """Chases of the bench suppliers over the last two years (70% done on time, 20% late, the rest open) and
    supplier bills on bench jobs; nothing when they are there already."""
    if Reminder.objects.filter(key__startswith=CHASE_KEY).exists():
        console.print("Supplier chases and bills are there already.")
        return 0, 0
    rng = random.Random(seed)
    vendors = list(
        PartyRole.objects.filter(role=RoleName.SUPPLIER, party__owner__username__startswith=BENCH_USER_PREFIX)
        .values_list("party_id", flat=True)
        .order_by("party_id")
    )
    staff = list(User.objects.filter(username__startswith=BENCH_USER_PREFIX).values_list("pk", flat=True))
    jobs = list(Job.objects.values_list("pk", "party_id", "currency").order_by("pk")[:50_000])
    if not vendors or not staff or not jobs:
        raise BenchError("Run `friday bench generate` and `friday bench jobs --generate` first.")
    now = clock.now()
    made = []
    for i in range(chases):
        due = now - dt.timedelta(minutes=rng.randint(-60 * 24 * 30, 60 * 24 * 730))
        luck = rng.random()
        done_at = None
        if luck < 0.9 and due < now:
            done_at = min(
                now, due + dt.timedelta(hours=rng.uniform(-72, -1) if luck < 0.7 else rng.uniform(1, 240))
            )
        made.append(
            Reminder(
                title="Chase the delivery",
                chase_id=rng.choice(vendors),
                assignee_id=rng.choice(staff),
                due_at=due,
                remind_at=due,
                status=ReminderStatus.DONE if done_at else ReminderStatus.OPEN,
                done_at=done_at,
                key=f"{CHASE_KEY}{i}",
                created_at=due - dt.timedelta(days=7),
                updated_at=done_at or due,
            )
        )
    Reminder.objects.bulk_create(made, batch_size=5000)
    costs = []
    for _ in range(bills):
        job, party, currency = rng.choice(jobs)
        amount = Decimal(str(round(rng.lognormvariate(5, 1), 2)))
        day = (now - dt.timedelta(days=rng.randint(0, 730))).date()
        costs.append(
            Cost(
                party_id=party,
                job_id=job,
                kind=CostKind.SUPPLIER_BILL,
                unit_cost=amount,
                amount=amount,
                currency=currency,
                supplier_id=rng.choice(vendors),
                reference="bench",
                incurred_on=day,
                created_at=now,
            )
        )
    Cost.objects.bulk_create(costs, batch_size=5000)
    console.print(f"Added {len(made):,} supplier chases and {len(costs):,} supplier bills.")
    return len(made), len(costs)


def run(*, runs: int, console: Console) -> tuple[float, list[Timing]]:
    manager = User.objects.filter(username=f"{BENCH_USER_PREFIX}manager").first()
    member = (
        User.objects.filter(username__startswith=BENCH_USER_PREFIX, role=Role.MEMBER).order_by("pk").first()
    )
    if manager is None or member is None:
        raise BenchError(
            "Run `friday bench generate` first (and `bench jobs`, `bench billing` for their tiles)."
        )
    began = time.perf_counter()
    metrics.recompute(restart=True)
    recompute = time.perf_counter() - began
    fitted = value.fit()
    console.print(summary(fitted.fit, fitted.rows))
    timings = _adoption_job(runs)  # first: the adoption page reads what it writes
    for who, user in (("manager", manager), ("member", member)):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        def get(url: str, client: Client = client) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise BenchError(f"{url} answered {response.status_code}")
            if response.streaming:
                b"".join(response.streaming_content)  # type: ignore[attr-defined]  # a CSV, timed to its last row

        timings.append(Timing(f"dashboard ({who})", _timed(runs, lambda get=get: get("/")), 150))
        timings.append(
            Timing(f"four corners page ({who})", _timed(runs, lambda get=get: get("/insights/corners/")), 300)
        )
        timings.append(
            Timing(
                f"customers at risk page ({who})",
                _timed(runs, lambda get=get: get("/insights/at-risk/")),
                150,
            )
        )
        for label, url in (
            ("Best page", "/insights/best/"),
            ("Best: an RFM segment's list", "/insights/best/rfm/champions/"),
            ("Best: suppliers by cost, CSV", "/insights/best/?format=csv&part=costs&top=100"),
            ("Best: a segment's CSV (all)", "/insights/best/rfm/hibernating/?format=csv"),
        ):
            timings.append(Timing(f"{label} ({who})", _timed(runs, lambda get=get, url=url: get(url))))
        timings.extend(_adoption_pages(runs, who, member, get))
    return recompute, timings


def _adoption_job(runs: int) -> list[Timing]:
    """The weekly figures: twelve weeks from history (the first run after install, or `friday insights adoption
    --redo`), then the hourly refresh (the week in progress)."""
    began = time.perf_counter()
    adoption.backfill(weeks=adoption.WEEKS, redo=True)
    backfill = time.perf_counter() - began
    return [
        Timing(f"adoption job: {adoption.WEEKS} weeks from history", [backfill]),
        Timing("adoption job: hourly refresh (this week)", _timed(max(1, runs // 3), adoption.refresh)),
    ]


def _adoption_pages(runs: int, who: str, member: User, get: Any) -> list[Timing]:
    out = [Timing(f"adoption page ({who})", _timed(runs, lambda: get("/insights/adoption/")), 300)]
    if who == "manager":
        out.append(
            Timing(
                "adoption page, one person (manager)",
                _timed(runs, lambda: get(f"/insights/adoption/?person={member.pk}")),
                300,
            )
        )
    out.append(
        Timing(
            f"adoption list: stuck records ({who})",
            _timed(runs, lambda: get(f"/insights/adoption/list/stuck/?person={member.pk}")),
            300,
        )
    )
    return out


def report(recompute: float, timings: list[Timing], console: Console) -> None:
    customers = CustomerMetrics.objects.count()
    console.print(
        f"{connection.vendor}: full recompute of {customers:,} customers in {recompute:.1f} s (target ≤ 30 s)."
    )
    table = Table("measure", "median ms", "p95 ms", "target ms", "ok")
    for t in timings:
        ok = "" if t.target_ms is None else ("yes" if t.p95_ms <= t.target_ms else "NO")
        table.add_row(
            t.name, f"{t.median_ms:.1f}", f"{t.p95_ms:.1f}", f"{t.target_ms:.0f}" if t.target_ms else "", ok
        )
    console.print(table)

"""`friday bench insights`: the customer figures' full recompute, the dashboard, the four corners page and the
adoption page (with its weekly job) over the bench dataset (parties, deals, jobs and invoices of the other bench
commands).

Targets (issue 6): full recompute for 100k customers ≤ 30 s; dashboard p95 ≤ 150 ms; four-corners page ≤ 300 ms;
adoption page p95 ≤ 300 ms (the weekly job that feeds it has no target: it runs in the worker, and is reported).
Measured in-process through Django's test client, as the bench manager (sees everything) and as a team member
(scoped). The figures' cache is cleared before each timed request: what is measured is the work, not the cache.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.test import Client
from rich.console import Console
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from bench.processes import Timing
from friday.accounts.models import Role, User
from friday.insights import adoption, metrics
from friday.insights.models import CustomerMetrics


def _timed(runs: int, fn: Any) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        cache.clear()
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


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
    timings = _adoption_job(runs)  # first: the adoption page reads what it writes
    for who, user in (("manager", manager), ("member", member)):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        def get(url: str, client: Client = client) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise BenchError(f"{url} answered {response.status_code}")

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

"""`friday bench insights`: the customer figures' full recompute, the dashboard and the four corners page over
the bench dataset (parties, deals, jobs and invoices of the other bench commands).

Targets (issue 6): full recompute for 100k customers ≤ 30 s; dashboard p95 ≤ 150 ms; four-corners page ≤ 300 ms.
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
from friday.insights import metrics
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
    timings = []
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
    return recompute, timings


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

"""`friday bench strategy`: what the goals cost over the bench dataset — each metric's figure and trend for a month
and a year, the Strategy page and the home page with its goals, and the daily readings.

No target is set by issue 8; the home page keeps issue 6's (dashboard p95 ≤ 150 ms). The goals are written inside a
transaction that is rolled back at the end, so the bench database is left as it was.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from rich.console import Console
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from bench.processes import Timing
from friday.accounts.models import User
from friday.core.errors import ValidationFailed
from friday.strategy import metrics, selectors, services
from friday.strategy.models import Goal

PERIODS = ("month", "year")


@dataclass
class Result:
    vendor: str
    metrics: list[Timing]
    pages: list[Timing]
    readings: Timing
    skipped: list[str]


class _Rollback(Exception):
    pass


def _timed(runs: int, fn) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        cache.clear()
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def run(*, runs: int, console: Console) -> Result:
    admin = User.objects.filter(username=f"{BENCH_USER_PREFIX}admin").first()
    if admin is None:
        raise BenchError("Run `friday bench generate` first (the goals are written as the bench admin).")
    result: Result | None = None
    skipped: list[str] = []
    try:
        with transaction.atomic():
            Goal.objects.update(active=False)  # the bench's goals alone (rolled back)
            goals = []
            for metric in metrics.catalog():
                for period in PERIODS:
                    data = services.GoalIn(
                        title=f"Bench: {metric.label}, {period}",
                        metric=metric.key,
                        target="10",
                        direction=metric.suggested_direction,
                        period=period,
                    )
                    try:
                        with transaction.atomic():
                            goals.append(services.goal_save(by=admin, data=data))
                    except ValidationFailed as exc:  # e.g. new prospects without a customer lifecycle
                        skipped.append(f"{metric.key}, {period}: {exc.detail}")
            timings = []
            with console.status("Each goal's figure and trend…"):
                for goal in goals:
                    timings.append(
                        Timing(
                            f"{goal.metric}, {goal.period}",
                            _timed(runs, lambda g=goal: selectors.standing(g)),
                        )
                    )
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(admin)

            def get(path: str) -> None:
                response = client.get(path)
                if response.status_code != 200:
                    raise BenchError(f"{path} answered {response.status_code}")

            pages = []
            with console.status("The pages…"):
                pages.append(
                    Timing("Strategy page, figures worked out", _timed(runs, lambda: get("/strategy/")))
                )
                pages.append(
                    Timing("home page with the goals, figures worked out", _timed(runs, lambda: get("/")))
                )
                cached = []
                get("/")
                for _ in range(runs):
                    began = time.perf_counter()
                    get("/strategy/")
                    cached.append(time.perf_counter() - began)
                pages.append(Timing("Strategy page, figures cached (5 min)", cached))
            with console.status("The daily readings…"):
                readings = Timing(
                    "readings of every goal (hourly job)", _timed(max(1, runs // 2), services.readings_write)
                )
            result = Result(connection.vendor, timings, pages, readings, skipped)
            raise _Rollback
    except _Rollback:
        pass
    assert result is not None
    return result


def report(result: Result, console: Console) -> None:
    table = Table("measure", "median ms", "p95 ms", title=f"Goals over the bench dataset ({result.vendor})")
    for timing in [*result.metrics, *result.pages, result.readings]:
        table.add_row(timing.name, f"{timing.median_ms:,.0f}", f"{timing.p95_ms:,.0f}")
    console.print(table)
    total = sum(statistics.median(t.runs) for t in result.metrics)
    console.print(
        f"All {len(result.metrics)} goals worked out one after another: {total * 1000:,.0f} ms (medians added)."
    )

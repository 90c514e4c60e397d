"""`friday bench clv`: fit time of the customer-value model (BG/NBD, Gamma-Gamma) and scoring, on synthetic customers.

Customers are drawn from the BG/NBD with the CDNOW parameters (Fader, Hardie & Lee 2005), first purchases
spread over a year, observed to day 365: once with exact (continuous) times, once rounded to whole days as a
CRM records them (many customers then share a history, which the fit collapses). Spend per repeat purchase
is Gamma-Gamma with p = 6.25, q = 3.74, γ = 15.44. Pure numpy/scipy: no database involved.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench import BenchError
from friday.insights import clv

WEEKLY = clv.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
DAILY = clv.BGNBDParams(r=WEEKLY.r, alpha=WEEKLY.alpha * 7, a=WEEKLY.a, b=WEEKLY.b)  # alpha carries the unit
SPEND = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def _timed(runs: int, work: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = work(*args, **kwargs)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), result


def _score(params: clv.BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    clv.bgnbd_probability_alive(params, x, t_x, T)
    clv.bgnbd_conditional_expected_purchases(params, 30.0, x, t_x, T)


def run(*, customers: int, runs: int, seed: int, console: Console) -> list[dict[str, Any]]:
    if customers < 100 or runs < 1:
        raise BenchError("--customers must be at least 100 and --runs at least 1.")
    rng = np.random.default_rng(seed)
    T = rng.uniform(1.0, 365.0, customers)
    x, t_x, _ = clv.bgnbd_simulate(DAILY, T, rng)
    nu = rng.gamma(SPEND.q, 1 / SPEND.gamma, customers)
    spend = np.where(x > 0, rng.gamma(SPEND.p * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), 0.0)
    rows = []
    for label, tx, TT in (("exact times", t_x, T), ("whole days", np.floor(t_x), np.ceil(T))):
        tx = np.where((x > 0) & (tx <= 0), 1.0, tx)  # a repeat purchase is at least a day after the first
        distinct = len(np.unique(np.column_stack([x, tx, TT]), axis=0))
        fit_s, (params, report) = _timed(runs, clv.bgnbd_fit, x, tx, TT)
        gg_s, (gg, gg_report) = _timed(runs, clv.gamma_gamma_fit, x, spend)
        score_s, _ = _timed(runs, _score, params, x, tx, TT)
        year = dict(horizon=12, step=365.25 / 12, discount_rate=0.01, margin=0.3)
        clv_s, _ = _timed(runs, clv.customer_lifetime_value, params, gg, x, tx, TT, spend, **year)
        rows.append(
            {
                "data": label,
                "customers": customers,
                "distinct histories": distinct,
                "BG/NBD fit s": fit_s,
                "converged": report.converged and gg_report.converged,
                "r, α/7, a, b": f"{params.r:.3f}, {params.alpha / 7:.3f}, {params.a:.3f}, {params.b:.3f}",
                "Gamma-Gamma fit s": gg_s,
                "P(alive)+E[Y(30)] s": score_s,
                "12-month CLV s": clv_s,
            }
        )
    return rows


def report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Customer-value model (medians)")
    for key in rows[0]:
        table.add_column(key, justify="right")
    for row in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)

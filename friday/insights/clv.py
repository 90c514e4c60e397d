"""The customer-value model: BG/NBD for repeat buying, Gamma-Gamma for spend, and CLV from both (pure numpy/scipy).

References (equation numbers as printed in each source):

- [FHL05] Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2), 275-284.
- [FHL08] Fader, Hardie & Lee (2008), "Computing P(alive) Using the BG/NBD Model", note.
- [FHL05b] Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
  Journal of Marketing Research 42(4), 415-430.
- [FH13] Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", note.

Units: every time (t_x, T, horizons) is in one unit chosen when the summaries are built ("days" or
"weeks"); the BG/NBD rate parameter alpha carries that unit, the other parameters are unit-free.
Frequency x counts *repeat* purchases, one per distinct day; the first purchase starts the clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from scipy import optimize

# scipy is imported where it is used, not here: it took ~0.15 s of every process's start (the web app, the
# worker, each CLI command, each process that checks an import's rows) that most never needed.

Array = NDArray[np.float64]
Unit = Literal["days", "weeks"]
UNIT_DAYS: dict[str, int] = {"days": 1, "weeks": 7}


# --- Inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerSummaries:
    """Per-customer sufficient statistics for the calibration period (and optionally a holdout period).

    ``x``: repeat purchases (distinct days after the first); ``t_x``: time of the last purchase, from
    the first; ``T``: time from the first purchase to the end of calibration; ``monetary``: mean amount
    of the repeat purchases (0 when x = 0); ``x_holdout``: purchases (distinct days) in the holdout.
    """

    customers: list[Hashable]
    x: Array
    t_x: Array
    T: Array
    monetary: Array
    unit: Unit
    holdout_length: float = 0.0
    x_holdout: Array = field(default_factory=lambda: np.zeros(0))


def customer_summaries(
    transactions: Iterable[tuple[Hashable, date, float]],
    *,
    calibration_end: date,
    holdout_end: date | None = None,
    unit: Unit = "weeks",
) -> CustomerSummaries:
    """Build (x, t_x, T, mean spend) per customer from (customer, date, amount) rows.

    Purchases on the same day are one transaction (their amounts summed), as in [FHL05] and the
    CDNOW data preparation. Calibration covers dates up to and including ``calibration_end``; a
    customer whose first purchase falls after it is left out (the model is for an existing cohort).
    Purchases in (calibration_end, holdout_end] are counted in ``x_holdout``.
    """
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit must be 'days' or 'weeks', not {unit!r}")
    if holdout_end is not None and holdout_end <= calibration_end:
        raise ValueError("holdout_end must come after calibration_end")
    per_day: dict[Hashable, dict[date, float]] = {}
    for customer, day, amount in transactions:
        days = per_day.setdefault(customer, {})
        days[day] = days.get(day, 0.0) + float(amount)
    scale = float(UNIT_DAYS[unit])
    customers: list[Hashable] = []
    rows: list[tuple[float, float, float, float, float]] = []
    for customer, days in per_day.items():
        ordered = sorted(days)
        first = ordered[0]
        if first > calibration_end:
            continue
        calibration = [d for d in ordered if d <= calibration_end]
        repeats = calibration[1:]
        holdout = 0
        if holdout_end is not None:
            holdout = sum(1 for d in ordered if calibration_end < d <= holdout_end)
        spend = sum(days[d] for d in repeats) / len(repeats) if repeats else 0.0
        customers.append(customer)
        rows.append(
            (
                float(len(repeats)),
                (calibration[-1] - first).days / scale,
                (calibration_end - first).days / scale,
                spend,
                float(holdout),
            )
        )
    table = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return CustomerSummaries(
        customers=customers,
        x=table[:, 0],
        t_x=table[:, 1],
        T=table[:, 2],
        monetary=table[:, 3],
        unit=unit,
        holdout_length=((holdout_end - calibration_end).days / scale) if holdout_end else 0.0,
        x_holdout=table[:, 4],
    )


def _arrays(*values: ArrayLike) -> list[Array]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


# --- BG/NBD -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BGNBDParams:
    """BG/NBD parameters [FHL05]: purchase rate lambda ~ Gamma(r, alpha); dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class FitReport:
    """How a maximum-likelihood fit went: total log-likelihood, optimiser status and effort."""

    log_likelihood: float
    converged: bool
    message: str
    iterations: int
    evaluations: int
    n: int
    seconds: float


def bgnbd_log_likelihood(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """Each customer's log-likelihood, [FHL05] eq. (6):

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + δ(x>0) · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)).

    Computed in logs (B(a+1, b+x-1) = B(a, b+x) · a/(b+x-1)), with log-sum-exp for the two terms, so
    large x or T cannot overflow — the "#NUM!" problem of Fader & Hardie's 2013 note does not arise.
    """
    from scipy import special

    x_, tx_, T_ = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = (
        special.gammaln(r + x_)
        - special.gammaln(r)
        + r * math.log(alpha)
        + special.betaln(a, b + x_)
        - special.betaln(a, b)
    )
    alive = -(r + x_) * np.log(alpha + T_)
    repeat = x_ > 0
    died = np.full_like(x_, -np.inf)
    died[repeat] = math.log(a) - np.log(b + x_[repeat] - 1) - (r + x_[repeat]) * np.log(alpha + tx_[repeat])
    return common + np.logaddexp(alive, died)


def _check_summaries(x: Array, t_x: Array, T: Array) -> None:
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency x must be a non-negative whole number")
    if np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ValueError("need 0 <= t_x <= T for every customer")
    if np.any((x > 0) & (t_x <= 0)):
        raise ValueError("a customer with repeat purchases needs t_x > 0")


def _at_bound(theta: Array, bounds: list[tuple[float, float]]) -> bool:
    return any(abs(v - lo) < 1e-6 or abs(v - hi) < 1e-6 for v, (lo, hi) in zip(theta, bounds, strict=True))


def _maximise(
    negative_mean_ll: Callable[[Array], float], starts: list[Array], n: int, bounds: list[tuple[float, float]]
) -> tuple[Array, FitReport]:
    """L-BFGS-B on log-parameters; later starts are tried while the optimum is unconverged or at a bound."""
    from scipy import optimize

    began = time.perf_counter()
    best: optimize.OptimizeResult | None = None
    for start in starts:
        result = optimize.minimize(
            negative_mean_ll, start, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-9}
        )
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
        if best is not None and best.success and not _at_bound(best.x, bounds):
            break  # the next start is a fallback, not a search for other optima
    if best is None:
        raise ArithmeticError("the likelihood was not finite at any start")
    at_bound = _at_bound(best.x, bounds)
    converged = bool(best.success) and not at_bound
    message = str(best.message) + ("; a parameter is at its bound" if at_bound else "")
    report = FitReport(
        log_likelihood=float(-best.fun * n),
        converged=converged,
        message=message,
        iterations=int(best.nit),
        evaluations=int(best.nfev),
        n=n,
        seconds=time.perf_counter() - began,
    )
    return np.asarray(best.x, dtype=np.float64), report


LOG_BOUNDS = (-12.0, 12.0)


def bgnbd_fit(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[BGNBDParams, FitReport]:
    """Maximum-likelihood (r, α, a, b) for [FHL05] eq. (6), on log-parameters so all stay positive.

    Starts: r = 1, a = 1, b = 3 and α from the mean purchase rate (r/α ≈ Σx / ΣT); a second start
    with stronger heterogeneity is tried when the first does not converge, and the better one kept. ``FitReport.converged`` is False
    when the optimiser did not report success or a log-parameter sits at its bound (±12).
    """
    x_, tx_, T_ = _arrays(x, t_x, T)
    _check_summaries(x_, tx_, T_)
    n = x_.size
    # Customers with the same (x, t_x, T) share a likelihood term: with whole days or weeks most do.
    rows, counts = np.unique(np.column_stack([x_, tx_, T_]), axis=0, return_counts=True)
    ux, utx, uT = rows[:, 0], rows[:, 1], rows[:, 2]
    weights = counts / n

    def negative_mean_ll(theta: Array) -> float:
        r, alpha, a, b = np.exp(theta)
        value = -float(weights @ bgnbd_log_likelihood(BGNBDParams(r, alpha, a, b), ux, utx, uT))
        return value if math.isfinite(value) else 1e300

    rate = max(float(x_.sum() / T_.sum()), 1e-6)
    starts = [np.log([1.0, 1.0 / rate, 1.0, 3.0]), np.log([0.3, 0.3 / rate, 0.7, 2.0])]
    theta, report = _maximise(negative_mean_ll, starts, n, [LOG_BOUNDS] * 4)
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    return BGNBDParams(r=r, alpha=alpha, a=a, b=b), report


def _death_odds(params: BGNBDParams, x: Array, t_x: Array, T: Array) -> Array:
    """δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x): the odds of "died at t_x" against "alive at T"."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    odds = np.zeros_like(x)
    repeat = x > 0
    xr = x[repeat]
    log_odds = (
        math.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    )
    odds[repeat] = np.exp(np.minimum(log_odds, 700.0))
    return odds


def bgnbd_probability_alive(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """P(alive at T | x, t_x, T), [FHL08] eq. (2) (the paper [FHL05] leaves it out):

    P = 1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)).

    A customer with no repeat purchase cannot have dropped out (dropout follows a repeat purchase),
    so P = 1 for x = 0 at any T.
    """
    x_, tx_, T_ = _arrays(x, t_x, T)
    return 1.0 / (1.0 + _death_odds(params, x_, tx_, T_))


def _hyp2f1_tail(params: BGNBDParams, x: Array, base: Array, t: Array) -> Array:
    """((base)/(base+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; t/(base+t)), computed stably.

    Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z), with 1-z = base/(base+t),
    turns it into (base/(base+t))^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z): the first two parameters no
    longer grow with x, so the series stays short and accurate for heavy buyers and long horizons.
    """
    from scipy import special

    r, a, b = params.r, params.a, params.b
    z = t / (base + t)
    return np.exp((a - 1) * np.log1p(-z)) * special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)


def _a_minus_one(a: float) -> float:
    # (a+b+x-1)/(a-1) · [1 - ...] has a removable singularity at a = 1; step off it.
    return a - 1 if abs(a - 1) > 1e-7 else 1e-7


def bgnbd_expected_purchases(params: BGNBDParams, t: ArrayLike) -> Array:
    """E[X(t)] for a new customer (repeat purchases in (0, t]), [FHL05] eq. (7):

    E[X(t)] = (a+b-1)/(a-1) · [1 - (α/(α+t))^r · 2F1(r, b; a+b-1; t/(α+t))].
    """
    (t_,) = _arrays(t)
    zeros = np.zeros_like(t_)
    tail = _hyp2f1_tail(params, zeros, np.full_like(t_, params.alpha), t_)
    return (params.a + params.b - 1) / _a_minus_one(params.a) * (1.0 - tail)


def bgnbd_conditional_expected_purchases(
    params: BGNBDParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] for a customer with that history, [FHL05] eq. (10):

    E = (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; t/(α+T+t))]
        / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)).
    """
    t_, x_, tx_, T_ = _arrays(t, x, t_x, T)
    tail = _hyp2f1_tail(params, x_, params.alpha + T_, t_)
    numerator = (params.a + params.b + x_ - 1) / _a_minus_one(params.a) * (1.0 - tail)
    return numerator / (1.0 + _death_odds(params, x_, tx_, T_))


def bgnbd_simulate(params: BGNBDParams, T: ArrayLike, rng: np.random.Generator) -> tuple[Array, Array, Array]:
    """Draw (x, t_x, alive) per customer from the BG/NBD story [FHL05] §3, for observation lengths T.

    λ ~ Gamma(r, rate α), p ~ Beta(a, b); purchases arrive as Poisson(λ) from time 0 (the first
    purchase); after each repeat purchase the customer drops out with probability p.
    """
    (T_,) = _arrays(T)
    n = T_.size
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    alive_at_T = np.ones(n, dtype=bool)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0, active.size) / lam[active]
        inside = now[active] <= T_[active]
        active = active[inside]
        x[active] += 1
        t_x[active] = now[active]
        drops = rng.random(active.size) < p[active]
        alive_at_T[active[drops]] = False
        active = active[~drops]
    return x, t_x, alive_at_T


# --- Gamma-Gamma ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters [FHL05b], [FH13]: spend z ~ Gamma(p, ν); ν ~ Gamma(q, γ) across customers."""

    p: float
    q: float
    gamma: float


def gamma_gamma_log_likelihood(params: GammaGammaParams, x: ArrayLike, monetary: ArrayLike) -> Array:
    """Each repeat customer's log-density of mean spend m̄ over x transactions, [FH13] eq. (3):

    f(m̄ | p, q, γ; x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m̄^(px-1) · x^(px) / (γ + m̄x)^(px+q).
    """
    from scipy import special

    x_, m_ = _arrays(x, monetary)
    p, q, g = params.p, params.q, params.gamma
    px = p * x_
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * math.log(g)
        + (px - 1) * np.log(m_)
        + px * np.log(x_)
        - (px + q) * np.log(g + m_ * x_)
    )


def gamma_gamma_fit(x: ArrayLike, monetary: ArrayLike) -> tuple[GammaGammaParams, FitReport]:
    """Maximum-likelihood (p, q, γ) for [FH13] eq. (3) on customers with x > 0 and spend > 0.

    The model assumes spend is independent of purchase frequency; check that on the data (the
    correlation of x and m̄ among repeat buyers should be near 0) before relying on it.
    """
    x_, m_ = _arrays(x, monetary)
    keep = (x_ > 0) & (m_ > 0)
    x_, m_ = x_[keep], m_[keep]
    if x_.size < 3:
        raise ValueError("the Gamma-Gamma model needs at least three repeat customers with spend")

    def negative_mean_ll(theta: Array) -> float:
        p, q, g = np.exp(theta)
        value = -float(np.mean(gamma_gamma_log_likelihood(GammaGammaParams(p, q, g), x_, m_)))
        return value if math.isfinite(value) else 1e300

    mean = float(m_.mean())
    starts = [np.log([1.0, 2.0, mean]), np.log([5.0, 4.0, mean * 0.5])]
    theta, report = _maximise(negative_mean_ll, starts, int(x_.size), [LOG_BOUNDS] * 3)
    p, q, g = (float(v) for v in np.exp(theta))
    return GammaGammaParams(p=p, q=q, gamma=g), report


def gamma_gamma_expected_spend(params: GammaGammaParams, x: ArrayLike, monetary: ArrayLike) -> Array:
    """E[M | p, q, γ, m̄, x], [FH13] eq. (5) ([FHL05b] eq. 4):

    E = (γ + m̄x) · p / (px + q - 1)
      = (q-1)/(px+q-1) · γp/(q-1) + px/(px+q-1) · m̄,

    a weighted mean of the population mean γp/(q-1) and the customer's own mean; for x = 0 it is
    the population mean. Requires q > 1 (otherwise the mean spend is infinite).
    """
    if params.q <= 1:
        raise ValueError("q <= 1: the Gamma-Gamma mean spend is not finite")
    x_, m_ = _arrays(x, monetary)
    p, q, g = params.p, params.q, params.gamma
    return (g + m_ * x_) * p / (p * x_ + q - 1)


# --- CLV --------------------------------------------------------------------------------------


def customer_lifetime_value(
    transactions: BGNBDParams,
    spend: GammaGammaParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    *,
    horizon: int,
    step: float,
    discount_rate: float,
    margin: float,
) -> Array:
    """Discounted expected margin over ``horizon`` steps of length ``step`` (in the summaries' unit):

    CLV = margin · E[M] · Σ_{i=1..horizon} (E[Y(i·step)] - E[Y((i-1)·step)]) / (1 + d)^i,

    with E[Y(t)] the conditional expectation [FHL05] eq. (10), E[M] the Gamma-Gamma expected spend
    [FH13] eq. (5), and d the discount rate per step (e.g. step = 30.44 days and a monthly rate).
    Spend is independent of the purchase process in the Gamma-Gamma model, so the product is exact.

    Why not the closed-form discounted expected transactions (DET) of [FHL05b] eq. (2)? It is
    derived for the Pareto/NBD with continuous discounting; the BG/NBD has no such closed form, and
    discrete discounting of eq. (10)'s increments converges to it as the step shrinks.
    """
    if horizon < 1 or step <= 0:
        raise ValueError("horizon must be at least one step and step positive")
    if discount_rate <= -1:
        raise ValueError("discount_rate must exceed -1")
    x_, tx_, T_, m_ = _arrays(x, t_x, T, monetary)
    value = np.zeros_like(x_)
    previous = np.zeros_like(x_)
    for i in range(1, horizon + 1):
        cumulative = bgnbd_conditional_expected_purchases(transactions, i * step, x_, tx_, T_)
        value += (cumulative - previous) / (1.0 + discount_rate) ** i
        previous = cumulative
    return margin * gamma_gamma_expected_spend(spend, x_, m_) * value

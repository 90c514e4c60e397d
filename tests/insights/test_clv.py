"""The customer-value model on synthetic data: parameter recovery, P(alive), expectations, stability, CLV."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import special, stats

from friday.insights import clv

pytestmark = pytest.mark.once  # pure computation: no database involved

TRUE = clv.BGNBDParams(r=0.6, alpha=8.0, a=0.9, b=3.5)
CDNOW = clv.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def _simulated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.uniform(30, 52, n)
    x, t_x, alive = clv.bgnbd_simulate(TRUE, T, rng)
    return x, t_x, T, alive


def test_bgnbd_fit_recovers_the_simulated_parameters() -> None:
    x, t_x, T, _ = _simulated(50_000, seed=11)

    fitted, report = clv.bgnbd_fit(x, t_x, T)

    assert report.converged, report.message
    assert report.n == 50_000
    assert fitted.r == pytest.approx(TRUE.r, rel=0.1)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.1)
    assert fitted.a == pytest.approx(TRUE.a, rel=0.25)
    assert fitted.b == pytest.approx(TRUE.b, rel=0.25)
    # the MLE beats the truth, but not by more than a likelihood-ratio test allows (chi², 4 df, 99.9%)
    at_truth = clv.bgnbd_log_likelihood(TRUE, x, t_x, T).sum()
    assert 0 <= report.log_likelihood - at_truth < stats.chi2.ppf(0.999, 4) / 2


def test_bgnbd_fit_reports_an_unidentified_model_as_not_converged() -> None:
    # nobody came back: the dropout process cannot be estimated and the rate runs to its bound
    zeros = np.zeros(50)

    _, report = clv.bgnbd_fit(zeros, zeros, np.full(50, 10.0))

    assert not report.converged
    assert "bound" in report.message


def test_a_customer_who_first_bought_today_adds_nothing_to_the_fit() -> None:
    # T = 0 (first purchase on the last calibration day): the likelihood of that history is 1
    assert clv.bgnbd_log_likelihood(TRUE, 0, 0.0, 0.0) == pytest.approx(0.0)
    x, t_x, T, _ = _simulated(2_000, seed=1)

    with_newcomer, _ = clv.bgnbd_fit(np.append(x, 0), np.append(t_x, 0.0), np.append(T, 0.0))
    without, _ = clv.bgnbd_fit(x, t_x, T)

    assert with_newcomer.r == pytest.approx(without.r, rel=1e-3)
    assert with_newcomer.b == pytest.approx(without.b, rel=1e-3)


def test_bgnbd_fit_rejects_impossible_summaries() -> None:
    with pytest.raises(ValueError, match="t_x <= T"):
        clv.bgnbd_fit([1, 2], [5.0, 12.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="whole number"):
        clv.bgnbd_fit([1.5], [5.0], [10.0])
    with pytest.raises(ValueError, match="no customers"):
        clv.bgnbd_fit([], [], [])


def test_probability_alive_for_no_repeat_purchase_is_one_at_any_age() -> None:
    # BG/NBD: dropout can only follow a repeat purchase, so x = 0 means alive, however long ago
    alive = clv.bgnbd_probability_alive(CDNOW, 0, 0, [1.0, 39.0, 1000.0])

    assert alive == pytest.approx([1.0, 1.0, 1.0])


def test_probability_alive_favours_recent_and_frequent_buyers() -> None:
    recent, lapsed = clv.bgnbd_probability_alive(CDNOW, 4, [38.0, 10.0], 39.0)
    assert recent > 0.8 > 0.5 > lapsed
    # with the last purchase at T, only the chance of dying at it remains: 1 / (1 + a/(b+x-1))
    at_end = clv.bgnbd_probability_alive(CDNOW, [1, 5, 50], 39.0, 39.0)
    assert at_end == pytest.approx(1 / (1 + CDNOW.a / (CDNOW.b + np.array([1, 5, 50]) - 1)))
    assert list(at_end) == sorted(at_end)
    # the longer the silence since the last purchase, the lower
    silence = clv.bgnbd_probability_alive(CDNOW, 3, 20.0, [20.0, 30.0, 50.0, 100.0])
    assert np.all(np.diff(silence) < 0)


def test_probability_alive_is_calibrated_on_simulated_customers() -> None:
    x, t_x, T, alive = _simulated(50_000, seed=5)

    predicted = clv.bgnbd_probability_alive(TRUE, x, t_x, T)

    assert predicted.mean() == pytest.approx(alive.mean(), abs=0.01)
    for low, high in [(0.0, 0.5), (0.5, 0.8), (0.8, 0.999)]:
        group = (predicted >= low) & (predicted < high)
        assert group.sum() > 500
        assert alive[group].mean() == pytest.approx(predicted[group].mean(), abs=0.03)


def test_expected_purchases_for_a_new_customer_match_simulation() -> None:
    rng = np.random.default_rng(3)
    x, _, _ = clv.bgnbd_simulate(TRUE, np.full(200_000, 39.0), rng)

    expected = clv.bgnbd_expected_purchases(TRUE, 39.0)

    standard_error = x.std() / np.sqrt(x.size)
    assert abs(x.mean() - expected) < 4 * standard_error
    curve = clv.bgnbd_expected_purchases(TRUE, [0.0, 1.0, 10.0, 39.0, 100.0])
    assert curve[0] == 0
    assert np.all(np.diff(curve) > 0)


def test_conditional_expectations_add_up_to_the_cohort_curve() -> None:
    # law of total expectation: Σ E[Y(t) | history] ≈ Σ (E[X(T+t)] - E[X(T)]) over customers drawn from the model
    x, t_x, T, _ = _simulated(50_000, seed=7)

    conditional = clv.bgnbd_conditional_expected_purchases(TRUE, 26.0, x, t_x, T).sum()
    cohort = (clv.bgnbd_expected_purchases(TRUE, T + 26.0) - clv.bgnbd_expected_purchases(TRUE, T)).sum()

    assert conditional == pytest.approx(cohort, rel=0.03)


def test_conditional_expected_purchases_agree_with_the_papers_form() -> None:
    # eq. (10) as printed, with scipy's 2F1 directly, on values where it is still well behaved
    x = np.array([0.0, 1, 2, 5, 10, 20])
    t_x = np.array([0.0, 10, 20, 30, 35, 38])
    T, t = 39.0, 39.0
    r, alpha, a, b = CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b
    z = t / (alpha + T + t)
    tail = ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    printed = (a + b + x - 1) / (a - 1) * (1 - tail) / (1 + odds)

    ours = clv.bgnbd_conditional_expected_purchases(CDNOW, t, x, t_x, T)

    assert ours == pytest.approx(printed, rel=1e-9)


def test_conditional_expected_purchases_are_monotone() -> None:
    over_time = clv.bgnbd_conditional_expected_purchases(CDNOW, [1.0, 5.0, 20.0, 52.0, 520.0], 3, 30.0, 39.0)
    assert np.all(np.diff(over_time) > 0)
    by_frequency = clv.bgnbd_conditional_expected_purchases(CDNOW, 39.0, [0, 1, 2, 5, 10, 30], 38.0, 39.0)
    assert np.all(np.diff(by_frequency) > 0)
    by_recency = clv.bgnbd_conditional_expected_purchases(CDNOW, 39.0, 5, [5.0, 15.0, 25.0, 38.0], 39.0)
    assert np.all(np.diff(by_recency) > 0)


def test_heavy_buyers_and_long_histories_stay_finite() -> None:
    # a daily buyer for years: x = 500 in T = 1000 days, last purchase today
    x, t_x, T, t = 500.0, 1000.0, 1000.0, 30.0
    rate = (CDNOW.r + x) / (CDNOW.alpha + T)  # posterior mean purchase rate

    expected = float(clv.bgnbd_conditional_expected_purchases(CDNOW, t, x, t_x, T))
    log_likelihood = clv.bgnbd_log_likelihood(CDNOW, [10_000, 10_000], [99_000.0, 10.0], 100_000.0)

    # alive almost surely; about a 1% chance per purchase of leaving (a/(a+b+x)) trims the rate slightly
    assert 0.95 * rate * t < expected < rate * t
    assert np.isfinite(log_likelihood).all()
    assert clv.bgnbd_probability_alive(CDNOW, 10_000, 10.0, 100_000.0) == pytest.approx(0.0, abs=1e-12)
    far = clv.bgnbd_conditional_expected_purchases(
        CDNOW, 10_000.0, [0, 50, 500], [0.0, 900.0, 1000.0], 1000.0
    )
    assert np.isfinite(far).all() and np.all(np.diff(far) > 0)


def test_gamma_gamma_fit_recovers_the_simulated_parameters() -> None:
    truth = clv.GammaGammaParams(p=4.0, q=6.0, gamma=20.0)
    rng = np.random.default_rng(2)
    x = rng.integers(1, 10, 10_000).astype(float)
    nu = rng.gamma(truth.q, 1 / truth.gamma, x.size)  # each customer's spend rate ν ~ Gamma(q, γ)
    mean_spend = rng.gamma(truth.p * x, 1 / (nu * x))  # the mean of x Gamma(p, ν) amounts

    fitted, report = clv.gamma_gamma_fit(np.append(x, 0), np.append(mean_spend, 0))

    assert report.converged, report.message
    assert report.n == 10_000  # the customer with no repeat purchase is left out
    for name in ("p", "q", "gamma"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=0.15), name
    at_truth = clv.gamma_gamma_log_likelihood(truth, x, mean_spend).sum()
    assert 0 <= report.log_likelihood - at_truth < stats.chi2.ppf(0.999, 3) / 2


def test_gamma_gamma_expected_spend_shrinks_towards_the_population_mean() -> None:
    params = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = params.p * params.gamma / (params.q - 1)

    few, many = clv.gamma_gamma_expected_spend(params, [1, 50], 100.0)

    assert clv.gamma_gamma_expected_spend(params, 0, 0) == pytest.approx(population)
    assert population < few < many < 100.0
    with pytest.raises(ValueError, match="q <= 1"):
        clv.gamma_gamma_expected_spend(clv.GammaGammaParams(1.0, 0.9, 1.0), 1, 1.0)


def test_customer_lifetime_value_discounts_expected_margin() -> None:
    spend = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    history = dict(x=[4, 4, 0], t_x=[38.0, 5.0, 0.0], T=[39.0, 39.0, 39.0], monetary=[50.0, 50.0, 0.0])
    month = 52 / 12

    def value(rate: float, margin: float = 0.25) -> np.ndarray:
        return clv.customer_lifetime_value(
            CDNOW, spend, **history, horizon=24, step=month, discount_rate=rate, margin=margin
        )

    undiscounted = value(0.0)
    two_years = clv.bgnbd_conditional_expected_purchases(CDNOW, 24 * month, [4, 4, 0], [38.0, 5.0, 0.0], 39.0)
    per_purchase = clv.gamma_gamma_expected_spend(spend, [4, 4, 0], [50.0, 50.0, 0.0])
    assert undiscounted == pytest.approx(0.25 * two_years * per_purchase)
    discounted = value(0.01)
    assert np.all(discounted < undiscounted) and np.all(discounted > undiscounted / 1.01**24)
    assert discounted[0] > discounted[1]  # the recent buyer is worth more than the lapsed one
    assert value(0.01, margin=0.0) == pytest.approx([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="horizon"):
        clv.customer_lifetime_value(
            CDNOW, spend, **history, horizon=0, step=month, discount_rate=0.0, margin=1.0
        )


def test_customer_summaries_count_repeat_days_and_the_holdout() -> None:
    rows = [
        ("ann", date(2026, 1, 1), 10.0),
        ("ann", date(2026, 1, 1), 5.0),  # same day: one purchase of 15
        ("ann", date(2026, 1, 15), 20.0),
        ("ann", date(2026, 1, 15), 20.0),
        ("ann", date(2026, 1, 29), 30.0),
        ("ann", date(2026, 2, 20), 99.0),  # holdout
        ("bob", date(2026, 1, 20), 7.0),
        ("bob", date(2026, 3, 20), 7.0),  # after the holdout: ignored
        ("cy", date(2026, 2, 10), 1.0),  # first bought after calibration: not in the cohort
    ]

    weeks = clv.customer_summaries(
        rows, calibration_end=date(2026, 1, 29), holdout_end=date(2026, 2, 26), unit="weeks"
    )
    days = clv.customer_summaries(rows, calibration_end=date(2026, 1, 29), unit="days")

    assert weeks.customers == ["ann", "bob"]
    assert list(weeks.x) == [2, 0]
    assert list(weeks.t_x) == pytest.approx([4.0, 0.0])
    assert list(weeks.T) == pytest.approx([4.0, 9 / 7])
    assert list(weeks.monetary) == pytest.approx([35.0, 0.0])  # (40 + 30) / 2: the first purchase left out
    assert list(weeks.x_holdout) == [1, 0]
    assert weeks.holdout_length == 4.0
    assert list(days.t_x) == [28.0, 0.0] and list(days.T) == [28.0, 9.0]
    assert days.holdout_length == 0.0
    with pytest.raises(ValueError, match="after calibration_end"):
        clv.customer_summaries(rows, calibration_end=date(2026, 1, 29), holdout_end=date(2026, 1, 1))

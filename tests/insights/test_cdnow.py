"""The CDNOW validation: the customer-value model against Fader, Hardie & Lee (2005) on the real data.

The data is the 2,357-customer 1/10th sample of CDNOW's first-quarter-1997 cohort, as shipped in the
`lifetimes` 0.11.3 wheel (its `datasets/CDNOW_sample.txt`). The wheel is fetched with pip into
~/.cache/friday once (sha256 pinned), never committed. Calibration: 1 Jan - 30 Sep 1997 (39 weeks);
holdout: 1 Oct 1997 - 30 Jun 1998 (39 weeks); time in weeks.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from friday.insights import clv
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.once  # pure computation: no database involved

LIFETIMES = "lifetimes==0.11.3"
WHEEL = "Lifetimes-0.11.3-py3-none-any.whl"
WHEEL_SHA256 = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
SAMPLE = "lifetimes/datasets/CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)

# Fader, Hardie & Lee (2005), Marketing Science 24(2), p. 280: BG/NBD on this calibration period.
PUBLISHED_BGNBD = clv.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_BGNBD_LL = -9582.4
# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": the 946 repeat buyers' mean spend.
PUBLISHED_GAMMA_GAMMA = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached_wheel() -> Path:
    cache = Path(os.environ.get("FRIDAY_CACHE_DIR", Path.home() / ".cache" / "friday"))
    wheel = cache / WHEEL
    if wheel.exists() and _sha256(wheel) == WHEEL_SHA256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        argv += ["--disable-pip-version-check", "--timeout", "20", "--retries", "1", "-d", tmp, LIFETIMES]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        found = list(Path(tmp).glob("*.whl"))
        if done.returncode or not found:
            why = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            skip_or_fail(f"CDNOW data: could not download {LIFETIMES} with pip ({why})")
        digest = _sha256(found[0])
        assert digest == WHEEL_SHA256, f"{found[0].name}: sha256 {digest}, pinned {WHEEL_SHA256}"
        os.replace(found[0], wheel)  # atomic: parallel workers never read half a file
    return wheel


@pytest.fixture(scope="module")
def cdnow() -> clv.CustomerSummaries:
    with zipfile.ZipFile(_cached_wheel()) as archive:
        text = archive.read(SAMPLE).decode("ascii")
    rows = []
    for line in text.splitlines():
        # master id, sample id (1..2357), yyyymmdd, CDs bought, dollars
        _, customer, day, _, amount = line.split()
        rows.append((int(customer), date(int(day[:4]), int(day[4:6]), int(day[6:])), float(amount)))
    return clv.customer_summaries(
        rows, calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END, unit="weeks"
    )


def test_cdnow_summaries_are_the_papers_data(cdnow: clv.CustomerSummaries) -> None:
    assert len(cdnow.customers) == 2357
    assert cdnow.x.sum() == 2457  # repeat purchases (distinct days) in weeks 1-39
    assert (cdnow.x == 0).sum() == 1411
    assert cdnow.T.max() == pytest.approx(272 / 7)  # first bought 1 Jan, observed to 30 Sep
    assert cdnow.holdout_length == 39.0
    assert cdnow.x_holdout.sum() == 1882  # purchases (distinct days) in weeks 40-78
    # customer 1 bought on 1 Jan, 18 Jan and 2 Aug 1997: x = 2, t_x = 213 days, mean repeat spend $22.345
    first = cdnow.customers.index(1)
    assert (cdnow.x[first], cdnow.t_x[first] * 7, cdnow.monetary[first]) == pytest.approx((2, 213, 22.345))


def test_cdnow_bgnbd_fit_matches_the_published_parameters(cdnow: clv.CustomerSummaries) -> None:
    params, report = clv.bgnbd_fit(cdnow.x, cdnow.t_x, cdnow.T)

    assert report.converged, report.message
    assert report.n == 2357
    for name in ("r", "alpha", "a", "b"):
        # published to three decimals: ours must round to within 0.2% of them
        assert getattr(params, name) == pytest.approx(getattr(PUBLISHED_BGNBD, name), rel=2e-3), name
    assert report.log_likelihood == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.05)
    # the published parameters, plugged in, sit at the same optimum
    at_published = clv.bgnbd_log_likelihood(PUBLISHED_BGNBD, cdnow.x, cdnow.t_x, cdnow.T).sum()
    assert at_published == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.05)
    assert at_published <= report.log_likelihood


def test_cdnow_holdout_predictions_against_actual_purchases(cdnow: clv.CustomerSummaries) -> None:
    params, _ = clv.bgnbd_fit(cdnow.x, cdnow.t_x, cdnow.T)

    # calibration fit: expected repeat purchases given each customer's time since the first, eq. (7)
    calibration = clv.bgnbd_expected_purchases(params, cdnow.T).sum()
    assert calibration == pytest.approx(2493.9, abs=0.5)
    assert calibration == pytest.approx(cdnow.x.sum(), rel=0.02)

    # holdout, customer by customer, eq. (10)
    predicted = clv.bgnbd_conditional_expected_purchases(params, 39.0, cdnow.x, cdnow.t_x, cdnow.T)
    assert predicted.sum() == pytest.approx(1653.4, abs=0.5)
    # BG/NBD under-forecasts CDNOW's weeks 40-78 by 12%: within 15% of the 1,882 actual purchases
    assert predicted.sum() == pytest.approx(cdnow.x_holdout.sum(), rel=0.15)
    # the same total from the cohort curve, eq. (7): the model is self-consistent
    cohort = clv.bgnbd_expected_purchases(params, cdnow.T + 39) - clv.bgnbd_expected_purchases(
        params, cdnow.T
    )
    assert cohort.sum() == pytest.approx(predicted.sum(), rel=0.02)

    # the conditional-expectations table (FHL 2005, Figure 4): mean predicted vs actual by frequency
    table = {}
    for x in range(7):
        group = cdnow.x == x if x < 6 else cdnow.x >= 6
        table[x] = (predicted[group].mean(), cdnow.x_holdout[group].mean(), int(group.sum()))
    assert table[0] == pytest.approx((0.225, 0.237, 1411), abs=5e-3)
    assert table[1] == pytest.approx((0.523, 0.697, 439), abs=5e-3)
    assert table[6][2] == 93
    means = [table[x][0] for x in range(7)]
    assert means == sorted(means)  # more purchases before, more expected after
    for x, (mean_predicted, mean_actual, _) in table.items():
        assert mean_predicted == pytest.approx(mean_actual, rel=0.3), x
    correlation = np.corrcoef(predicted, cdnow.x_holdout)[0, 1]
    assert correlation > 0.6


def test_cdnow_gamma_gamma_fit_matches_the_published_parameters(cdnow: clv.CustomerSummaries) -> None:
    repeat = cdnow.x > 0
    params, report = clv.gamma_gamma_fit(cdnow.x, cdnow.monetary)

    assert report.converged, report.message
    assert report.n == int(repeat.sum()) == 946
    for name in ("p", "q", "gamma"):
        assert getattr(params, name) == pytest.approx(getattr(PUBLISHED_GAMMA_GAMMA, name), rel=2e-3), name
    assert report.log_likelihood == pytest.approx(-4055.92, abs=0.05)
    # the model's premise: spend and frequency are (nearly) uncorrelated among repeat buyers
    assert abs(np.corrcoef(cdnow.x[repeat], cdnow.monetary[repeat])[0, 1]) < 0.15
    # the population mean spend γp/(q-1) and the shrinkage of one customer's mean towards it
    population = clv.gamma_gamma_expected_spend(params, 0, 0)
    assert population == pytest.approx(params.gamma * params.p / (params.q - 1))
    assert population == pytest.approx(35.2, abs=0.1)
    one = cdnow.customers.index(1)
    expected = clv.gamma_gamma_expected_spend(params, cdnow.x[one], cdnow.monetary[one])
    assert cdnow.monetary[one] < expected < population


def test_cdnow_customer_lifetime_value(cdnow: clv.CustomerSummaries) -> None:
    transactions, _ = clv.bgnbd_fit(cdnow.x, cdnow.t_x, cdnow.T)
    spend, _ = clv.gamma_gamma_fit(cdnow.x, cdnow.monetary)
    months = dict(horizon=12, step=52 / 12, margin=0.3)

    value = clv.customer_lifetime_value(
        transactions, spend, cdnow.x, cdnow.t_x, cdnow.T, cdnow.monetary, discount_rate=0.01, **months
    )
    undiscounted = clv.customer_lifetime_value(
        transactions, spend, cdnow.x, cdnow.t_x, cdnow.T, cdnow.monetary, discount_rate=0.0, **months
    )

    year = clv.bgnbd_conditional_expected_purchases(transactions, 52.0, cdnow.x, cdnow.t_x, cdnow.T)
    per_purchase = clv.gamma_gamma_expected_spend(spend, cdnow.x, cdnow.monetary)
    assert undiscounted == pytest.approx(0.3 * year * per_purchase)
    assert np.all(value < undiscounted) and np.all(value > undiscounted / 1.01**12)
    assert np.isfinite(value).all() and (value >= 0).all()
    best = int(np.argmax(value))
    assert cdnow.x[best] >= 10

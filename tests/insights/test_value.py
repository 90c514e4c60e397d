"""The customer-value model in the product: RFM scored by hand on a constructed set; the fit job stores its fit
and writes every row's P(alive), expected purchases and CLV (the same numbers the model's functions give); no
usable fit leaves them null and says why; the events sweep still gives what a full recompute gives."""

from __future__ import annotations

import datetime as dt
import io
import math
from decimal import Decimal as D

import numpy as np
import pytest
import time_machine

from friday.core import clock
from friday.insights import clv, metrics, rfm, value
from friday.insights.models import CustomerMetrics, CustomerValueFit
from friday.parties.models import Party, PartyKind
from tests.conftest import make_person

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
# CDNOW's BG/NBD parameters (Fader, Hardie & Lee 2005) in days: alpha carries the unit.
DAILY = clv.BGNBDParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)


@pytest.mark.once
def test_quintile_cuts_scores_and_the_grid():
    # given ten distinct values, the cuts are the 2nd, 4th, 6th and 8th
    assert rfm.cuts([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]) == [2, 4, 6, 8]
    assert [rfm.score(v, [2, 4, 6, 8]) for v in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # ties: most bought once, so 1 scores 1 and 2 jumps to 3 (equal customers are never split)
    assert rfm.cuts([1, 1, 1, 1, 2, 2, 3, 4, 5, 8]) == [1, 1, 2, 4]
    assert [rfm.score(v, [1, 1, 2, 4]) for v in (1, 2, 3, 4, 5)] == [1, 3, 4, 4, 5]
    assert rfm.cuts([7]) == [7, 7, 7, 7] and rfm.cuts([]) == []
    assert rfm.segment(5, 5, 5) == rfm.Segment.CHAMPIONS
    assert rfm.segment(5, 1, 1) == rfm.Segment.NEW
    assert rfm.segment(4, 1, 4) == rfm.Segment.POTENTIAL  # FM = (1 + 4) // 2 = 2
    assert rfm.segment(3, 5, 1) == rfm.Segment.LOYAL
    assert rfm.segment(2, 3, 4) == rfm.Segment.AT_RISK
    assert rfm.segment(1, 5, 5) == rfm.Segment.CANT_LOSE
    assert rfm.segment(2, 2, 2) == rfm.Segment.HIBERNATING
    assert rfm.segment(1, 1, 2) == rfm.Segment.LOST
    # every cell of the grid has exactly one name, and every name is used
    named = {rfm.segment(r, fm, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert named == set(rfm.Segment)


# (last purchase in Jan 2026, purchases, revenue) and the hand-worked (R, F, M, segment): the cuts are
# recency 2, 4, 6, 8 Jan; frequency 1, 1, 2, 4; monetary 150, 300, 500, 700.
RFM_SET = [
    (1, 8, "1000", (1, 5, 5, "cant_lose")),
    (2, 1, "100", (1, 1, 1, "lost")),
    (3, 1, "200", (2, 1, 2, "hibernating")),
    (4, 2, "300", (2, 3, 2, "hibernating")),
    (5, 2, "400", (3, 3, 3, "loyal")),
    (6, 3, "500", (3, 4, 3, "loyal")),
    (7, 1, "600", (4, 1, 4, "potential_loyalists")),
    (8, 4, "700", (4, 4, 4, "champions")),
    (9, 1, "150", (5, 1, 1, "new")),
    (10, 5, "900", (5, 5, 5, "champions")),
]


def rfm_customers(cast) -> list[Party]:
    """The ten customers of RFM_SET: the first eight Alice's (team Red), the last two Bob's (team Blue)."""
    parties = []
    for i, (day, purchases, revenue, _) in enumerate(RFM_SET):
        owner = cast.alice if i < 8 else cast.bob
        party = make_person(owner, f"C{day:02d}", "Rfm", roles=["customer"])
        last = dt.date(2026, 1, day)
        CustomerMetrics.objects.create(
            party=party,
            owner=party.owner,
            team=party.team,
            currency="GBP",
            revenue=D(revenue),
            gross_profit=D(revenue) / 2,
            purchases=purchases,
            first_purchase_on=last - dt.timedelta(days=30 * (purchases - 1)),
            last_purchase_on=last,
            repeat_revenue=D(revenue) / 2 if purchases > 1 else D(0),
            as_of=NOW,
        )
        parties.append(party)
    return parties


def test_rfm_on_a_constructed_set_and_no_model_below_the_minimum(cast):
    parties = rfm_customers(cast)
    with time_machine.travel(NOW, tick=False):
        result = value.fit()
    fit = result.fit
    assert result.rows == 10 and fit.customers == 10 and fit.repeat_customers == 6
    assert fit.rfm_cuts == {
        "recency": ["2026-01-02", "2026-01-04", "2026-01-06", "2026-01-08"],
        "frequency": [1, 1, 2, 4],
        "monetary": ["150.00", "300.00", "500.00", "700.00"],
    }
    rows = {m.party_id: m for m in CustomerMetrics.objects.all()}
    for party, (_, _, _, (r, f, m, segment)) in zip(parties, RFM_SET, strict=True):
        row = rows[party.pk]
        assert (row.rfm_recency, row.rfm_frequency, row.rfm_monetary, row.rfm_segment) == (r, f, m, segment)
    # ten customers are too few for the model: the columns stay null and the fit says why
    assert not fit.purchases_usable and not fit.value_usable
    assert fit.note == "Only 10 customers have bought; the model needs at least 50."
    assert all(row.p_alive is None and row.clv_12m is None for row in rows.values())
    assert all(row.value_fit_id == fit.pk for row in rows.values())


def _parties(n: int, owner) -> list[Party]:
    stamp = clock.now()
    made = Party.objects.bulk_create(
        [
            Party(
                kind=PartyKind.PERSON,
                given_name=f"Sim{i}",
                display_name=f"Sim{i}",
                sort_name=f"sim{i}",
                owner=owner,
                created_at=stamp,
                updated_at=stamp,
            )
            for i in range(n)
        ]
    )
    return list(Party.objects.filter(pk__in=[p.pk for p in made]).order_by("pk"))


def simulated_customers(owner, n: int = 400, seed: int = 7) -> list[CustomerMetrics]:
    """Customers drawn from the BG/NBD with CDNOW's parameters, first purchases over the last year, and a spend
    per purchase around 40 (Gamma-Gamma); their rows written as the recompute would write them."""
    rng = np.random.default_rng(seed)
    T = np.ceil(rng.uniform(20, 365, n))
    x, t_x, _ = clv.bgnbd_simulate(DAILY, T, rng)
    t_x = np.where(x > 0, np.clip(np.floor(t_x), 1, T), 0)
    nu = rng.gamma(6.0, 1 / 240.0, n)  # mean spend p/nu = 6 / (6/240) = 240 … per customer, varied
    rows = []
    for party, xi, txi, Ti, nui in zip(_parties(n, owner), x, t_x, T, nu, strict=True):
        first = TODAY - dt.timedelta(days=int(Ti))
        amounts = rng.gamma(6.0, 1 / nui, int(xi) + 1).round(2)
        revenue = D(str(round(float(amounts.sum()), 2)))
        rows.append(
            CustomerMetrics(
                party=party,
                owner=party.owner,
                team=party.team,
                currency="GBP",
                revenue=revenue,
                costs=revenue * D("0.6"),
                gross_profit=revenue - revenue * D("0.6"),
                purchases=int(xi) + 1,
                first_purchase_on=first,
                last_purchase_on=first + dt.timedelta(days=int(txi)),
                repeat_revenue=D(str(round(float(amounts[1:].sum()), 2))),
                as_of=NOW,
            )
        )
    return CustomerMetrics.objects.bulk_create(rows)


def test_the_fit_job_stores_its_fit_and_writes_every_row(cast, settings, django_assert_max_num_queries):
    settings.FRIDAY_CLV_DISCOUNT = "0.02"
    simulated_customers(cast.alice)
    nobody = make_person(cast.alice, "Never", "Bought", roles=["customer"])
    CustomerMetrics.objects.create(party=nobody, currency="GBP", as_of=NOW)
    with time_machine.travel(NOW, tick=False):
        result = value.fit(batch=150)  # three batches
    fit = CustomerValueFit.objects.get()
    assert result.fit == fit and result.rows == 401
    assert fit.purchases_usable and fit.value_usable and fit.note == ""
    assert fit.bgnbd_converged and fit.gg_converged and fit.customers == 400
    assert fit.as_of == NOW and fit.bgnbd_log_likelihood < 0 and fit.seconds > 0
    assert fit.margin == D("0.4000") and fit.discount_monthly == D("0.02")
    params = clv.BGNBDParams(fit.bgnbd_r, fit.bgnbd_alpha, fit.bgnbd_a, fit.bgnbd_b)
    spend = clv.GammaGammaParams(fit.gg_p, fit.gg_q, fit.gg_gamma)
    rows = list(CustomerMetrics.objects.exclude(party=nobody).order_by("party_id"))
    assert all(r.value_fit_id == fit.pk for r in rows)
    x = np.array([r.purchases - 1 for r in rows], dtype=float)
    t_x = np.array([(r.last_purchase_on - r.first_purchase_on).days for r in rows], dtype=float)
    T = np.array([(TODAY - r.first_purchase_on).days for r in rows], dtype=float)
    m = np.array([float(r.repeat_revenue) / xi if xi else 0.0 for r, xi in zip(rows, x, strict=True)])
    alive = clv.bgnbd_probability_alive(params, x, t_x, T)
    expected = clv.bgnbd_conditional_expected_purchases(params, 365.25, x, t_x, T)
    worth = clv.customer_lifetime_value(
        params, spend, x, t_x, T, m, horizon=12, step=365.25 / 12, discount_rate=0.02, margin=0.4
    )
    for i, row in enumerate(rows):
        assert float(row.p_alive) == pytest.approx(alive[i], abs=0.00005)
        assert float(row.expected_purchases_12m) == pytest.approx(expected[i], abs=0.005)
        assert float(row.clv_12m) == pytest.approx(worth[i], abs=0.005)
        if row.purchases == 1:
            assert row.p_alive == D("1.0000")  # no repeat purchase: BG/NBD cannot see a dropout
        stopped = any(r["code"] == "stopped" for r in row.risk_reasons)
        assert stopped is (row.purchases >= 2 and row.p_alive < D("0.3"))
    assert any(r["code"] == "stopped" for row in rows for r in row.risk_reasons)  # the case occurs
    with django_assert_max_num_queries(
        16
    ):  # a count; per batch of 200 (and the empty last) a read, one UPDATE, a savepoint
        assert value.rescore(fit, batch=200) == 401
    never = CustomerMetrics.objects.get(party=nobody)
    assert never.p_alive is None and never.clv_12m is None and never.rfm_segment == ""


def _ada_fit() -> CustomerValueFit:
    """A stored fit with CDNOW's parameters in days (as if fitted), 50% margin, 1% a month."""
    return CustomerValueFit.objects.create(
        as_of=NOW - dt.timedelta(hours=10),
        customers=100,
        repeat_customers=40,
        bgnbd_r=DAILY.r,
        bgnbd_alpha=DAILY.alpha,
        bgnbd_a=DAILY.a,
        bgnbd_b=DAILY.b,
        bgnbd_converged=True,
        gg_p=6.25,
        gg_q=3.74,
        gg_gamma=15.44,
        gg_converged=True,
        margin=D("0.5"),
        discount_monthly=D("0.01"),
        purchases_usable=True,
        value_usable=True,
        rfm_cuts=rfm.stored_cuts(
            [dt.date(2026, 1, d) for d in (1, 2, 3, 4, 5)], [1, 1, 2, 3, 4], [D(100), D(200), D(300), D(400)]
        ),
    )


def test_compute_scores_against_the_stored_fit_and_the_sweep_still_equals_the_recompute(cast, job_process):
    from tests.insights.test_metrics import _history, _rows, at

    with time_machine.travel(at(2026, 1, 1, 8, 0), tick=False):
        metrics.sweep()
    ada, bo = _history(cast, job_process)
    fit = _ada_fit()
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False):
        assert metrics.sweep() >= 1
        incremental = _rows()
        CustomerMetrics.objects.all().delete()
        metrics.recompute(restart=True)
        assert _rows() == incremental
        value.rescore(fit)  # the fit job's rescoring writes what compute wrote
        assert _rows() == incremental
    row = CustomerMetrics.objects.get(party=ada)
    # Ada: paid on 1 Feb, 3 Mar and 2 May 2026 (500, 200, 99.99), figures as of 15 Jun: x = 2 repeat purchases,
    # t_x = 90 days, T = 134 days. P(alive) = 1 / (1 + a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)), FHL 2008 eq. (2).
    r, alpha, a, b = DAILY.r, DAILY.alpha, DAILY.a, DAILY.b
    odds = a / (b + 2 - 1) * ((alpha + 134) / (alpha + 90)) ** (r + 2)
    assert float(row.p_alive) == pytest.approx(1 / (1 + odds), abs=0.00005)
    assert row.repeat_revenue == D("299.99") and row.value_fit_id == fit.pk
    assert row.expected_purchases_12m is not None and row.clv_12m is not None and row.clv_12m > 0
    # RFM against the fit's cuts: last purchase 2 May is past every recency cut (5), 3 purchases exceed 1, 1, 2
    # (4), revenue 799.99 exceeds every monetary cut (5): FM = 4, a champion.
    assert (row.rfm_recency, row.rfm_frequency, row.rfm_monetary, row.rfm_segment) == (5, 4, 5, "champions")
    untouched = CustomerMetrics.objects.get(party=bo)  # never bought: no model figures
    assert untouched.p_alive is None and untouched.rfm_segment == "" and untouched.value_fit_id == fit.pk


def test_the_party_page_shows_the_model_with_the_fit_time_or_why_not(cast, job_process, web_for):
    from tests.insights.test_metrics import _history, at

    ada, _ = _history(cast, job_process)
    alice = web_for(cast.alice)
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False):
        metrics.recompute()
    page = alice.get(f"/parties/{ada.pk}/").content.decode()
    assert "The customer-value model has not been fitted yet" in page and 'id="party-clv"' not in page
    _ada_fit()
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False):
        metrics.recompute(restart=True)
    row = CustomerMetrics.objects.get(party=ada)
    page = alice.get(f"/parties/{ada.pk}/").content.decode()
    assert f"{int(100 * row.p_alive)}% chance" in page
    assert f"{row.expected_purchases_12m} purchases expected" in page
    assert 'id="party-clv"' in page and "50.0% gross margin, discounted 1% a month" in page
    assert "model fitted 15 Jun 2026 02:00" in page and "Champions" in page
    CustomerValueFit.objects.create(
        as_of=NOW,
        discount_monthly=D("0.01"),
        note="Only 3 customers have bought; the model needs at least 50.",
    )
    with time_machine.travel(at(2026, 6, 15, 13, 0), tick=False):
        metrics.recompute(restart=True)
    page = alice.get(f"/parties/{ada.pk}/").content.decode()
    assert "Only 3 customers have bought; the model needs at least 50." in page and "% chance" not in page


def test_a_fit_that_does_not_converge_leaves_the_columns_null(cast):
    # Sixty customers who bought twice exactly a day apart, long ago: nothing to tell rates from dropout.
    for row in simulated_customers(cast.alice, n=60, seed=3):
        row.purchases, row.last_purchase_on = 2, row.first_purchase_on + dt.timedelta(days=1)
        row.repeat_revenue = D(10)
        row.save()
    with time_machine.travel(NOW, tick=False):
        fit = value.fit().fit
    assert not fit.bgnbd_converged and not fit.purchases_usable and fit.bgnbd_r is not None
    # Which way the optimiser fails depends on the processor (one ran a parameter to its bound, another's line
    # search gave up): either way the note says so in words, never the optimiser's code.
    assert fit.note.startswith("The repeat-buying model (BG/NBD) did not converge: ")
    assert fit.note.endswith("so these purchase histories cannot pin the model down.")
    assert "ABNORMAL" not in fit.note
    assert not CustomerMetrics.objects.filter(p_alive__isnull=False).exists()
    assert CustomerMetrics.objects.exclude(rfm_segment="").count() == 60  # RFM needs no model


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH; a parameter is at its bound", "ran to its limit"),
        ("ABNORMAL: ", "too flat to find a best fit (the optimiser gave up after 23 iterations)"),
        ("STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT", "stopped after 23 iterations (STOP: TOTAL NO."),
        ("", "stopped after 23 iterations (no reason given)"),
    ],
)
def test_why_a_fit_did_not_converge_is_said_in_words(message, said):
    report = clv.FitReport(
        log_likelihood=-1.0,
        converged=False,
        message=message,
        iterations=23,
        evaluations=40,
        n=60,
        seconds=0.1,
    )
    assert said in value._why(report)


def test_too_few_repeat_customers_means_no_model(cast):
    rows = simulated_customers(cast.alice, n=60, seed=5)
    for row in rows[19:]:  # keep 19 repeat customers at most
        row.purchases, row.last_purchase_on, row.repeat_revenue = 1, row.first_purchase_on, D(0)
        row.save()
    repeat = sum(1 for row in rows[:19] if row.purchases > 1)
    with time_machine.travel(NOW, tick=False):
        fit = value.fit().fit
    assert fit.repeat_customers == repeat < value.MIN_REPEAT and fit.bgnbd_r is None
    assert fit.note == (
        f"Only {repeat} customers have bought more than once; the model needs at least 20 to tell who stopped buying."
    )


def test_the_command_refuses_a_bad_discount_by_name(db, settings):
    from django.core.management import CommandError, call_command

    settings.FRIDAY_CLV_DISCOUNT = "12%"
    with pytest.raises(CommandError, match=r"FRIDAY_CLV_DISCOUNT must be a number such as 0\.01, not '12%'"):
        call_command("insights", "fit")
    assert not CustomerValueFit.objects.exists()


@pytest.mark.once
def test_the_discount_setting_is_checked(settings):
    settings.FRIDAY_CLV_DISCOUNT = "0.5"
    assert value.discount_monthly() == D("0.5")
    for bad in ("-0.1", "1", "lots", "nan"):
        settings.FRIDAY_CLV_DISCOUNT = bad
        with pytest.raises(ValueError, match="FRIDAY_CLV_DISCOUNT"):
            value.discount_monthly()
    assert math.isclose(value.MONTH_DAYS * 12, value.YEAR_DAYS)


@pytest.mark.django_db(transaction=True)
def test_the_worker_fits_the_model_after_the_nightly_recompute(cast, run_worker):
    from friday.insights import tasks

    ada = make_person(cast.alice, "Ada", roles=["customer"])
    with time_machine.travel(NOW, tick=False):
        tasks.insights_recompute.enqueue()
        run_worker()  # the recompute, then the fit it enqueued when it finished
    fit = CustomerValueFit.objects.get()
    assert fit.as_of == NOW and fit.customers == 0
    assert fit.note == "Only 0 customers have bought; the model needs at least 50."
    assert CustomerMetrics.objects.get(party=ada).value_fit_id == fit.pk


def test_the_command_fits_and_says_what_it_found(cast):
    from django.core.management import call_command

    simulated_customers(cast.alice, n=200, seed=11)
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("insights", "fit", "--batch", "64", stdout=out)
    text = out.getvalue()
    fit = CustomerValueFit.objects.get()
    assert (
        f"Fitted on 200 customers who bought ({fit.repeat_customers:,} more than once); 200 rows rescored"
        in text
    )
    assert f"r={fit.bgnbd_r:.4g} alpha={fit.bgnbd_alpha:.4g}" in text and "converged in" in text
    assert "Gross margin 40.0%; discount 1.00% a month." in text
    assert "P(alive), expected purchases and CLV are shown." in text

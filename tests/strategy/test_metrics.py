"""Each metric of the catalog against the constructed history (tests/strategy/conftest.py), worked out by hand for
April, May and June 2026 (June to date: the 15th, noon) — and in a fixed number of queries however many periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from friday.strategy import metrics, periods
from friday.strategy.models import Period
from tests.strategy.conftest import TODAY, at


def figures(key: str, count: int = 3, **params) -> list[D | None]:
    with time_machine.travel(at(*TODAY), tick=False):
        spans = periods.spans(Period.MONTH, count=count, today=dt.date(2026, 6, 15))
        metric = metrics.get(key)
        assert metric is not None
        return metric.compute(spans, metrics.Ask(params=params, now=at(*TODAY), period=Period.MONTH))


def test_the_periods_are_calendar_months_quarters_years_and_rolling_windows():
    today = dt.date(2026, 6, 15)
    months = periods.spans(Period.MONTH, count=3, today=today)
    assert [(s.start, s.end, s.upto, s.label) for s in months] == [
        (dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 5, 1), "Apr 2026"),
        (dt.date(2026, 5, 1), dt.date(2026, 6, 1), dt.date(2026, 6, 1), "May 2026"),
        (dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 6, 16), "Jun 2026"),
    ]
    assert months[-1].elapsed == D(15) / D(30) and months[0].complete and not months[-1].complete
    quarters = periods.spans(Period.QUARTER, count=2, today=today)
    assert [(s.start, s.end, s.label) for s in quarters] == [
        (dt.date(2026, 1, 1), dt.date(2026, 4, 1), "Q1 2026"),
        (dt.date(2026, 4, 1), dt.date(2026, 7, 1), "Q2 2026"),
    ]
    years = periods.spans(Period.YEAR, count=2, today=today)
    assert [(s.start, s.end) for s in years] == [
        (dt.date(2025, 1, 1), dt.date(2026, 1, 1)),
        (dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ]
    rolling = periods.spans(Period.ROLLING, count=2, today=today, rolling_days=30)
    assert [(s.start, s.end, s.complete) for s in rolling] == [
        (dt.date(2026, 4, 17), dt.date(2026, 5, 17), True),
        (dt.date(2026, 5, 17), dt.date(2026, 6, 16), True),
    ]
    january = periods.spans(Period.MONTH, count=2, today=dt.date(2027, 1, 1))
    assert [s.start for s in january] == [dt.date(2026, 12, 1), dt.date(2027, 1, 1)]


def test_revenue_is_paid_invoices_by_the_day_paid(history):
    # April: Ada 1000. May: Ada 500 + Cy 300. June: Bea 200 (an April invoice paid 2 June) + Ada 400; Dee unpaid.
    assert figures("revenue") == [D("1000.00"), D("800.00"), D("600.00")]


def test_retention_is_last_periods_buyers_who_bought_again(history):
    # Buyers by the day a paid invoice was issued: March {Cy}; April {Ada, Bea}; May {Ada, Cy}; June {Ada}.
    # April: of {Cy}, nobody → 0%. May: of {Ada, Bea}, Ada → 50%. June: of {Ada, Cy}, Ada → 50%.
    assert figures("retention") == [D("0.0"), D("50.0"), D("50.0")]


def test_gross_margin_is_the_four_corners_profit_over_revenue(history):
    # April (1000 − 0) / 1000; May (800 − 50) / 800 = 93.75 → 93.8; June (600 − 250) / 600 = 58.33 → 58.3.
    assert figures("gross_margin") == [D("100.0"), D("93.8"), D("58.3")]


def test_lost_value_is_the_deals_lost_in_the_period(history):
    assert figures("lost_value") == [D("0.00"), D("1500.00"), D("4000.00")]


def test_nps_is_promoters_less_detractors_and_none_without_answers(history):
    assert figures("nps") == [D("33.3"), None, D("-25.0")]


def test_new_in_stage_counts_each_party_entering_once(history):
    assert figures("new_in_stage", stage="qualified") == [D(1), D(1), D(2)]
    assert figures("new_in_stage", stage="prospect") == [D(0), D(0), D(1)]


def test_overdue_reminders_at_the_end_of_each_period_and_now(history):
    # More than 2 days overdue: R1 at each moment; R2 was 1 day 15 hours late at the end of April, done by May's
    # end; R3 is 2 days 3 hours late now, R4 1 day 3 hours.
    assert figures("overdue_reminders", days=2) == [D(1), D(1), D(2)]
    assert figures("overdue_reminders", days=0) == [D(2), D(1), D(3)]  # R2 too at April's end; R4 now


@pytest.mark.parametrize("key", [m.key for m in metrics.catalog()])
def test_each_metric_costs_the_same_queries_for_three_periods_or_twelve(history, key):
    params = (
        {"stage": "qualified"} if key == "new_in_stage" else {"days": 2} if key == "overdue_reminders" else {}
    )
    counts = []
    for count in (3, 12):
        with CaptureQueriesContext(connection) as ctx:
            figures(key, count=count, **params)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] and counts[0] <= 4


def test_every_metric_says_how_and_links_to_what_moves_it(history):
    for metric in metrics.catalog():
        assert metric.how.endswith(".") and metric.unit in metrics.UNITS
        links = metric.links({p.name: p.default for p in metric.params})
        assert links and all(link.url.startswith("/") for link in links)
    retention = {link.url for link in metrics.get("retention").links({})}  # type: ignore[union-attr]
    assert "/insights/at-risk/" in retention


def test_retention_links_to_the_at_risk_segment_and_the_check_in_rule_once_installed(cast, london):
    from friday.automation.models import Rule
    from friday.automation.starters import install
    from friday.processes.models import Segment

    before = metrics.get("retention").links({})  # type: ignore[union-attr]
    assert [link.label for link in before] == [
        "Customers at risk",
        "Install the check-in rule for customers at risk",
        "Best customers",
    ]
    install(by=cast.admin)
    rule = Rule.objects.get(name="Check in with customers at risk")
    segment = Segment.objects.get(name="Customers at risk")
    after = {link.url: link.label for link in metrics.get("retention").links({})}  # type: ignore[union-attr]
    assert after[f"/automation/{rule.pk}/"] == "The check-in rule for customers at risk (off)"
    assert after[f"/segments/{segment.pk}/"] == "The segment of customers at risk"
    assert after["/insights/at-risk/"] == "Customers at risk"


def test_money_metrics_are_in_the_business_currency_set_on_the_business_page(history):
    """The currency is the Business row's (the guide, the Business page), not the environment's: once the
    business works in euros, the pound invoices of the history are left out, as on the four corners."""
    from friday.core import business
    from friday.core.models import Business

    assert figures("revenue")[0] == D("1000.00")
    business.currency()  # the row exists
    Business.objects.filter(pk=1).update(currency="EUR")
    business.forget()
    assert figures("revenue") == [D("0.00"), D("0.00"), D("0.00")]

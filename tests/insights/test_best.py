"""The Best page: customers ranked by profit and by lifetime value, RFM segments with their lists, suppliers by
reliability and by cost — hand-computed on constructed sets, scoped to the user, downloadable as CSV; and the RFM
and CLV segment filters, with a bad one refused naming its field."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal as D

import pytest
import time_machine

from friday.core import clock
from friday.core.errors import ValidationFailed
from friday.insights import value
from friday.insights.models import CustomerMetrics
from friday.jobs.services import CostIn, JobIn, cost_add, job_create
from friday.processes.segments import clean_filters, segment_count
from friday.reminders.services import ReminderIn, reminder_cancel, reminder_create, reminder_done
from tests.conftest import make_org, make_person
from tests.insights.test_value import NOW, rfm_customers


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _order(page: str, table: str) -> list[int]:
    """The data-party ids of a table's rows, in order."""
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [int(pk) for pk in re.findall(r'data-party="(\d+)"', body)]


@pytest.fixture
def rfm_set(cast):
    parties = rfm_customers(cast)  # C01…C08 Alice's, C09 and C10 Bob's
    with time_machine.travel(NOW, tick=False):
        value.fit()
    return parties


def test_customers_by_profit_and_the_segments_within_what_each_user_sees(cast, web_for, rfm_set):
    c = {i + 1: p for i, p in enumerate(rfm_set)}
    alice, bob = web_for(cast.alice), web_for(cast.bob)
    page = alice.get("/insights/best/").content.decode()
    # gross profit is half the revenue: C01 500, C08 350, C07 300, C06 250, C05 200, C04 150, C03 100, C02 50
    assert _order(page, "best-profit") == [c[i].pk for i in (1, 8, 7, 6, 5, 4, 3, 2)]
    assert "No lifetime values: Only 10 customers have bought; the model needs at least 50." in page
    assert f'data-party="{c[9].pk}"' not in page and f'data-party="{c[10].pk}"' not in page
    assert _order(bob.get("/insights/best/").content.decode(), "best-profit") == [c[10].pk, c[9].pk]
    # Alice's eight by segment, as worked by hand in test_value.RFM_SET
    rows = _csv(alice.get("/insights/best/?format=csv&part=rfm"))
    assert rows == [
        ["segment", "label", "customers", "customers_percent", "revenue", "revenue_percent", "currency"],
        ["champions", "Champions", "1", "13", "700.00", "18", "GBP"],
        ["loyal", "Loyal", "2", "25", "900.00", "24", "GBP"],
        ["potential_loyalists", "Potential loyalists", "1", "13", "600.00", "16", "GBP"],
        ["new", "New", "0", "0", "0.00", "0", "GBP"],
        ["at_risk", "At risk", "0", "0", "0.00", "0", "GBP"],
        ["cant_lose", "Can't lose them", "1", "13", "1000.00", "26", "GBP"],
        ["hibernating", "Hibernating", "2", "25", "500.00", "13", "GBP"],
        ["lost", "Lost", "1", "13", "100.00", "3", "GBP"],
    ]
    assert 'href="/insights/best/rfm/champions/"' in page and 'id="rfm-grid"' in page
    # each segment links to its customers, within what the user sees
    assert _order(alice.get("/insights/best/rfm/champions/").content.decode(), "segment-members") == [c[8].pk]
    assert _order(bob.get("/insights/best/rfm/champions/").content.decode(), "segment-members") == [c[10].pk]
    manager = web_for(cast.manager)
    assert _order(manager.get("/insights/best/rfm/champions/").content.decode(), "segment-members") == [
        c[10].pk,  # 900 before 700
        c[8].pk,
    ]
    members = _csv(manager.get("/insights/best/rfm/champions/?format=csv"))
    assert members[0] == [
        "party_id",
        "customer",
        "r",
        "f",
        "m",
        "purchases",
        "last_purchase_on",
        "revenue",
        "gross_profit",
        "clv_12m",
    ]
    assert members[1:] == [
        [str(c[10].pk), "C10 Rfm", "5", "5", "5", "5", "2026-01-10", "900.00", "450.00", ""],
        [str(c[8].pk), "C08 Rfm", "4", "4", "4", "4", "2026-01-08", "700.00", "350.00", ""],
    ]
    assert manager.get("/insights/best/rfm/nobody/").status_code == 404
    assert alice.get("/insights/best/?format=csv&part=secrets").status_code == 400


def test_customers_by_lifetime_value_and_the_csv(cast, web_for, rfm_set):
    c = {i + 1: p for i, p in enumerate(rfm_set)}
    fit = value.current_fit()
    fit.purchases_usable = fit.value_usable = True
    fit.margin, fit.note = D("0.5"), ""
    fit.save()
    for i, worth in ((1, "120.50"), (5, "900.00"), (8, "450.25"), (10, "2000.00")):
        CustomerMetrics.objects.filter(party=c[i]).update(clv_12m=D(worth), p_alive=D("0.8123"))
    alice = web_for(cast.alice)
    page = alice.get("/insights/best/?top=10").content.decode()
    assert _order(page, "best-clv") == [c[5].pk, c[8].pk, c[1].pk]  # Bob's 2,000 is not Alice's to see
    assert "81%" in page and "gross margin 50.0%, discounted 1% a month" in page
    rows = _csv(alice.get("/insights/best/?format=csv&part=clv&top=10"))
    assert rows == [
        ["rank", "party_id", "customer", "gross_profit", "revenue", "clv_12m", "currency"],
        ["1", str(c[5].pk), "C05 Rfm", "200.00", "400.00", "900.00", "GBP"],
        ["2", str(c[8].pk), "C08 Rfm", "350.00", "700.00", "450.25", "GBP"],
        ["3", str(c[1].pk), "C01 Rfm", "500.00", "1000.00", "120.50", "GBP"],
    ]
    top_two = _csv(alice.get("/insights/best/?format=csv&part=profit&top=10"))[1:3]
    assert [r[:3] for r in top_two] == [["1", str(c[1].pk), "C01 Rfm"], ["2", str(c[8].pk), "C08 Rfm"]]


def test_a_name_is_not_run_as_a_spreadsheet_formula(cast, web_for):
    evil = make_person(cast.alice, "=HYPERLINK(1)", "x", roles=["customer"])
    CustomerMetrics.objects.create(
        party=evil,
        owner=cast.alice,
        team=cast.red,
        currency="GBP",
        revenue=D(10),
        gross_profit=D(10),
        as_of=NOW,
    )
    rows = _csv(web_for(cast.alice).get("/insights/best/?format=csv&part=profit"))
    assert rows[1][2] == "'=HYPERLINK(1) x"


def _chase(by, supplier, due, *, done=None, cancel=False):
    with time_machine.travel(due - dt.timedelta(days=20), tick=False):
        reminder = reminder_create(
            by=by, data=ReminderIn(title=f"Chase {supplier.display_name}", due_at=due, chase=supplier)
        )
    if done is not None:
        with time_machine.travel(done, tick=False):
            reminder_done(by=by, reminder=reminder)
    if cancel:
        with time_machine.travel(due - dt.timedelta(days=1), tick=False):
            reminder_cancel(by=by, reminder=reminder, reason="not needed")
    return reminder


@pytest.fixture
def suppliers(cast, job_process):
    s1 = make_org(cast.alice, "Mostly Ltd", roles=["supplier"])
    s2 = make_org(cast.alice, "Prompt Ltd", roles=["supplier"])
    s3 = make_org(cast.bob, "Blue Supplies", roles=["supplier"])
    _chase(cast.alice, s1, at(2026, 3, 1, 10, 0), done=at(2026, 2, 28, 16, 0))  # on time
    _chase(cast.alice, s1, at(2026, 3, 10, 10, 0), done=at(2026, 3, 10, 10, 0))  # on time: at its due time
    _chase(cast.alice, s1, at(2026, 3, 20, 10, 0), done=at(2026, 3, 21, 9, 0))  # done late
    _chase(cast.alice, s1, at(2026, 4, 1, 10, 0))  # still open, past due: late
    _chase(cast.alice, s1, at(2026, 6, 15, 18, 0))  # due later on the last day: not yet due, neither
    _chase(cast.alice, s1, at(2026, 3, 5, 10, 0), cancel=True)  # cancelled: left out
    _chase(cast.alice, s1, at(2025, 5, 1, 10, 0), done=at(2025, 4, 30, 10, 0))  # before the period
    _chase(cast.alice, s2, at(2026, 3, 2, 10, 0), done=at(2026, 3, 1, 10, 0))
    _chase(cast.alice, s2, at(2026, 3, 3, 10, 0), done=at(2026, 3, 3, 9, 0))
    _chase(cast.bob, s3, at(2026, 3, 4, 10, 0), done=at(2026, 3, 9, 10, 0))
    customer = make_person(cast.alice, "Ada", roles=["customer"])
    with time_machine.travel(at(2026, 2, 1, 9, 0), tick=False):
        job = job_create(by=cast.alice, party=customer, data=JobIn(title="Kitchen"))
        euro = job_create(by=cast.alice, party=customer, data=JobIn(title="Villa", currency="EUR"))
        for supplier, amount, day in (
            (s1, "120", dt.date(2026, 3, 1)),
            (s1, "80", dt.date(2026, 4, 10)),
            (s2, "500", dt.date(2026, 3, 15)),
            (s1, "1000", dt.date(2025, 1, 1)),  # before the period
        ):
            cost_add(
                by=cast.alice,
                job=job,
                data=CostIn(kind="supplier_bill", unit_cost=amount, supplier=supplier, incurred_on=day),
            )
        cost_add(
            by=cast.alice,
            job=euro,
            data=CostIn(kind="supplier_bill", unit_cost="50", supplier=s2, incurred_on=dt.date(2026, 3, 1)),
        )
        cost_add(by=cast.alice, job=job, data=CostIn(kind="materials", description="Tiles", unit_cost="99"))
    return s1, s2, s3


def test_suppliers_by_reliability_and_by_cost(cast, web_for, suppliers):
    s1, s2, s3 = suppliers
    alice = web_for(cast.alice)
    with time_machine.travel(NOW, tick=False):  # 15 Jun 2026: the period is 16 Jun 2025 – 15 Jun 2026
        page = alice.get("/insights/best/").content.decode()
        reliability = _csv(alice.get("/insights/best/?format=csv&part=reliability"))
        costs = _csv(alice.get("/insights/best/?format=csv&part=costs"))
        march = _csv(
            alice.get("/insights/best/?format=csv&part=reliability&since=2026-03-02&until=2026-03-31")
        )
        march_costs = _csv(
            alice.get("/insights/best/?format=csv&part=costs&since=2026-03-02&until=2026-03-31")
        )
        bob = _csv(web_for(cast.bob).get("/insights/best/?format=csv&part=reliability"))
    assert (
        _order(page, "best-reliability") == [s2.pk, s1.pk]
        and '50.0% <span class="muted">2 of 4</span>' in page
    )
    assert reliability == [
        [
            "rank",
            "party_id",
            "supplier",
            "on_time_percent",
            "on_time",
            "late",
            "open_past_due",
            "not_yet_due",
        ],
        ["1", str(s2.pk), "Prompt Ltd", "100.0", "2", "0", "0", "0"],
        ["2", str(s1.pk), "Mostly Ltd", "50.0", "2", "1", "1", "1"],
    ]
    assert march[1:] == [
        ["1", str(s2.pk), "Prompt Ltd", "100.0", "2", "0", "0", "0"],
        ["2", str(s1.pk), "Mostly Ltd", "50.0", "1", "1", "0", "0"],  # 10 Mar on time, 20 Mar late
    ]
    assert bob[1:] == [["1", str(s3.pk), "Blue Supplies", "0.0", "0", "1", "0", "0"]]
    assert costs == [
        ["rank", "party_id", "supplier", "bills", "total", "share_percent", "currency"],
        ["1", str(s2.pk), "Prompt Ltd", "1", "500.00", "71.4", "GBP"],
        ["2", str(s1.pk), "Mostly Ltd", "2", "200.00", "28.6", "GBP"],
    ]
    assert march_costs[1:] == [["1", str(s2.pk), "Prompt Ltd", "1", "500.00", "100.0", "GBP"]]
    assert _order(page, "best-costs") == [s2.pk, s1.pk]
    assert 'value="2025-06-16"' in page and 'value="2026-06-15"' in page  # the default period, shown
    assert '<option value="25" selected>' in page
    assert "£700 from 2 suppliers on 3 bills; 1 bill in other currencies not counted" in page


def test_a_bad_period_is_said_next_to_its_field(cast, web_for):
    alice = web_for(cast.alice)
    response = alice.get("/insights/best/?since=2026-03-31&until=2026-03-01")
    assert response.status_code == 400 and "The end comes before the start." in response.content.decode()
    bad = alice.get("/insights/best/?format=csv&part=costs&since=2026-13-01")
    assert bad.status_code == 400 and bad.content.decode().startswith("since:")


def test_the_page_reads_a_few_queries_whatever_the_rows(
    cast, web_for, rfm_set, django_assert_max_num_queries
):
    manager = web_for(cast.manager)
    manager.get("/insights/best/")  # warm the session and the user
    with django_assert_max_num_queries(16):
        assert manager.get("/insights/best/").status_code == 200


def test_rfm_and_clv_segment_filters_and_their_errors(cast, api_for, rfm_set):
    c = {i + 1: p for i, p in enumerate(rfm_set)}
    for i, worth in ((1, "800"), (5, "500"), (8, "450"), (10, "5000")):
        CustomerMetrics.objects.filter(party=c[i]).update(clv_12m=D(worth))
    assert clean_filters({"rfm": ["champions", "champions", "loyal"]}) == {"rfm": ["champions", "loyal"]}
    assert segment_count(user=cast.manager, filters={"rfm": ["champions"]}) == 2
    assert segment_count(user=cast.alice, filters={"rfm": ["champions", "loyal"]}) == 3
    assert segment_count(user=cast.alice, filters=clean_filters({"clv": {"at_least": 500}})) == 2  # C01, C05
    assert (
        segment_count(user=cast.alice, filters=clean_filters({"clv": {"at_least": 450, "at_most": "500"}}))
        == 2
    )
    assert segment_count(user=cast.manager, filters={"clv": {"at_least": "0"}}) == 4  # no CLV never matches
    for bad, field in (
        ({"rfm": ["champs"]}, "filters.rfm.0"),
        ({"rfm": "champions"}, "filters.rfm"),
        ({"rfm": []}, "filters.rfm"),
        ({"clv": {"at_least": "lots"}}, "filters.clv.at_least"),
        ({"clv": {"at_least": True}}, "filters.clv.at_least"),
        ({"clv": {"over": 5}}, "filters.clv"),
        ({"clv": {"at_least": 10, "at_most": 5}}, "filters.clv.at_most"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            clean_filters(bad)
        assert [e.field for e in caught.value.errors] == [field]
    r = api_for(cast.alice).post("/segments/count", {"filters": {"rfm": ["champions", "vips"]}})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["filters.rfm.1"]
    assert "'vips' is not an RFM segment" in r.json()["errors"][0]["detail"]

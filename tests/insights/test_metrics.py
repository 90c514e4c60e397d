"""The customer-metrics table: hand-computed answers on a constructed history; the events sweep gives what a full
recompute gives; an interrupted recompute resumes and ends with the same rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import time_machine

from friday.billing import services as billing
from friday.core import clock
from friday.feedback.models import Survey
from friday.feedback.services import feedback_answer, feedback_request
from friday.insights import metrics
from friday.insights.models import CustomerMetrics, MetricsRun
from friday.jobs.services import CostIn, JobIn, cost_add, job_create
from friday.parties.services import activity_log
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import make_org, make_person


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


def _paid_invoice(by, party, issued: dt.datetime, net: str, job=None):
    with time_machine.travel(issued, tick=False):
        invoice = billing.invoice_create(
            by=by,
            party=party,
            job=job,
            data=billing.InvoiceIn(lines=[billing.LineIn("Work", "1", net, "20")], terms_days=30),
        )
        invoice = billing.invoice_issue(by=by, invoice=invoice, send=False)
        total = invoice.total
    with time_machine.travel(issued + dt.timedelta(days=10), tick=False):
        billing.payment_record(
            by=by, invoice=invoice, data=billing.PaymentIn(amount=str(total), key=f"p{invoice.pk}")
        )
    return invoice


def _history(cast, job_process):
    """Ada: three paid invoices (1 Feb, 3 Mar, 2 May 2026), one unpaid and overdue, costs on a job and on her,
    a call, an NPS answer, two open reminders (one long overdue). Bo: a customer with nothing yet."""
    ada = make_person(cast.alice, "Ada", roles=["customer"], emails=["ada@example.com"])
    bo = make_person(cast.alice, "Bo", roles=["customer"])
    make_org(cast.alice, "Supplies Ltd", roles=["supplier"])  # not a customer: no row
    with time_machine.travel(at(2026, 1, 20, 9, 0), tick=False):
        job = job_create(by=cast.alice, party=ada, data=JobIn(title="Boiler", quoted_price="500"))
        cost_add(
            by=cast.alice, job=job, data=CostIn(kind="materials", description="Pump", unit_cost="120.50")
        )
        cost_add(
            by=cast.alice, party=ada, data=CostIn(kind="acquisition", description="Flyer", unit_cost="30")
        )
    _paid_invoice(cast.alice, ada, at(2026, 2, 1, 10, 0), "500.00", job=job)
    _paid_invoice(cast.alice, ada, at(2026, 3, 3, 10, 0), "200.00")
    _paid_invoice(cast.alice, ada, at(2026, 5, 2, 10, 0), "99.99")
    with time_machine.travel(at(2026, 5, 13, 10, 0), tick=False):
        unpaid = billing.invoice_create(
            by=cast.alice,
            party=ada,
            data=billing.InvoiceIn(lines=[billing.LineIn("Extra", "1", "50", "20")], terms_days=14),
        )
        billing.invoice_issue(by=cast.alice, invoice=unpaid, send=False)
        activity_log(
            by=cast.alice,
            party=ada,
            kind="call",
            subject="Spoke about the service",
            occurred_at=at(2026, 5, 12, 15, 0),
        )
        _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=ada)
        feedback_answer(token=raw, score=4, comment="Late again")
        reminder_create(
            by=cast.alice, data=ReminderIn(title="Call Ada", due_at=at(2026, 5, 1, 9, 0), party=ada)
        )
        reminder_create(
            by=cast.alice, data=ReminderIn(title="Send quote", due_at=at(2026, 6, 20, 9, 0), party=ada)
        )
    return ada, bo


def _rows():
    fields = [f.name for f in CustomerMetrics._meta.concrete_fields if f.name != "as_of"]
    return {m.party_id: {f: getattr(m, f) for f in fields} for m in CustomerMetrics.objects.all()}


def test_the_figures_match_a_hand_computed_history(cast, job_process):
    ada, bo = _history(cast, job_process)
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False):
        result = metrics.recompute()
    assert result.run.finished_at is not None and not result.resumed
    rows = _rows()
    assert set(rows) == {ada.pk, bo.pk}  # the supplier has no row
    a = rows[ada.pk]
    assert a["revenue"] == D("799.99")  # 500 + 200 + 99.99, before tax
    assert (a["job_costs"], a["party_costs"], a["costs"]) == (D("120.50"), D("30.00"), D("150.50"))
    assert a["gross_profit"] == D("649.49") and a["margin_percent"] == D("81.2")
    assert (a["first_purchase_on"], a["last_purchase_on"], a["purchases"]) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 5, 2),
        3,
    )
    assert a["usual_interval_days"] == 45  # gaps 30 and 60 days: the median
    assert a["last_contact_at"] == at(2026, 5, 12, 15, 0)
    assert (a["open_reminders"], a["escalated_reminders"]) == (2, 1)
    assert a["latest_nps"] == 4
    assert a["amount_overdue"] == D("60.00")  # 50 + 20% tax, due 27 May
    b = rows[bo.pk]
    assert (b["revenue"], b["purchases"], b["margin_percent"], b["last_purchase_on"]) == (
        D("0.00"),
        0,
        None,
        None,
    )


def test_the_events_sweep_gives_what_a_full_recompute_gives(cast, job_process):
    with time_machine.travel(at(2026, 1, 1, 8, 0), tick=False):
        metrics.sweep()  # the cursor starts before the history
    _history(cast, job_process)
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False):
        touched = metrics.sweep()
        assert touched >= 1
        incremental = _rows()
        CustomerMetrics.objects.all().delete()
        metrics.recompute(restart=True)
        assert _rows() == incremental
        assert metrics.sweep() == 0  # nothing new


def test_an_interrupted_recompute_resumes_and_ends_the_same(cast, job_process):
    _history(cast, job_process)
    for i in range(5):
        make_person(cast.alice, f"Extra{i}", roles=["customer"])
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False):
        metrics.recompute(batch=3)
        whole = _rows()
        CustomerMetrics.objects.all().delete()
        first = metrics.recompute(batch=3, restart=True, stop_after=1)  # "killed" after one batch
        assert first.run.finished_at is None and first.run.parties_done == 3
        second = metrics.recompute(batch=3)
        assert second.resumed and second.run.pk == first.run.pk and second.run.finished_at is not None
        assert _rows() == whole
        assert MetricsRun.objects.filter(finished_at__isnull=True).count() == 0


def test_the_party_page_shows_the_figures_with_their_time(cast, job_process, web_for):
    ada, _ = _history(cast, job_process)
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False):
        metrics.recompute()
    page = web_for(cast.alice).get(f"/parties/{ada.pk}/").content.decode()
    assert 'id="party-metrics"' in page and "£799.99" in page and "As of 15 Jun 2026 12:00" in page
    assert "usually every 45 days" in page


def test_the_sweep_reads_its_parties_in_a_few_queries_whatever_the_events(
    cast, job_process, django_assert_max_num_queries
):
    """One query per subject type and per batch, not one per event or party."""
    with time_machine.travel(at(2026, 1, 1, 8, 0), tick=False):
        metrics.sweep()
    for i in range(30):
        make_person(cast.alice, f"P{i}", roles=["customer"])
    # 30 parties' events: compute is ~15 grouped queries, whatever the number of parties.
    with time_machine.travel(at(2026, 6, 15, 12, 0), tick=False), django_assert_max_num_queries(40):
        assert metrics.sweep() == 30


def test_the_figures_follow_a_handover_so_lists_stay_scoped(cast, web_for):
    """Each row carries its party's owner and team (scoping reads them); handing the customer over moves them."""
    from friday.insights.selectors import metrics_visible
    from friday.parties.services import party_change_owner

    ada = make_person(cast.alice, "Ada", roles=["customer"])
    metrics.sweep()
    row = CustomerMetrics.objects.get(party=ada)
    assert (row.owner_id, row.team_id) == (cast.alice.pk, cast.red.pk)
    assert list(metrics_visible(cast.alice).values_list("party_id", flat=True)) == [ada.pk]
    assert not metrics_visible(cast.bob).exists() and metrics_visible(cast.manager).count() == 1
    party_change_owner(by=cast.alice, party=ada, owner=cast.bob, team=cast.blue)
    metrics.sweep()
    row.refresh_from_db()
    assert (row.owner_id, row.team_id) == (cast.bob.pk, cast.blue.pk)
    assert not metrics_visible(cast.alice).exists()
    assert list(metrics_visible(cast.bob).values_list("party_id", flat=True)) == [ada.pk]

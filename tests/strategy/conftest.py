"""A constructed history for the goal metrics: April, May and June 2026 (today: Monday 15 June, 12:00, London),
every figure worked out by hand in the tests that use it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from friday.billing import services as billing
from friday.core import clock
from friday.deals.models import LostReason
from friday.deals.services import DealIn, deal_create, deal_move
from friday.feedback.models import Survey
from friday.feedback.services import feedback_answer, feedback_request, survey_defaults_install
from friday.jobs.services import CostIn, JobIn, cost_add, job_create
from friday.processes.services import stage_move
from friday.reminders.services import ReminderIn, reminder_create, reminder_done
from tests.conftest import make_person

TODAY = (2026, 6, 15, 12, 0)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=clock.business_tz())


@pytest.fixture
def london(settings):
    settings.TIME_ZONE = "Europe/London"
    settings.FRIDAY_CURRENCY = "GBP"
    settings.FRIDAY_BASE_URL = "https://friday.example.com"
    settings.FRIDAY_DIGEST_HOUR = 7
    return settings


@pytest.fixture(autouse=True)
def goals_section():
    """The digest's goals section is registered at start-up; an insights test removes a "goals" section it adds
    for itself, so put ours back for these tests."""
    from friday.strategy import digest

    digest.register()


def invoice(by, party, net: str, issued: dt.datetime, paid: dt.datetime | None):
    with time_machine.travel(issued, tick=False):
        made = billing.invoice_create(
            by=by,
            party=party,
            data=billing.InvoiceIn(lines=[billing.LineIn("Work", "1", net, "20")], terms_days=30),
        )
        made = billing.invoice_issue(by=by, invoice=made, send=False)
    if paid:
        with time_machine.travel(paid, tick=False):
            billing.payment_record(
                by=by, invoice=made, data=billing.PaymentIn(amount=str(made.total), key=f"k{made.pk}")
            )
    return made


def answer(party, score: int, when: dt.datetime) -> None:
    survey_defaults_install()  # a transactional test starts from an empty database: no default surveys
    with time_machine.travel(when, tick=False):
        _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=party)
        feedback_answer(token=raw, score=score)


def move(by, party, to: str, when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False):
        stage_move(by=by, record_type="party", record=party, to=to, override=True, reason="history", at=when)


@pytest.fixture
def history(cast, london, pipeline, job_process, lifecycle):
    a = cast.admin
    ada = make_person(cast.alice, "Ada", "Lovelace", roles=["customer"], emails=["ada@example.com"])
    bea = make_person(cast.bob, "Bea", "Blue", roles=["customer"])
    cy = make_person(cast.alice, "Cy", "Young", roles=["customer"])
    dee = make_person(cast.alice, "Dee", "Dee", roles=["customer"])
    # Invoices (net): revenue by the day paid, purchases by the day issued.
    invoice(a, cy, "300.00", at(2026, 3, 20, 10), at(2026, 3, 25, 10))  # March: before the periods shown
    invoice(a, ada, "1000.00", at(2026, 4, 10, 10), at(2026, 4, 20, 10))  # April revenue 1000
    invoice(a, bea, "200.00", at(2026, 4, 15, 10), at(2026, 6, 2, 10))  # bought in April, paid in June
    invoice(a, ada, "500.00", at(2026, 5, 5, 10), at(2026, 5, 25, 10))  # May revenue 500
    invoice(a, cy, "300.00", at(2026, 5, 12, 10), at(2026, 5, 30, 10))  # May revenue +300
    invoice(a, ada, "400.00", at(2026, 6, 3, 10), at(2026, 6, 10, 10))  # June revenue +400
    invoice(a, dee, "100.00", at(2026, 6, 5, 10), None)  # unpaid: neither revenue nor a purchase
    # Costs by the day incurred: May 50 (a discount on Ada), June 250 (a job's pump).
    with time_machine.travel(at(2026, 6, 10, 10), tick=False):
        job = job_create(by=a, party=ada, data=JobIn(title="Boiler"))
        cost_add(by=a, job=job, data=CostIn(kind="materials", description="Pump", unit_cost="250"))
        cost_add(
            by=a,
            party=ada,
            data=CostIn(
                kind="discount", description="Goodwill", unit_cost="50", incurred_on=dt.date(2026, 5, 31)
            ),
        )
    # Deals lost: May 1500, June 4000; a won deal is not lost value.
    price = LostReason.objects.get(name="Price")
    with time_machine.travel(at(2026, 5, 20, 10), tick=False):
        deal_move(
            by=a,
            deal=deal_create(by=a, party=cy, data=DealIn(title="Loft", value="1500")),
            to="lost",
            lost_reason=price,
        )
    with time_machine.travel(at(2026, 6, 10, 11), tick=False):
        deal_move(
            by=a,
            deal=deal_create(by=a, party=ada, data=DealIn(title="Boiler 2", value="4000")),
            to="lost",
            lost_reason=price,
        )
        deal_move(
            by=a,
            deal=deal_create(by=a, party=ada, data=DealIn(title="Service", value="999")),
            to="won",
            override=True,
            reason="test",
        )
    # NPS: April 9, 10, 3 → (2 − 1) / 3 = 33.3; May none; June 10, 6, 6, 8 → (1 − 2) / 4 = −25.0.
    for score, day in ((9, 2), (10, 3), (3, 4)):
        answer(ada, score, at(2026, 4, day, 12))
    for score, day in ((10, 1), (6, 2), (6, 3), (8, 4)):
        answer(bea, score, at(2026, 6, day, 12))
    # The lifecycle's qualified stage: April 1 (P1); May 1 (P2, twice); June 2 (P3, P5); P4 only a prospect.
    people = [make_person(a, f"P{i}", "Prospect", emails=[f"p{i}@example.com"]) for i in range(1, 6)]
    move(a, people[0], "qualified", at(2026, 4, 5, 9))
    move(a, people[1], "qualified", at(2026, 5, 3, 9))
    move(a, people[1], "not_a_fit", at(2026, 5, 4, 9))
    move(a, people[1], "qualified", at(2026, 5, 20, 9))
    move(a, people[2], "qualified", at(2026, 6, 1, 9))
    move(a, people[3], "prospect", at(2026, 6, 2, 9))
    move(a, people[4], "qualified", at(2026, 6, 14, 9))
    # Reminders more than 2 days overdue: R1 all along; R2 never (done before it was); R3 now; R4 not yet.
    with time_machine.travel(at(2026, 4, 1, 9), tick=False):
        reminder_create(by=a, data=ReminderIn(title="R1", due_at=at(2026, 4, 10, 9), party=ada))
    with time_machine.travel(at(2026, 4, 20, 9), tick=False):
        r2 = reminder_create(by=a, data=ReminderIn(title="R2", due_at=at(2026, 4, 29, 9), party=ada))
    with time_machine.travel(at(2026, 5, 10, 9), tick=False):
        reminder_done(by=a, reminder=r2)
    with time_machine.travel(at(2026, 6, 1, 9), tick=False):
        reminder_create(by=a, data=ReminderIn(title="R3", due_at=at(2026, 6, 13, 9), party=ada))
        reminder_create(by=a, data=ReminderIn(title="R4", due_at=at(2026, 6, 14, 9), party=ada))
    return {"ada": ada, "bea": bea, "cy": cy, "dee": dee, "people": people}

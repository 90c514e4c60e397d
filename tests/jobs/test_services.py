"""Jobs through their services: booked into the job process, moved, completed once, costed, scoped; assets and
service plans whose next due date follows the completed jobs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from friday.core.errors import FridayError, NotFound, PermissionDenied, ValidationFailed
from friday.core.models import DomainEvent
from friday.jobs.models import Cost, Job, ServicePlan
from friday.jobs.selectors import JobFilters, job_board, job_list, job_margin
from friday.jobs.services import (
    AssetIn,
    CostIn,
    JobIn,
    PlanIn,
    add_interval,
    asset_save,
    cost_add,
    job_chase_supplier,
    job_create,
    job_move,
    job_update,
    plan_save,
    staff_rate_set,
)
from friday.processes.models import StageChange
from friday.processes.services import MoveRefused
from tests.conftest import make_org, make_person

NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _walk(job: Job, by, *stages: str) -> None:
    """Move through `stages`, ticking each stage's checklist."""
    for stage in stages:
        target = job.stage_version.definition.stage(stage)
        job_move(by=by, job=job, to=stage, checked=list(target.checklist) if target else [])
        job.refresh_from_db()


def test_a_job_is_booked_into_the_job_process(job_process, cast):
    party = make_person(cast.alice)
    job = job_create(
        by=cast.alice,
        party=party,
        data=JobIn(title="Replace boiler", quoted_price="2,400.00", staff=[cast.alice, cast.olga]),
    )
    assert job.stage == "booked" and job.quoted_price == Decimal("2400.00") and job.currency == "GBP"
    assert job.owner == cast.alice and job.team == cast.red
    assert set(job.staff.all()) == {cast.alice, cast.olga}
    assert StageChange.objects.filter(record_type="job", record_id=job.pk, to_stage="booked").exists()
    assert DomainEvent.objects.filter(name="job.created", subject_id=job.pk).exists()


def test_bad_job_input_names_every_field_and_writes_nothing(job_process, cast):
    party = make_person(cast.alice)
    with pytest.raises(ValidationFailed) as exc:
        job_create(
            by=cast.alice,
            party=party,
            data=JobIn(title=" ", quoted_price="-5", currency="pounds", due_on="soon"),
        )
    assert {e.field for e in exc.value.errors} == {"title", "quoted_price", "currency", "due_on"}
    with pytest.raises(ValidationFailed) as exc:
        job_create(by=cast.alice, party=party, data=JobIn(title="x", quoted_price="1e3"))
    assert [e.field for e in exc.value.errors] == ["quoted_price"]
    assert not Job.objects.exists()


def test_no_job_process_no_job(cast):
    with pytest.raises(FridayError) as exc:
        job_create(by=cast.alice, party=make_person(cast.alice), data=JobIn(title="x"))
    assert exc.value.code == "job.no_process"


def test_stage_requirements_and_completion_happen_once(job_process, cast):
    party = make_person(cast.alice)
    job = job_create(by=cast.alice, party=party, data=JobIn(title="Service"))
    with pytest.raises(ValidationFailed) as exc:
        job_move(by=cast.alice, job=job, to="scheduled")
    assert {e.field for e in exc.value.errors} == {"scheduled_for", "engineer"}
    job_update(by=cast.alice, job=job, data=JobIn(scheduled_for=NOON, staff=[cast.alice]))
    _walk(job, cast.alice, "scheduled", "in_progress", "quality_check", "complete")
    assert job.completed_at is not None and job.closed_at is None
    completed = DomainEvent.objects.filter(name="job.completed", subject_id=job.pk)
    assert completed.count() == 1 and completed.get().payload["party_id"] == party.pk
    # Invoiced needs an issued invoice.
    with pytest.raises(ValidationFailed) as exc:
        job_move(by=cast.alice, job=job, to="invoiced")
    assert [e.field for e in exc.value.errors] == ["invoice"]
    with pytest.raises(MoveRefused):
        job_move(by=cast.alice, job=job, to="booked")


def test_cancelling_needs_a_reason_and_closes_the_job(job_process, cast):
    job = job_create(by=cast.alice, party=make_person(cast.alice), data=JobIn(title="Leak"))
    with pytest.raises(ValidationFailed):
        job_move(by=cast.alice, job=job, to="cancelled")
    job_move(by=cast.alice, job=job, to="cancelled", cancel_reason="Customer fixed it")
    job.refresh_from_db()
    assert job.stage == "cancelled" and job.closed_at is not None and job.completed_at is None


def test_members_see_their_own_team_and_assigned_jobs(job_process, cast):
    party = make_person(cast.alice)
    job = job_create(by=cast.alice, party=party, data=JobIn(title="Rewire"))
    assert job_list(user=cast.bob, filters=JobFilters()).items == []
    with pytest.raises(NotFound):
        job_update(by=cast.bob, job=job, data=JobIn(title="Mine now"))
    job_update(by=cast.alice, job=job, data=JobIn(staff=[cast.bob]))
    assert [j.pk for j in job_list(user=cast.bob, filters=JobFilters()).items] == [job.pk]
    with pytest.raises(PermissionDenied):
        job_create(by=cast.reader, party=party, data=JobIn(title="x"))
    board = job_board(user=cast.alice, process=job_process)
    assert [c.count for c in board.columns if c.stage.key == "booked"] == [1]


def test_costs_give_the_margin_with_half_up_rounding(job_process, cast):
    party = make_person(cast.alice)
    job = job_create(by=cast.alice, party=party, data=JobIn(title="Boiler", quoted_price="1000.00"))
    staff_rate_set(by=cast.manager, user=cast.alice, hourly_rate="32.50")
    labour = cost_add(by=cast.alice, job=job, data=CostIn(kind="labour", quantity="2.5", staff=cast.alice))
    assert labour.unit_cost == Decimal("32.50") and labour.amount == Decimal("81.25")
    parts = (
        cost_add(
            by=cast.alice,
            job=job,
            data=CostIn(kind="materials", description="Valve", quantity="3", unit_cost="0.335"),
        )
        if False
        else cost_add(
            by=cast.alice,
            job=job,
            data=CostIn(kind="materials", description="Washer", quantity="0.5", unit_cost="0.05"),
        )
    )
    assert parts.amount == Decimal("0.03")  # 0.025 rounds half up
    supplier = make_org(cast.alice, "Pipes Ltd")
    cost_add(
        by=cast.alice,
        job=job,
        data=CostIn(kind="supplier_bill", unit_cost="400", supplier=supplier, reference="INV-9"),
    )
    margin = job_margin(job=job)
    assert margin.cost == Decimal("481.28") and margin.margin == Decimal("518.72")
    assert margin.margin_percent == Decimal("51.9")


def test_bad_costs_are_refused_and_nothing_is_written(job_process, cast):
    job = job_create(by=cast.alice, party=make_person(cast.alice), data=JobIn(title="Boiler"))
    cases = [
        (CostIn(kind="materials", description="Pipe", quantity="-1", unit_cost="5"), "quantity"),
        (CostIn(kind="materials", description="Pipe", quantity="0", unit_cost="5"), "quantity"),
        (CostIn(kind="materials", description="Pipe", unit_cost="-5"), "unit_cost"),
        (CostIn(kind="materials", description="Pipe", unit_cost="5", currency="EUR"), "currency"),
        (CostIn(kind="labour", quantity="2"), "staff"),
        (CostIn(kind="labour", quantity="2", staff=cast.olga), "unit_cost"),  # olga has no rate
        (CostIn(kind="acquisition", unit_cost="5", description="Ad"), "kind"),  # not a job cost
    ]
    for data, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            cost_add(by=cast.alice, job=job, data=data)
        assert field in {e.field for e in exc.value.errors}, (data, exc.value.errors)
    assert not Cost.objects.exists()


def test_party_costs(job_process, cast):
    party = make_person(cast.alice)
    cost = cost_add(
        by=cast.alice,
        party=party,
        data=CostIn(kind="acquisition", description="Leaflet drop", unit_cost="45"),
    )
    assert cost.job is None and cost.amount == Decimal("45.00")
    with pytest.raises(ValidationFailed):
        cost_add(by=cast.alice, party=party, data=CostIn(kind="labour", unit_cost="5", staff=cast.alice))


def test_supplier_dependency_is_a_chasing_reminder(job_process, cast):
    job = job_create(by=cast.alice, party=make_person(cast.alice), data=JobIn(title="Boiler"))
    supplier = make_org(cast.alice, "Parts Ltd")
    reminder = job_chase_supplier(
        by=cast.alice, job=job, supplier=supplier, title="Valve delivery", due_at=NOON
    )
    assert reminder.chase == supplier and reminder.record_type == "job" and reminder.record_id == job.pk


def test_add_interval_keeps_month_ends():
    assert add_interval(dt.date(2026, 1, 31), 1, "months") == dt.date(2026, 2, 28)
    assert add_interval(dt.date(2024, 2, 29), 1, "years") == dt.date(2025, 2, 28)
    assert add_interval(dt.date(2026, 3, 1), 2, "weeks") == dt.date(2026, 3, 15)


@time_machine.travel(NOON, tick=False)
def test_a_completed_job_services_its_plan(job_process, cast):
    party = make_person(cast.alice)
    boiler = asset_save(by=cast.alice, party=party, data=AssetIn(name="Boiler", serial_number="WB-123"))
    plan = plan_save(
        by=cast.alice,
        party=party,
        data=PlanIn(
            name="Annual service", every=12, unit="months", asset=boiler, last_service_on=dt.date(2025, 6, 1)
        ),
    )
    assert plan.next_due_on == dt.date(2026, 6, 1)
    job = job_create(
        by=cast.alice,
        party=party,
        data=JobIn(title="Service", asset=boiler, scheduled_for=NOON, staff=[cast.alice]),
    )
    _walk(job, cast.alice, "scheduled", "in_progress", "quality_check", "complete")
    plan.refresh_from_db()
    assert plan.last_service_on == dt.date(2026, 3, 2) and plan.next_due_on == dt.date(2027, 3, 2)
    other = make_person(cast.alice, "Bo")
    with pytest.raises(ValidationFailed):
        job_create(by=cast.alice, party=other, data=JobIn(title="x", asset=boiler))
    with pytest.raises(ValidationFailed):
        plan_save(by=cast.alice, party=party, data=PlanIn(name="x", every=0))
    assert ServicePlan.objects.count() == 1


def test_the_margin_uses_what_was_invoiced_once_the_job_is_invoiced(job_process, cast):
    from friday.billing.services import invoice_from_job, invoice_issue, invoice_void

    party = make_person(cast.alice, emails=["ada@example.com"])
    job = job_create(by=cast.alice, party=party, data=JobIn(title="Boiler", quoted_price="500.00"))
    cost_add(by=cast.alice, job=job, data=CostIn(kind="materials", description="Pump", unit_cost="100"))
    assert job_margin(job=job).price_source == "quoted"
    invoice = invoice_from_job(by=cast.alice, job=job)
    assert job_margin(job=job).price == Decimal("500.00")  # a draft is not yet invoiced
    invoice_issue(by=cast.alice, invoice=invoice, send=False)
    margin = job_margin(job=job)
    assert margin.price_source == "invoiced" and margin.price == invoice.subtotal
    assert margin.margin == invoice.subtotal - Decimal("100.00")
    invoice_void(by=cast.alice, invoice=invoice, reason="Wrong address")
    # Voided (and its credit note): not invoiced any more; back to the quote.
    assert job_margin(job=job).price_source == "quoted"

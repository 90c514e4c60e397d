"""Job pages: book from a party, board with moves and refusals, detail with costs and margin, dependencies,
staff rates, assets and service plans on the party page, services due."""

from __future__ import annotations

import datetime as dt

from friday.jobs.models import Asset, Cost, Job, ServicePlan, StaffRate
from friday.reminders.models import Reminder
from tests.conftest import make_org, make_person


def test_book_board_move_cost_and_margin(job_process, cast, web_for):
    party = make_person(cast.alice, "Grace", "Hopper")
    alice = web_for(cast.alice)
    form = alice.get(f"/jobs/new/?party={party.pk}").content.decode()
    assert f"Grace Hopper · #{party.pk}" in form
    r = alice.post("/jobs/new/", {"party": "Grace", "title": "Boiler", "process": "job_workflow"})
    assert r.status_code == 422 and "Pick the client from the list" in r.content.decode()
    r = alice.post(
        "/jobs/new/",
        {
            "party": f"Grace Hopper · #{party.pk}",
            "title": "Boiler",
            "quoted_price": "-3",
            "process": "job_workflow",
        },
    )
    assert r.status_code == 422 and "cannot be negative" in r.content.decode() and not Job.objects.exists()
    r = alice.post(
        "/jobs/new/",
        {
            "party": f"Grace Hopper · #{party.pk}",
            "title": "Boiler",
            "quoted_price": "600",
            "staff": [cast.alice.pk],
            "process": "job_workflow",
        },
    )
    job = Job.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/jobs/{job.pk}/"
    assert list(job.staff.all()) == [cast.alice]
    party_page = alice.get(f"/parties/{party.pk}/").content.decode()
    assert 'id="jobs-h"' in party_page and f'href="/jobs/{job.pk}/"' in party_page
    board = alice.get("/jobs/board/").content.decode()
    assert f'data-job="{job.pk}" data-stage="booked"' in board and "£600.00" in board
    # Scheduled needs a date: the move page says so and links to the form.
    r = alice.post(f"/jobs/{job.pk}/move/", {"to": "scheduled", "next": "/jobs/board/"})
    assert r.status_code == 422 and "the scheduled date" in r.content.decode()
    r = alice.post(f"/jobs/{job.pk}/move/", {"to": "paid"})
    assert r.status_code == 422 and "Booked → Paid is not a step" in r.content.decode()
    # Costs: a labour cost at the staff rate, a bad one refused with its field, the margin shown.
    StaffRate.objects.create(user=cast.alice, hourly_rate="40.00", currency="GBP", updated_at=job.created_at)
    r = alice.post(
        f"/jobs/{job.pk}/costs/", {"cost-kind": "labour", "cost-staff": cast.alice.pk, "cost-quantity": "3"}
    )
    assert r.status_code == 302
    r = alice.post(
        f"/jobs/{job.pk}/costs/",
        {"cost-kind": "materials", "cost-description": "Pipe", "cost-quantity": "-2", "cost-unit_cost": "4"},
    )
    assert r.status_code == 422 and "cannot be negative" in r.content.decode()
    assert Cost.objects.count() == 1
    page = alice.get(f"/jobs/{job.pk}/").content.decode()
    assert "£120.00" in page and "£480.00" in page and "(80.0%)" in page
    # Another team's member cannot see it.
    assert web_for(cast.bob).get(f"/jobs/{job.pk}/").status_code == 404


def test_dependencies_rates_assets_plans_and_services_due(job_process, cast, web_for):
    party = make_person(cast.alice, "Grace", "Hopper")
    supplier = make_org(cast.alice, "Valves Ltd")
    alice, manager = web_for(cast.alice), web_for(cast.manager)
    job = Job.objects.get(
        pk=alice.post(
            "/jobs/new/",
            {"party": f"Grace Hopper · #{party.pk}", "title": "Boiler", "process": "job_workflow"},
        )["Location"].split("/")[2]
    )
    r = alice.post(
        f"/jobs/{job.pk}/dependencies/",
        {
            "dep-supplier": f"Valves Ltd · #{supplier.pk}",
            "dep-title": "Valve delivery",
            "dep-due_at": "2030-01-02T09:00",
        },
    )
    assert r.status_code == 302
    reminder = Reminder.objects.get()
    assert reminder.chase == supplier and reminder.record_id == job.pk
    assert "Valve delivery" in alice.get(f"/jobs/{job.pk}/").content.decode()
    # Rates: managers set them, members only read.
    assert alice.post("/jobs/staff-rates/", {"user": cast.alice.pk, "hourly_rate": "30"}).status_code == 403
    r = manager.post("/jobs/staff-rates/", {"user": cast.alice.pk, "hourly_rate": "abc"})
    assert r.status_code == 422 and "is a number" in r.content.decode()
    assert (
        manager.post("/jobs/staff-rates/", {"user": cast.alice.pk, "hourly_rate": "30.5"}).status_code == 302
    )
    assert "£30.50" in alice.get("/jobs/staff-rates/").content.decode()
    # An asset and a plan from the party page; the plan is due within the year.
    r = alice.post(
        f"/jobs/parties/{party.pk}/assets/new/", {"name": "Boiler", "serial_number": "WB-1", "active": "on"}
    )
    assert r.status_code == 302
    asset = Asset.objects.get()
    last = (dt.date.today() - dt.timedelta(days=300)).isoformat()
    r = alice.post(
        f"/jobs/parties/{party.pk}/plans/new/",
        {
            "name": "Annual service",
            "every": "12",
            "unit": "months",
            "asset": asset.pk,
            "last_service_on": last,
            "active": "on",
        },
    )
    assert r.status_code == 302
    plan = ServicePlan.objects.get()
    page = alice.get(f"/parties/{party.pk}/").content.decode()
    assert "serial WB-1" in page and "Annual service" in page and f"plan={plan.pk}" in page
    due = alice.get("/jobs/plans/?days=90").content.decode()
    assert "Annual service" in due and "Grace Hopper" in due
    assert "Annual service" not in web_for(cast.bob).get("/jobs/plans/?days=90").content.decode()
    r = alice.post(
        f"/jobs/parties/{party.pk}/costs/new/",
        {"kind": "acquisition", "description": "Flyer", "unit_cost": "12.5"},
    )
    assert r.status_code == 302 and "£12.50" in alice.get(f"/parties/{party.pk}/").content.decode()


def test_edit_forms_show_dates_the_browser_can_read_so_saving_keeps_them(
    job_process, pipeline, cast, web_for
):
    """A date box shows nothing for 15/11/2019 (it reads only YYYY-MM-DD), and saving the form then cleared the
    date: every edit form writes dates as YYYY-MM-DD."""
    from friday.deals.services import DealIn, deal_create
    from friday.jobs.services import AssetIn, JobIn, PlanIn, asset_save, job_create, plan_save

    party = make_person(cast.alice, "Grace", "Hopper")
    alice = web_for(cast.alice)
    asset = asset_save(
        by=cast.alice, party=party, data=AssetIn(name="Boiler", installed_on=dt.date(2019, 11, 15))
    )
    plan = plan_save(
        by=cast.alice,
        party=party,
        data=PlanIn(name="Service", every=1, unit="years", last_service_on=dt.date(2026, 1, 10)),
    )
    job = job_create(by=cast.alice, party=party, data=JobIn(title="Fix", due_on=dt.date(2026, 12, 20)))
    deal = deal_create(
        by=cast.alice, party=party, data=DealIn(title="Swap", expected_close=dt.date(2026, 12, 24))
    )
    for url, value in (
        (f"/jobs/parties/{party.pk}/assets/{asset.pk}/", "2019-11-15"),
        (f"/jobs/parties/{party.pk}/plans/{plan.pk}/", "2026-01-10"),
        (f"/jobs/{job.pk}/edit/", "2026-12-20"),
        (f"/deals/{deal.pk}/edit/", "2026-12-24"),
    ):
        assert f'value="{value}"' in alice.get(url).content.decode(), url
    # Saved as the browser sends it back, the dates stay.
    alice.post(
        f"/jobs/parties/{party.pk}/plans/{plan.pk}/",
        {"name": "Service", "every": "1", "unit": "years", "last_service_on": "2026-01-10", "active": "on"},
    )
    plan.refresh_from_db()
    assert plan.last_service_on == dt.date(2026, 1, 10) and plan.next_due_on == dt.date(2027, 1, 10)


def test_one_submit_shows_every_problem(job_process, cast, web_for):
    party = make_person(cast.alice, "Grace", "Hopper")
    r = web_for(cast.alice).post(
        "/jobs/new/",
        {
            "party": f"Grace Hopper · #{party.pk}",
            "title": "",
            "quoted_price": "abc",
            "currency": "XYZ",
            "process": "job_workflow",
        },
    )
    page = r.content.decode()
    assert r.status_code == 422 and "A job needs a title" in page
    assert "The quoted price is a number" in page and "not an ISO 4217 currency code" in page
    r = web_for(cast.alice).post(
        "/billing/invoices/new/",
        {
            "party": f"Grace Hopper · #{party.pk}",
            "terms_days": "-5",
            "currency": "POU",
            "line_count": "1",
            "line-0-description": "Service",
            "line-0-quantity": "-1",
            "line-0-unit_price": "abc",
            "line-0-tax_rate": "150",
        },
    )
    page = r.content.decode()
    assert r.status_code == 422 and "Payment terms are a number of days" in page
    assert "not an ISO 4217 currency code" in page and page.count('class="errorlist"') >= 5

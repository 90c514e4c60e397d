"""Jobs in a real browser: book one from the client's page, move it on the board, add a labour cost and see
the margin; add a service plan and book its next visit from Services due."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.jobs.models import Job
from friday.jobs.services import staff_rate_set
from friday.processes.services import process_import
from friday.processes.templates import starter_text
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import drag, shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_book_move_and_cost_a_job(page: Page, live_server, admin):
    process_import(by=admin, source=starter_text("jobs"))
    staff_rate_set(by=admin, user=admin, hourly_rate="45.00")
    party = make_person(admin, "Grace", "Hopper")
    sign_in(page, live_server.url, f"/parties/{party.pk}/")
    page.get_by_role("link", name="New job").click()
    page.get_by_label("Title").fill("Annual boiler service")
    page.get_by_label("Quoted price").fill("180")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Annual boiler service is booked.")).to_be_visible()
    job = Job.objects.get()
    # On the board: dragging straight to In progress is refused with where it may go.
    page.goto(f"{live_server.url}/jobs/board/")
    card = page.locator(f'article.deal[data-job="{job.pk}"]')
    expect(page.locator('section.column[data-stage="booked"]').locator(card)).to_be_visible()
    drag(page, card, page.locator('section.column[data-stage="in_progress"]'))
    expect(page.locator("#refused")).to_contain_text("Booked → In progress is not a step")
    shot(page, "job-refused")
    # Scheduling needs a date and an engineer: the move page says so and links to the form.
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.get_by_role("button", name="→ Scheduled").click()
    expect(page.get_by_text("To enter Scheduled: Fill in the scheduled date.")).to_be_visible()
    page.goto(f"{live_server.url}/jobs/{job.pk}/edit/")
    page.get_by_label("Scheduled for").fill("2030-03-04T09:30")
    page.get_by_label("Staff").select_option(str(admin.pk))
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="→ Scheduled").click()
    expect(page.get_by_text("Annual boiler service moved to Scheduled.")).to_be_visible()
    # Two hours of labour at £45: the margin is £90 (50%).
    page.get_by_text("Add a cost").click()
    page.get_by_label("Kind").select_option("labour")
    page.get_by_label("Staff", exact=True).select_option(str(admin.pk))
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add cost").click()
    expect(page.locator("#job-margin")).to_contain_text("£90.00")
    expect(page.locator("#job-margin")).to_contain_text("(50.0%)")
    shot(page, "job-detail")
    # A refused cost keeps the form open with the reason.
    page.get_by_text("Add a cost").click()
    page.get_by_label("Kind").select_option("materials")
    page.get_by_label("Description").fill("Filter")
    page.get_by_label("Quantity").fill("-1")
    page.get_by_label("Unit cost").fill("5")
    page.get_by_role("button", name="Add cost").click()
    expect(page.get_by_text("The quantity cannot be negative.")).to_be_visible()


def test_a_service_plan_is_booked_from_services_due(page: Page, live_server, admin):
    process_import(by=admin, source=starter_text("jobs"))
    party = make_person(admin, "Ada", "Lovelace")
    sign_in(page, live_server.url, f"/parties/{party.pk}/")
    page.get_by_role("link", name="New asset").click()
    page.get_by_label("Name").fill("Boiler")
    page.get_by_label("Serial number").fill("WB-42")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="New plan").click()
    page.get_by_label("Name").fill("Annual service")
    page.get_by_label("Every").fill("1")
    page.get_by_label("Unit").select_option("years")
    page.get_by_label("Asset").select_option(label="Boiler (WB-42)")
    page.get_by_label("Last service on").fill("2020-01-10")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("section", has=page.locator("#service-h"))).to_contain_text(
        "Annual service every year"
    )
    page.goto(f"{live_server.url}/jobs/plans/")
    expect(page.get_by_text("overdue")).to_be_visible()
    page.get_by_role("link", name="Book a job").click()
    expect(page.get_by_label("Title")).to_have_value("Annual service")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Annual service is booked.")).to_be_visible()
    job = Job.objects.get()
    assert job.service_plan is not None and job.asset is not None and job.asset.serial_number == "WB-42"

"""Importing in a real browser: upload a CSV, see the checked preview, run it, watch it finish, read the summary."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.imports.models import ImportJob, ImportStatus
from friday.parties.models import Party
from tests.conftest import PASSWORD
from tests.e2e.test_processes import shot, sign_in

CSV = (
    "First Name,Last Name,E-mail 1 - Value,Phone 1 - Value,Organization Name,Labels\r\n"
    "Ada,Lovelace,ada@example.com,07911 123456,Analytical Engines,* myContacts ::: Friends\r\n"
    "Grace,Hopper,grace@example,+1 202 555 0143,,\r\n"
    ',,hello@acme.example,,"Acme, Ltd",\r\n'
)


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_upload_a_csv_see_the_preview_run_it_and_read_the_summary(page: Page, live_server, admin, run_worker):
    sign_in(page, live_server.url, "/imports/")
    page.get_by_label("File to import").set_input_files(
        files=[{"name": "google.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Import google.csv")).to_be_visible()
    expect(page.locator("#draft")).to_contain_text("Google Contacts")
    preview = page.locator("#preview")
    expect(preview.locator('tr[data-row="2"]')).to_contain_text("create")
    expect(preview.locator('tr[data-row="3"]')).to_contain_text(
        "'grace@example' is not a valid email address"
    )
    expect(preview.locator('tr[data-row="4"]')).to_contain_text("Acme, Ltd")
    expect(page.get_by_label("Organization Name")).to_have_value("organisation")
    # A column changed is checked again at once (no "Check again" needed): without the email, Grace's row is fine.
    page.get_by_label("E-mail 1 - Value").select_option("")
    expect(preview.locator('tr[data-row="3"]')).not_to_contain_text("not a valid email address")
    page.get_by_label("E-mail 1 - Value").select_option("email")
    expect(preview.locator('tr[data-row="3"]')).to_contain_text(
        "'grace@example' is not a valid email address"
    )
    shot(page, "import-preview")
    assert Party.objects.count() == 0

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#progress")).to_be_visible()
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.QUEUED
    run_worker()  # the worker runs it; the page, polling, sees it finish and shows the summary
    expect(page.locator("#import-status")).to_have_text("Finished", timeout=15_000)
    expect(page.locator('[data-count="rows_read"]')).to_have_text("3")
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    expect(page.locator('[data-count="failed"]')).to_have_text("1")
    expect(page.locator("#failures")).to_contain_text("grace@example")
    expect(page.locator("#failures-download")).to_be_visible()
    shot(page, "import-summary")
    assert sorted(Party.objects.values_list("display_name", flat=True)) == [
        "Acme, Ltd",
        "Ada Lovelace",
        "Analytical Engines",
    ]

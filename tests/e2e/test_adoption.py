"""The adoption page in a real browser: a person's score with its sparkline, and a figure leading to the moves
behind it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.core import clock
from friday.deals.services import DealIn, deal_create, deal_move
from friday.insights import adoption
from friday.processes.services import process_import
from friday.processes.templates import starter_text
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_the_adoption_page_leads_to_the_moves_off_the_process(page: Page, live_server, admin):
    process_import(by=admin, source=starter_text("sales"))
    ada = make_person(admin, "Ada", "Quick", roles=["customer"])
    now = clock.now()  # this week's moves, however close to Monday midnight the test runs
    earlier = max(now - dt.timedelta(hours=2), adoption.week_start(adoption.week_of(clock.local_date(now))))
    with time_machine.travel(earlier, tick=False):
        deal = deal_create(by=admin, party=ada, data=DealIn(title="Loft conversion", value="9000"))
        deal_create(by=admin, party=ada, data=DealIn(title="Porch"))
        deal_move(by=admin, deal=deal, to="quoted", override=True, reason="Priced on the phone")
    adoption.refresh()
    sign_in(page, live_server.url, "/insights/adoption/")
    expect(page.get_by_role("heading", name="Is the process used?")).to_be_visible()
    row = page.locator(f'tr[data-person="{admin.pk}"]')
    expect(row.locator("svg.spark polyline")).to_have_count(1)
    # 3 moves this week (two entries and the override), 1 off the process: 100 − 35 × 1/3 = 88.3 → 88 (nothing
    # stuck, no reminders, and nobody logged anything, so nobody is compared with the team).
    expect(row.locator(".score")).to_have_text("88")
    expect(row.locator('a[data-signal="moves"]')).to_have_text("1")
    shot(page, "adoption")
    row.locator('a[data-signal="moves"]').click()
    expect(page.get_by_role("heading", name="Moves off the process")).to_be_visible()
    listed = page.locator("#adoption-list tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Loft conversion")
    expect(listed.first).to_contain_text("Priced on the phone")
    shot(page, "adoption-moves")
    page.get_by_role("link", name="← Is the process used?").click()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    expect(page.locator("#adoption-processes")).to_contain_text("Sales pipeline")

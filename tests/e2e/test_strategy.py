"""Goals in a real browser: the admin writes a goal on the Strategy page, sees where it stands with its trend, and
finds it at the top of the home page."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.core import clock
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_write_a_goal_and_see_it_on_the_strategy_page_and_the_dashboard(page: Page, live_server, admin):
    una = make_person(admin, "Una", "Late")
    reminder_create(
        by=admin, data=ReminderIn(title="Call Una", due_at=clock.now() - dt.timedelta(days=3), party=una)
    )
    sign_in(page, live_server.url, "/strategy/")
    expect(page.get_by_role("heading", name="Strategy")).to_be_visible()
    page.get_by_role("link", name="New goal").click()
    page.get_by_label("Title", exact=True).fill("Nothing left waiting")
    page.get_by_label("Metric", exact=True).select_option("overdue_reminders")
    page.get_by_label("Direction", exact=True).select_option("at_most")
    page.get_by_label("Target", exact=True).fill("0")
    page.get_by_label("Overdue more than … days").fill("2")
    page.get_by_role("button", name="Save").click()
    card = page.locator("section.goal")
    expect(card).to_contain_text("Nothing left waiting")
    expect(card.locator(".goal-value")).to_have_text("1")
    expect(card.locator(".goal-status")).to_have_text("Off track")
    expect(card.locator("svg rect")).to_have_count(6)
    expect(card.locator("table")).to_contain_text("(to date)")
    shot(page, "strategy")
    card.get_by_role("link", name="Open reminders, oldest first").click()
    expect(page).to_have_url(f"{live_server.url}/reminders/all/?status=active")
    page.goto(f"{live_server.url}/")
    strip = page.locator("#dashboard-goals")
    expect(strip).to_contain_text("Nothing left waiting")
    expect(strip).to_contain_text("Off track")
    shot(page, "dashboard-goals")

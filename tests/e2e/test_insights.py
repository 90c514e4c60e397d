"""The dashboard in a real browser: the seeded at-risk customer shows with its reason, and the tile leads to the
list of customers at risk."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.core import clock
from friday.feedback.models import Survey
from friday.feedback.services import feedback_answer, feedback_request
from friday.insights import metrics
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_the_dashboard_shows_who_is_at_risk_and_why(page: Page, live_server, admin):
    from friday.feedback.services import survey_defaults_install

    survey_defaults_install()
    una = make_person(admin, "Una", "Happy", roles=["customer"])
    _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=una)
    feedback_answer(token=raw, score=3, comment="Late twice")
    reminder_create(
        by=admin, data=ReminderIn(title="Call Una", due_at=clock.now() - dt.timedelta(days=3), party=una)
    )
    metrics.recompute()
    sign_in(page, live_server.url, "/")
    tile = page.locator("#tile-at-risk")
    expect(tile).to_contain_text("Una Happy")
    expect(tile).to_contain_text("detractor (NPS 3)")
    shot(page, "dashboard")
    page.get_by_role("link", name="Customers at risk").first.click()
    expect(page.get_by_role("heading", name="Customers at risk")).to_be_visible()
    row = page.locator(f'tr[data-party="{una.pk}"]')
    expect(row).to_contain_text("escalated reminder open")

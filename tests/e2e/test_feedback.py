"""Feedback in a real browser: answer a link with a detractor score, then see it on the party's timeline and
the reminder the starter rule made for the owner."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.automation import starters
from friday.automation.models import Rule
from friday.automation.services import rule_set_enabled, run_due, sweep
from friday.core import clock
from friday.feedback.models import Response, Survey
from friday.feedback.services import feedback_request, survey_defaults_install
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_answer_a_link_then_see_it_on_the_timeline_with_a_reminder(page: Page, live_server, admin):
    survey_defaults_install()
    starters.install(by=admin)
    rule_set_enabled(by=admin, rule=Rule.objects.get(name="Tell the owner about a detractor"), enabled=True)
    ada = make_person(admin, "Ada", "Lovelace", emails=["ada@example.com"])
    _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=ada, by=admin)
    # The customer, not signed in, opens the link from the email.
    page.goto(f"{live_server.url}/f/{raw}/")
    expect(page.get_by_role("heading", name="How likely are you to recommend us")).to_be_visible()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#score-error")).to_contain_text("Choose a score from 0 to 10")
    page.get_by_label("3", exact=True).check()
    page.get_by_label("What is the main reason for your score?").fill("The engineer was late.")
    shot(page, "feedback-answer")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#thanks")).to_be_visible()
    assert Response.objects.get().score == 3
    # Opening it again says it was used, and changes nothing.
    page.goto(f"{live_server.url}/f/{raw}/")
    expect(page.locator("#refused")).to_contain_text("already been used")
    with time_machine.travel(clock.now() + dt.timedelta(seconds=5)):
        assert sweep().fired == 1
        assert run_due(worker_id="e2e").done == 1
    # The owner signs in and sees the answer on the timeline and the reminder to call.
    sign_in(page, live_server.url, f"/parties/{ada.pk}/")
    expect(page.locator("ol.timeline")).to_contain_text("NPS 3/10")
    expect(page.locator("ol.timeline")).to_contain_text("The engineer was late.")
    expect(page.locator("#party-feedback")).to_contain_text("detractor")
    expect(page.get_by_role("link", name="Call Ada Lovelace: they gave NPS 3")).to_be_visible()
    shot(page, "feedback-party")
    page.goto(f"{live_server.url}/feedback/")
    expect(page.locator("#report-total")).to_have_text("-100.0")
    shot(page, "feedback-report")

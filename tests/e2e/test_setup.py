"""The setup guide in a real browser: a new install is led from the dashboard through the steps, skips one, takes
it up again later, and the checklist on the dashboard follows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.automation.models import Rule
from friday.core.models import Business
from friday.setup.steps import steps
from tests.conftest import PASSWORD
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_a_new_install_walks_through_the_guide(page: Page, live_server, admin):
    sign_in(page, live_server.url, "/")
    checklist = page.locator("#setup-checklist")
    total = len(steps())  # seven: the six of the setup app and the first goals
    expect(checklist).to_contain_text(f"0 of {total} done")
    shot(page, "setup-checklist")
    page.locator("#setup-continue").click()

    # (a) the business — a typo first, then the right zone
    expect(page.locator("#step-title")).to_have_text("Your business")
    page.get_by_label("Business name").fill("Hopper Heating")
    page.get_by_label("Time zone").fill("Europe/Londn")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#id_time_zone_error")).to_contain_text("Europe/Londn is not a time zone")
    page.get_by_label("Time zone").fill("Europe/Dublin")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Save and continue").click()

    # (b) the words: edit one definition, keep the rest as the template has them
    expect(page.locator("#step-title")).to_have_text("Your words")
    page.get_by_label("Definition of Callout").fill("A visit the same day, charged at the callout rate.")
    page.get_by_role("button", name="Save the ticked terms").click()

    # (c) the main process: skipped for now
    expect(page.locator("#step-title")).to_have_text("Your main process")
    page.get_by_role("button", name="Skip for now").click()

    # (d) the team: invite someone, see the one-time password once
    expect(page.locator("#step-title")).to_have_text("Your team")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Invite").click()
    expect(page.locator("#one-time-password")).to_have_text(re.compile(r"\S{12,}"))
    expect(page.locator("#team-users")).to_contain_text("alice")
    shot(page, "setup-team")
    page.locator("#next-step").click()

    # (e) contacts: the import is one click away; left for later
    expect(page.locator("#step-title")).to_have_text("Your contacts")
    expect(page.locator("#import-link")).to_have_attribute("href", "/imports/")
    page.locator("#next-step").click()

    # (f) the starter rules: added switched off, forecast shown, one switched on
    expect(page.locator("#step-title")).to_have_text("Three starter rules")
    page.get_by_role("button", name="Add the starter rules").click()
    birthday = page.locator('section[data-rule="Birthday email"]')
    expect(birthday.locator(".forecast")).to_contain_text("firings in the next 30 days")
    shot(page, "setup-rules")
    birthday.get_by_label("Switch it on").check()
    page.get_by_role("button", name="Switch on the ticked rules").click()

    # (g) the first goals: one starter goal adopted, and it heads the dashboard
    expect(page.locator("#step-title")).to_have_text("Your first goals")
    page.locator("#goal-retention").check()
    page.locator("#add-goals").click()

    page.goto(f"{live_server.url}/")
    expect(page.locator("#dashboard-goals")).to_contain_text("Keep 90% of last year's customers")
    expect(checklist).to_contain_text(f"5 of {total} done")
    expect(checklist.locator('li[data-step="process"]')).to_have_attribute("data-status", "skipped")
    expect(checklist.locator('li[data-step="contacts"]')).to_have_attribute("data-status", "open")
    expect(page.locator("#setup-dismiss")).to_have_count(0)  # not while a step is open

    # Later: resume the skipped step from the guide and pick a template.
    checklist.get_by_role("link", name="Set up Friday").click()
    page.locator("#resume-process").click()
    expect(page.locator("#step-title")).to_have_text("Your main process")
    expect(page.locator("#step-status")).to_have_attribute("data-status", "open")
    page.locator("#install-jobs").click()
    expect(page.get_by_role("heading", name=re.compile("Job workflow"))).to_be_visible()
    page.goto(f"{live_server.url}/setup/process/")
    expect(page.locator("#step-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#your-processes")).to_contain_text("Job workflow")
    expect(page.locator("#main-process section.diagram svg")).to_contain_text(
        "Quality check"
    )  # the flowchart
    shot(page, "setup-process")

    page.goto(f"{live_server.url}/")
    expect(checklist).to_contain_text(f"6 of {total} done")
    expect(checklist.locator('li[data-step="process"]')).to_have_attribute("data-status", "done")
    shot(page, "setup-checklist-later")

    row = Business.objects.get()
    assert (row.name, row.time_zone, row.currency) == ("Hopper Heating", "Europe/Dublin", "EUR")
    assert list(Rule.objects.filter(enabled=True).values_list("name", flat=True)) == ["Birthday email"]

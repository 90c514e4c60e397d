"""Automation in a real browser: build a rule in the form builder, see its forecast, switch it on, see it run."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.automation.services import run_due, sweep
from friday.core import clock
from friday.messaging.services import TemplateIn, template_save
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_build_a_rule_see_its_forecast_switch_it_on_and_see_it_run(page: Page, live_server, admin):
    template_save(
        by=admin,
        data=TemplateIn(
            key="welcome", name="Welcome", subject="Welcome, {{ party.first_name }}", body_text="Hi."
        ),
    )
    soon = (clock.now() + dt.timedelta(days=5)).date()
    make_person(admin, "Grace", "Hopper", birthday=soon.replace(year=soon.year - 50))
    sign_in(page, live_server.url, "/automation/new/")
    page.get_by_label("Name").fill("Birthday reminder")
    page.get_by_label("When", exact=True).select_option("yearly")
    expect(page.get_by_label("Days before")).to_be_visible()
    expect(page.get_by_label("Days without contact")).to_be_hidden()
    page.locator('select[name="act_0"]').select_option("create_reminder")
    page.locator('input[name="act_0_title"]').fill("Call {party}")
    expect(page.locator('select[name="act_0_template"]')).to_be_hidden()
    page.get_by_role("button", name="See what it would do").click()
    expect(page.locator("#forecast-count")).to_contain_text("1 firing")
    expect(page.locator("#forecast")).to_contain_text("Grace Hopper")
    shot(page, "rule-forecast")
    # Switch the trigger: a welcome message for every new party.
    page.get_by_label("When", exact=True).select_option("event")
    page.get_by_label("What happens").select_option("party.created")
    page.locator('select[name="act_1"]').select_option("send_message")
    page.locator('select[name="act_1_template"]').select_option("welcome")
    page.get_by_role("button", name="See what it would do").click()
    expect(page.locator("#forecast-events")).to_be_visible()
    page.get_by_label("On", exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("“Birthday reminder” was saved and is on.")).to_be_visible()
    expect(page.locator("#rules")).to_contain_text("Birthday reminder")
    make_person(admin, "Alan", "Turing", emails=["alan@example.com"])
    sweep()
    run_due(worker_id="e2e")
    page.goto(f"{live_server.url}/automation/runs/")
    expect(page.locator("#runs")).to_contain_text("Alan Turing")
    expect(page.locator('#runs [data-status="done"]')).to_have_count(2)
    shot(page, "rule-runs")

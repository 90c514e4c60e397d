"""The sandbox in a real browser: draft a change to a live rule, see its forecast beside the live rule's, go live
from the sandbox page, and find it in the rule's history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.automation.models import Rule
from friday.automation.services import RuleIn, rule_save
from friday.core import clock
from friday.messaging.services import TemplateIn, template_save
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_draft_a_rule_change_see_the_forecast_and_go_live(page: Page, live_server, admin):
    for key in ("birthday", "card"):
        template_save(by=admin, data=TemplateIn(key=key, name=key.title(), subject="Hello", body_text="Hi."))
    today = clock.today()
    # Grace's birthday is in 5 days, Alan's in 20: the live rule reaches both in the next 30 days.
    for given, family, days in (("Grace", "Hopper", 5), ("Alan", "Turing", 20)):
        day = today + dt.timedelta(days=days)
        make_person(
            admin,
            given,
            family,
            birthday=day.replace(year=day.year - 40),
            roles=["customer"] if days == 5 else [],
        )
    rule = rule_save(
        by=admin,
        data=RuleIn(
            name="Birthday email",
            trigger={"type": "yearly", "field": "birthday", "days_before": 0, "at": "09:00"},
            actions=[{"type": "send_message", "template": "birthday"}],
            enabled=True,
        ),
    )
    sign_in(page, live_server.url, f"/automation/{rule.pk}/")
    # Only customers from now on: the forecast beside the live rule says who drops out.
    page.locator('select[name="cond_0"]').select_option("role")
    page.locator('select[name="cond_0_role"]').select_option("customer")
    page.get_by_role("button", name="See what it would do").click()
    expect(page.locator("#forecast-compare")).to_contain_text("+0 added")
    expect(page.locator("#forecast-compare")).to_contain_text("−1 no longer made")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text("the rule itself is unchanged until it goes live")).to_be_visible()
    expect(page.locator('#forecast-summary [data-row="removed"] td')).to_have_text("1")
    expect(page.locator("#forecast-removed")).to_contain_text("Alan Turing")
    expect(page.locator('#draft-parts [data-part="Only if"]')).to_have_attribute("data-changed", "1")
    shot(page, "sandbox-rule-draft")
    assert Rule.objects.get(pk=rule.pk).conditions == {}  # the live rule is untouched
    page.get_by_role("link", name="Sandbox", exact=True).first.click()
    row = page.locator(f'#sandbox-rules tr[data-rule="{rule.pk}"]')
    expect(row).to_contain_text("−1 no longer")
    shot(page, "sandbox")
    row.get_by_role("button", name="Go live").click()
    expect(page.get_by_text("“Birthday email” is live")).to_be_visible()
    expect(page.locator("#sandbox-rules")).to_contain_text("No rule draft.")
    live = Rule.objects.get(pk=rule.pk)
    assert live.draft == {} and live.conditions != {} and live.enabled
    page.goto(f"{live_server.url}/automation/{rule.pk}/history/")
    expect(page.locator('#history tr[data-how="live"]')).to_contain_text("conditions")
    expect(page.locator('#history tr[data-how="live"]')).to_contain_text(re.compile("boss", re.I))


def test_review_a_process_draft_that_strands_a_record_and_publish_it(page: Page, live_server, admin):
    from friday.processes import services as process_services
    from friday.processes.templates import starter_text
    from tests.sandbox.test_process_drafts import draft_source

    process, _ = process_services.process_import(by=admin, source=starter_text("lifecycle"))
    lou = make_person(admin, "Lou", "Reed", emails=["lou@example.com"])
    process_services.stage_move(
        by=admin, record_type="party", record=lou, to="lapsed", override=True, reason="Set up"
    )
    process.refresh_from_db()
    process_services.process_draft_save(by=admin, process=process, source=draft_source(process))
    sign_in(page, live_server.url, "/sandbox/")
    row = page.locator(f'#sandbox-processes tr[data-process="{process.key}"]')
    expect(row).to_contain_text("1 stranded")
    row.get_by_role("link", name="Customer lifecycle").click()
    expect(page.locator("#flow-current svg")).to_contain_text("Lapsed")
    expect(page.locator("#flow-draft svg")).to_contain_text("Lead")
    expect(page.locator('#draft-diff tr[data-change="removed"]')).to_contain_text("lapsed")
    stranded = page.locator('#affected tr[data-stage="lapsed"]')
    expect(stranded).to_have_attribute("data-fate", "stranded")
    expect(stranded).to_contain_text("Lapsed dormant")
    expect(page.locator('ul[data-records="lapsed"]')).to_contain_text("Lou Reed")
    shot(page, "sandbox-process-draft")
    page.get_by_label("What changed").fill("Lapsed becomes dormant")
    page.get_by_role("button", name="Publish as version 2").click()
    expect(page.get_by_text("Version 2 of Customer lifecycle is published")).to_be_visible()
    expect(page.locator("#versions-h + ul")).to_contain_text("Lapsed becomes dormant")
    expect(page.get_by_text("its 1 record moved to it")).to_be_visible()
    from friday.processes.models import PartyStage

    assert PartyStage.objects.get(party=lou).stage == "dormant"

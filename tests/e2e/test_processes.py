"""Processes and deals in a real browser: the editor redraws as you type; the board moves and refuses."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from friday.accounts import services as account_services
from friday.deals.services import DealIn, deal_create
from friday.processes.services import process_import
from friday.processes.templates import starter_text
from tests.conftest import PASSWORD, make_person

SHOTS = os.environ.get("FRIDAY_SCREENSHOTS")  # a folder: save what the browser saw, for reviewing the pages


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def drag(page: Page, source: Locator, target: Locator) -> None:
    """Drag with the mouse in steps, as a person does (one-step drag_to starts no HTML5 drag here)."""
    target.scroll_into_view_if_needed()
    source.hover(position={"x": 60, "y": 10})
    page.mouse.down()
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 60, steps=10)  # near its left edge: the board may scroll
    page.mouse.move(box["x"] + 35, box["y"] + 70, steps=3)
    page.mouse.up()


def sign_in(page: Page, base: str, path: str) -> None:
    page.goto(f"{base}{path}")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_edit_a_process_and_see_the_flowchart_change(page: Page, live_server, admin):
    sign_in(page, live_server.url, "/processes/")
    page.get_by_role("button", name="Use this template").nth(1).click()  # the sales pipeline
    expect(page.get_by_role("heading", name=re.compile("Sales pipeline"))).to_be_visible()
    chart = page.locator("section.diagram svg")
    expect(chart).to_contain_text("Negotiating")
    shot(page, "process-detail")
    page.get_by_role("link", name="Edit").click()
    editor = page.get_by_label("Process (YAML)")
    preview = page.locator("#check svg")
    expect(preview).to_contain_text("Negotiating")
    expect(page.locator("#check")).to_contain_text("Ready to publish")
    text = editor.input_value()
    editor.fill(text.replace("name: Negotiating", "name: Agreeing details"))
    expect(preview).to_contain_text("Agreeing details")
    expect(preview).not_to_contain_text("Negotiating")
    # Cut the way out of "Agreeing details": the check says it is a dead end, the drawing follows.
    broken = (
        starter_text("sales")
        .replace("name: Negotiating", "name: Agreeing details")
        .replace("- {from: negotiating, to: won}\n", "")
        .replace("- {from: negotiating, to: lost}\n", "")
    )
    editor.fill(broken)
    expect(page.locator("#check")).to_contain_text("Not a process yet")
    expect(page.locator("#check .findings")).to_contain_text("can never leave it")
    shot(page, "process-editor")
    editor.fill(text.replace("name: Negotiating", "name: Agreeing details"))
    expect(page.locator("#check")).to_contain_text("Ready to publish")
    page.get_by_label("What changed").fill("Plain words")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 2 is published.")).to_be_visible()
    expect(page.locator("section.diagram svg")).to_contain_text("Agreeing details")


def test_move_a_deal_on_the_board_and_see_a_refusal(page: Page, live_server, admin):
    process_import(by=admin, source=starter_text("sales"))
    party = make_person(admin, "Grace", "Hopper")
    deal = deal_create(by=admin, party=party, data=DealIn(title="Combi boiler swap", value="4250"))
    sign_in(page, live_server.url, "/deals/board/")
    card = page.locator(f'article.deal[data-deal="{deal.pk}"]')
    expect(page.locator('section.column[data-stage="enquiry"]').locator(card)).to_be_visible()
    # The stage's definition shows on hover.
    page.locator("#col-survey .stage").hover()
    expect(page.locator("#col-survey .stage .tip")).to_be_visible()
    expect(page.locator("#col-survey .stage .tip")).to_contain_text("A visit to see the job is booked")
    shot(page, "board")
    # Drag straight to Won: refused, with the stages it may go to.
    drag(page, card, page.locator('section.column[data-stage="won"]'))
    refused = page.locator("#refused")
    expect(refused).to_contain_text("Enquiry → Won is not a step in Sales pipeline")
    expect(refused.locator('[data-stage="survey"]')).to_be_visible()
    expect(refused.locator('[data-stage="lost"]')).to_be_visible()
    shot(page, "refused")
    # Choosing another stage shows what it needs at once, before any attempt; the refusal goes away.
    page.get_by_label("Move to").select_option("survey")
    expect(page.get_by_label("Visit in the diary")).to_be_visible()
    expect(page.locator("#refused")).to_have_count(0)
    # An admin may also pick a stage that is not a next step: it is marked as an override.
    page.get_by_label("Move to").select_option("won")
    expect(page.locator("#not-declared")).to_be_visible()
    expect(page.get_by_label("Acceptance on file")).to_be_visible()
    # Drag to Survey booked: the page asks for its checklist, then the card is there.
    page.goto(f"{live_server.url}/deals/board/")
    drag(page, card, page.locator('section.column[data-stage="survey"]'))
    expect(page.locator("#missing")).to_contain_text("Visit in the diary")
    page.get_by_label("Visit in the diary").check()
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Combi boiler swap moved to Survey booked.")).to_be_visible()
    expect(page.locator('section.column[data-stage="survey"]').locator(card)).to_be_visible()
    # And with the card's own button.
    card.get_by_label("Move Combi boiler swap to").select_option("quoted")
    card.get_by_role("button", name="Move").click()
    expect(page.locator('section.column[data-stage="quoted"]').locator(card)).to_be_visible()

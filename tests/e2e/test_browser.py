"""A user's first minutes, in a real browser: sign in, add a person, fix a bad email, note, search."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services
from friday.parties.models import Party
from tests.conftest import PASSWORD


@pytest.fixture
def staff(transactional_db):
    admin, _ = services.admin_create_from_cli(username="admin", password=PASSWORD)
    team = services.team_create(by=admin, name="Office")
    return services.user_create(
        by=admin, username="sam", password=PASSWORD, role="member", first_name="Sam", teams=[team]
    )


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/parties/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Parties")).to_be_visible()


def test_create_fix_note_and_search(page: Page, live_server, staff):
    base = live_server.url
    sign_in(page, base, "sam")

    page.get_by_role("link", name="Add person").click()
    page.get_by_label("Given name").fill("Ada")
    page.get_by_label("Family name").fill("Lovelace")
    page.get_by_label("Emails").fill("ada-at-example.com")
    page.get_by_label("Phones").fill("0161 496 0123")
    page.get_by_role("checkbox", name="Customer").check()
    page.get_by_role("button", name="Save").click()

    # the error shows beside the field, and nothing was saved
    error = page.locator("#id_emails_error")
    expect(error).to_contain_text("not a valid email address")
    assert Party.objects.count() == 0
    expect(page.get_by_label("Given name")).to_have_value("Ada")  # what was typed is kept

    page.get_by_label("Emails").fill("ada@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("Ada Lovelace"))).to_be_visible()
    expect(page.get_by_text("ada@example.com")).to_be_visible()

    # add a note: it appears on the timeline without a page load
    page.get_by_label("Subject").fill("First visit")
    page.get_by_label("What happened").fill("Boiler is 15 years old; quote for replacement.")
    page.get_by_role("button", name="Add to timeline").click()
    timeline = page.get_by_role("list", name="History, newest first")
    expect(timeline.locator("li").first).to_contain_text("Boiler is 15 years old")
    expect(timeline.locator("li").first).to_contain_text("Sam")

    # log a call, too
    page.get_by_role("button", name="Log a call").click()
    page.get_by_label("What happened").fill("Called to book the survey")
    page.get_by_role("button", name="Add to timeline").click()
    expect(timeline.locator("li").first).to_contain_text("Call")

    # search finds her by part of the phone number, as people type it
    page.get_by_role("link", name="Parties").click()
    page.get_by_label("Search names, emails, phones").fill("496 01")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    page.get_by_label("Search names, emails, phones").fill("nobody-like-this")
    expect(results).to_contain_text("No records match")


def test_sign_in_errors_and_sign_out(page: Page, live_server, staff):
    base = live_server.url
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Good to see you"))).to_be_visible()
    page.get_by_role("button", name=re.compile("Sign out")).click()
    expect(page).to_have_url(re.compile(r"/login/"))


def test_layout_works_on_a_phone_screen(page: Page, live_server, staff):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_server.url, "sam")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page scrolls sideways on a phone ({width}px)"


def test_an_empty_note_shows_its_error_without_a_page_load(page: Page, live_server, staff):
    from friday.parties.services import PartyIn, party_create

    party = party_create(by=staff, data=PartyIn(kind="person", given_name="Ada"))
    sign_in(page, live_server.url, "sam")
    page.goto(f"{live_server.url}/parties/{party.pk}/")
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.get_by_role("alert")).to_contain_text("Write something")
    assert "<script" not in page.title()

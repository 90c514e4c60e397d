"""Duplicates in a real browser: open the list, open a pair, pick a value, merge, and land on the survivor with the
merge on its timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.duplicates.services import duplicates_scan
from friday.parties.models import Party
from friday.parties.services import activity_log
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_open_a_pair_choose_a_value_and_merge(page: Page, live_server, admin):
    ada = make_person(admin, "Ada", "Lovelace", emails=["ada@example.com"], phones=["0161 496 0001"])
    king = make_person(admin, "Ada", "King", emails=["ADA@example.com", "king@example.com"])
    activity_log(by=admin, party=king, kind="call", subject="Asked about the analytical engine")
    duplicates_scan(full=True)

    sign_in(page, live_server.url, "/parties/duplicates/")
    expect(page.get_by_role("heading", name="Likely duplicates")).to_be_visible()
    row = page.locator("#pairs tbody tr").first
    expect(row).to_contain_text("Same email ada@example.com")
    shot(page, "duplicates")
    row.get_by_role("link", name="Compare and merge").click()

    expect(page.get_by_role("heading", name="Merge two records")).to_be_visible()
    family = page.locator('tr[data-field="family_name"]')
    expect(family).to_contain_text("Lovelace")
    expect(family).to_contain_text("King")
    family.get_by_label(re.compile("Family name: King")).check()
    page.get_by_label(re.compile("king@example.com")).check()
    shot(page, "merge")
    page.get_by_role("button", name="Merge into Ada Lovelace").click()

    expect(page).to_have_url(re.compile(rf"/parties/{ada.pk}/$"))
    expect(page.get_by_role("heading", name=re.compile("Ada King"))).to_be_visible()
    expect(page.locator(".messages")).to_contain_text(f"Ada King (#{king.pk}) was merged into this record")
    timeline = page.locator("#timeline-section")
    expect(timeline).to_contain_text(f"Merged Ada King (#{king.pk}) into this record")
    expect(timeline).to_contain_text("Asked about the analytical engine")  # King's call, now Ada's
    shot(page, "merged")
    assert not Party.objects.filter(pk=king.pk).exists()

"""The party pages, through Django's test client: lists, forms with errors beside fields, timeline, hand-over."""

from __future__ import annotations

import re

import pytest

from friday.core.models import DomainEvent
from friday.parties.models import Activity, Party
from friday.parties.services import custom_field_create
from tests.conftest import make_org, make_person

pytestmark = pytest.mark.django_db


def _field_error(html: str, field: str) -> str:
    match = re.search(rf'id="id_{field}_error"[^>]*><li>(.*?)</li>', html, re.S)
    return match.group(1) if match else ""


def test_list_search_filters_and_htmx_partial(cast, web_for):
    make_person(
        cast.alice, "Katherine", "Johnson", phones=["0161 496 0777"], roles=["customer"], tags=["Langley"]
    )
    make_person(cast.alice, "Mary", "Jackson", roles=["supplier"])
    client = web_for(cast.alice)
    page = client.get("/parties/").content.decode()
    assert "Katherine Johnson" in page and "Mary Jackson" in page and "<nav" in page
    found = client.get("/parties/", {"q": "496 077"}).content.decode()
    assert "Katherine Johnson" in found and "Mary Jackson" not in found
    partial = client.get("/parties/", {"role": "supplier"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    body = partial.content.decode()
    assert "<html" not in body and "Mary Jackson" in body and "Katherine Johnson" not in body
    bad = client.get("/parties/", {"sort": "password"})
    assert bad.status_code == 400 and "Cannot sort by" in bad.content.decode()


def test_list_pages_with_a_cursor(cast, web_for):
    for i in range(55):
        make_person(cast.alice, f"Person{i:02d}", "Test")
    client = web_for(cast.alice)
    first = client.get("/parties/").content.decode()
    assert "Person49 Test" in first and "Person50 Test" not in first
    cursor = re.search(r'cursor=([^"&]+)" rel="next"', first).group(1)
    second = client.get(f"/parties/?cursor={cursor}").content.decode()
    assert "Person50 Test" in second and "Person49 Test" not in second


def test_create_shows_errors_beside_fields_then_saves(cast, web_for):
    client = web_for(cast.alice)
    form = {
        "kind": "person",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "emails": "ada-at-example",
        "phones": "12",
        "roles": ["customer"],
        "tags": "VIP, Maths",
    }
    response = client.post("/parties/new/", form)
    assert response.status_code == 422
    html = response.content.decode()
    assert "not a valid email address" in _field_error(html, "emails")
    assert "not a valid phone number" in _field_error(html, "phones")
    assert Party.objects.count() == 0
    form.update(emails="ada@example.com", phones="0161 496 0001")
    response = client.post("/parties/new/", form)
    party = Party.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/parties/{party.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert (
        "ada@example.com" in detail and "+441614960001" in detail and "Customer" in detail and "VIP" in detail
    )


def test_create_warns_about_duplicates_and_saves_when_confirmed(cast, web_for):
    make_person(cast.alice, emails=["ada@example.com"])
    client = web_for(cast.alice)
    form = {"kind": "person", "given_name": "Augusta", "family_name": "King", "emails": "ADA@example.com"}
    response = client.post("/parties/new/", form)
    html = response.content.decode()
    assert response.status_code == 422 and "This may already be in Friday" in html and "Ada Lovelace" in html
    assert Party.objects.count() == 1
    response = client.post("/parties/new/", {**form, "confirm_duplicates": "on"})
    assert response.status_code == 302 and Party.objects.count() == 2


def test_person_linked_to_an_organisation_by_name(cast, web_for):
    make_org(cast.alice, "Analytical Engines Ltd")
    client = web_for(cast.alice)
    suggest = client.get("/parties/organisations/suggest/", {"organisation": "engin"}).content.decode()
    assert 'value="Analytical Engines Ltd"' in suggest
    form = {
        "kind": "person",
        "given_name": "Charles",
        "family_name": "Babbage",
        "organisation": "analytical engines ltd",
        "job_title": "Inventor",
    }
    assert client.post("/parties/new/", form).status_code == 302
    person = Party.objects.get(display_name="Charles Babbage")
    assert person.affiliations.get().job_title == "Inventor"
    missing = client.post(
        "/parties/new/", {**form, "given_name": "C", "organisation": "Nope Ltd", "confirm_duplicates": "on"}
    )
    assert "no organisation called" in _field_error(missing.content.decode(), "organisation")


def test_edit_changes_fields_and_custom_values(cast, web_for):
    custom_field_create(by=cast.admin, key="fleet", label="Fleet size", field_type="number")
    party = make_person(cast.alice, emails=["ada@example.com"])
    client = web_for(cast.alice)
    page = client.get(f"/parties/{party.pk}/edit/").content.decode()
    assert "ada@example.com" in page and "Fleet size" in page
    form = {
        "given_name": "Ada",
        "family_name": "King",
        "emails": "ada@example.com\nada.king@example.com",
        "custom_fleet": "abc",
    }
    assert "Enter a number" in _field_error(
        client.post(f"/parties/{party.pk}/edit/", form).content.decode(), "custom_fleet"
    )
    form["custom_fleet"] = "3"
    assert client.post(f"/parties/{party.pk}/edit/", form).status_code == 302
    party.refresh_from_db()
    assert party.display_name == "Ada King" and party.custom == {"fleet": "3"}
    assert party.emails.count() == 2


def test_add_note_and_call_with_htmx_updates_the_timeline(cast, web_for):
    party = make_person(cast.alice)
    client = web_for(cast.alice)
    response = client.post(
        f"/parties/{party.pk}/activities/",
        {"kind": "note", "body": "Prefers mornings"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Prefers mornings" in html and "<html" not in html
    client.post(f"/parties/{party.pk}/activities/", {"kind": "call", "subject": "Quote follow-up"})
    assert list(
        Activity.objects.filter(party=party)
        .exclude(kind="system")
        .values_list("kind", flat=True)
        .order_by("id")
    ) == ["note", "call"]
    empty = client.post(f"/parties/{party.pk}/activities/", {"kind": "note"}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 422 and "Write something" in empty.content.decode()


def test_timeline_pages_older_entries(cast, web_for):
    party = make_person(cast.alice)
    from friday.parties.services import activity_log

    for i in range(25):
        activity_log(by=cast.alice, party=party, kind="note", body=f"entry {i}")
    client = web_for(cast.alice)
    detail = client.get(f"/parties/{party.pk}/").content.decode()
    assert "entry 24" in detail and "entry 4" not in detail.replace("entry 24", "")
    cursor = re.search(r'timeline/\?cursor=([^"]+)"', detail).group(1)
    older = client.get(f"/parties/{party.pk}/timeline/?cursor={cursor}").content.decode()
    assert "entry 4" in older and "Person created" in older


def test_handover_from_the_page(cast, web_for):
    party = make_person(cast.alice)
    client = web_for(cast.alice)
    response = client.post(f"/parties/{party.pk}/handover/", {"owner": cast.bob.pk, "team": cast.blue.pk})
    # alice can no longer see it (it went to the Blue team): she is sent back to the list
    assert response.status_code == 302 and response["Location"] == "/parties/"
    party.refresh_from_db()
    assert party.owner == cast.bob and party.team == cast.blue
    assert DomainEvent.objects.filter(name="party.owner_changed").count() == 1


def test_delete_asks_then_deletes(cast, web_for):
    party = make_person(cast.alice)
    client = web_for(cast.alice)
    assert "Delete for good" in client.get(f"/parties/{party.pk}/delete/").content.decode()
    assert client.post(f"/parties/{party.pk}/delete/").status_code == 302
    assert not Party.objects.filter(pk=party.pk).exists()


def test_pages_need_sign_in(client):
    response = client.get("/parties/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_admin_defines_custom_fields_on_a_page(cast, web_for):
    client = web_for(cast.admin)
    bad = client.post("/parties/fields/", {"label": "Tier", "field_type": "choice", "choices": ""})
    assert bad.status_code == 422 and "needs at least one choice" in _field_error(
        bad.content.decode(), "choices"
    )
    ok = client.post(
        "/parties/fields/",
        {"label": "Service tier", "field_type": "choice", "choices": "Gold\nSilver", "required": "on"},
    )
    assert ok.status_code == 302
    page = client.get("/parties/fields/").content.decode()
    assert "Service tier" in page and "service_tier" in page and "Gold, Silver" in page
    # the new field appears on the record form, and is required there
    form = web_for(cast.alice).post("/parties/new/", {"kind": "person", "given_name": "Ada"})
    assert "Service tier is required" in _field_error(form.content.decode(), "custom_service_tier")
    assert web_for(cast.alice).get("/parties/fields/").status_code == 403


def test_custom_fields_api(cast, api_for):
    assert api_for(cast.alice).post("/custom-fields", {"label": "X", "field_type": "text"}).status_code == 403
    created = api_for(cast.admin).post("/custom-fields", {"label": "Fleet size", "field_type": "number"})
    assert created.status_code == 201 and created.json()["key"] == "fleet_size"
    assert [f["key"] for f in api_for(cast.reader).get("/custom-fields").json()] == ["fleet_size"]
    bad = api_for(cast.admin).post("/custom-fields", {"label": "Y", "field_type": "colour"})
    assert bad.status_code == 422 and bad.json()["field"] == "field_type"


def test_editing_keeps_dates_and_records_only_real_changes(cast, web_for):
    import datetime as dt

    party = make_person(cast.alice, birthday=dt.date(1996, 2, 29), customer_since=dt.date(2020, 5, 1))
    client = web_for(cast.alice)
    page = client.get(f"/parties/{party.pk}/edit/").content.decode()
    assert 'value="1996-02-29"' in page and 'value="2020-05-01"' in page  # what <input type=date> accepts
    form = {
        "given_name": "Augusta",
        "family_name": "Lovelace",
        "birthday": "1996-02-29",
        "customer_since": "2020-05-01",
        "team": cast.red.pk,
    }
    assert client.post(f"/parties/{party.pk}/edit/", form).status_code == 302
    party.refresh_from_db()
    assert party.birthday == dt.date(1996, 2, 29) and party.customer_since == dt.date(2020, 5, 1)
    assert DomainEvent.objects.get(name="party.updated").payload["fields"] == ["given_name"]


def test_organisation_page_lists_only_people_the_user_may_see(cast, web_for):
    from friday.parties.services import AffiliationIn

    org = make_org(cast.manager, "Acme Ltd", team=cast.red)
    make_person(
        cast.alice, "Red", "Person", affiliations=[AffiliationIn(organisation=org, job_title="Buyer")]
    )
    make_person(
        cast.manager,
        "Blue",
        "Person",
        owner=cast.bob,
        team=cast.blue,
        affiliations=[AffiliationIn(organisation=org)],
    )
    page = web_for(cast.manager).get(f"/parties/{org.pk}/").content.decode()
    assert "Red Person" in page and "Buyer" in page and "Blue Person" in page
    # bob cannot see Acme (team Red): his person's page does not name it
    blue = Party.objects.get(display_name="Blue Person")
    assert "Acme" not in web_for(cast.bob).get(f"/parties/{blue.pk}/").content.decode()


def test_timeline_entry_can_be_dated_in_the_past(cast, web_for):
    party = make_person(cast.alice)
    client = web_for(cast.alice)
    client.post(
        f"/parties/{party.pk}/activities/",
        {"kind": "call", "body": "Rang back", "occurred_at": "2026-01-05T09:30"},
    )
    call = Activity.objects.get(party=party, kind="call")
    assert call.occurred_at.year == 2026 and call.occurred_at.month == 1 and call.occurred_at.day == 5

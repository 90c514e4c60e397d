"""The parties API: CRUD, keyset paging, filters, sorting, search, and every kind of bad input."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from friday.core.models import DomainEvent
from friday.parties.models import Activity, Party
from tests.conftest import make_org, make_person

pytestmark = pytest.mark.django_db


def test_create_read_update_delete(cast, api_for):
    api = api_for(cast.alice)
    acme = make_org(cast.alice, "Acme Ltd")
    created = api.post(
        "/parties",
        {
            "kind": "person",
            "given_name": "Grace",
            "family_name": "Hopper",
            "emails": ["Grace@Navy.example"],
            "phones": ["07911 123456"],
            "roles": ["customer", "partner"],
            "tags": ["VIP"],
            "affiliations": [{"organisation_id": acme.pk, "job_title": "Rear Admiral"}],
            "addresses": [{"line1": "1 Navy Way", "city": "Leeds", "postcode": "LS1 1AA", "country": "gb"}],
            "birthday": "1996-02-29",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["emails"][0]["address"] == "grace@navy.example"
    assert body["phones"][0]["number"] == "+447911123456"
    assert body["roles"] == ["customer", "partner"]
    assert body["affiliations"] == [
        {"organisation_id": acme.pk, "organisation_name": "Acme Ltd", "job_title": "Rear Admiral"}
    ]
    assert body["addresses"][0]["country"] == "GB"
    assert body["owner"]["id"] == cast.alice.pk and body["team"]["name"] == "Red"
    pid = body["id"]

    patched = api.patch(f"/parties/{pid}", {"family_name": "Murray Hopper", "birthday": None, "tags": []})
    assert patched.status_code == 200, patched.content
    assert patched.json()["display_name"] == "Grace Murray Hopper"
    assert patched.json()["birthday"] is None and patched.json()["tags"] == []
    assert DomainEvent.objects.get(name="party.updated", subject_id=pid).payload["fields"] == [
        "birthday",
        "family_name",
        "tags",
    ]

    assert api.get(f"/parties/{pid}").json()["display_name"] == "Grace Murray Hopper"
    assert api.delete(f"/parties/{pid}").status_code == 204
    assert api.get(f"/parties/{pid}").status_code == 404
    assert DomainEvent.objects.filter(name="party.deleted", subject_id=pid).exists()


def test_duplicate_answers_409_with_matches_until_allowed(cast, api_for):
    api = api_for(cast.alice)
    make_person(cast.alice, emails=["ada@example.com"])
    body = {"kind": "person", "given_name": "A", "family_name": "L", "emails": ["ADA@example.com"]}
    refused = api.post("/parties", body)
    assert refused.status_code == 409
    assert refused.json()["code"] == "party.possible_duplicates"
    assert refused.json()["extra"]["matches"][0]["display_name"] == "Ada Lovelace"
    check = api.post("/parties/duplicates", {"kind": "person", "emails": ["ada@EXAMPLE.com"]})
    assert check.json()["matches"][0]["reasons"] == ["same email ada@example.com"]
    assert api.post("/parties", body, query="?allow_duplicates=true").status_code == 201


def test_keyset_pagination_walks_every_row_once(cast, api_for):
    api = api_for(cast.manager)
    names = [f"Person {i:03d}" for i in range(37)]
    for name in names:
        make_person(cast.manager, *name.split())
    seen, cursor = [], None
    while True:
        params = {"limit": 10, "sort": "-name"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/parties", **params).json()
        seen += [p["display_name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(names, reverse=True)


def test_filters_by_role_tag_owner_team_and_kind(cast, api_for):
    api = api_for(cast.manager)
    make_person(cast.alice, "Cust", "One", roles=["customer"], tags=["Boiler"])
    make_person(cast.bob, "Supp", "Two", roles=["supplier"])
    make_org(cast.alice, "Org Three", roles=["customer"])

    def names(**params):
        response = api.get("/parties", **params)
        assert response.status_code == 200, response.content
        return sorted(p["display_name"] for p in response.json()["items"])

    assert names(role="customer") == ["Cust One", "Org Three"]
    assert names(tag="boiler") == ["Cust One"]
    assert names(owner_id=cast.bob.pk) == ["Supp Two"]
    assert names(team_id=cast.red.pk) == ["Cust One", "Org Three"]
    assert names(kind="organisation") == ["Org Three"]
    assert names(role="customer", kind="person") == ["Cust One"]


def test_search_finds_substrings_of_names_emails_and_phones(cast, api_for):
    api = api_for(cast.manager)
    make_person(cast.alice, "Katherine", "Johnson", emails=["kj@langley.example"], phones=["0161 496 0777"])
    make_person(cast.alice, "Dorothy", "Vaughan", phones=["+44 7400 900555"])

    def hits(q):
        return [p["display_name"] for p in api.get("/parties", q=q).json()["items"]]

    assert hits("therin") == ["Katherine Johnson"]
    assert hits("langley") == ["Katherine Johnson"]
    assert hits("496 07") == ["Katherine Johnson"]  # part of the number as typed, with a space
    assert hits("01614960777") == ["Katherine Johnson"]  # national form
    assert hits("900555") == ["Dorothy Vaughan"]
    assert hits("jo") == ["Katherine Johnson"]  # short terms still work
    assert hits("zzz") == []


def test_unknown_sort_field_is_422_with_the_field(cast, api_for):
    response = api_for(cast.alice).get("/parties", sort="password")
    assert response.status_code == 422
    assert response.json()["field"] == "sort"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"kind": "person", "given_name": "A", "emails": ["nope"]}', "emails.0"),
        ('{"kind": "person", "given_name": "A", "phones": ["123"]}', "phones.0"),
        ('{"kind": "person", "given_name": "A\\u0000B"}', "given_name"),
        ('{"kind": "robot", "given_name": "A"}', "kind"),
        ('{"kind": "person", "given_name": 12}', "given_name"),
        ('{"kind": "person", "given_name": "A", "birthday": "2001-02-29"}', "birthday"),
        ('{"kind": "person", "given_name": "A", "roles": ["boss"]}', "roles.0"),
        ('{"kind": "person", "given_name": "A", "is_superuser": true}', "is_superuser"),
        ('{"kind": "person"}', "given_name"),
        ('{"kind": "person", "given_name": "A", "owner_id": 999999}', "owner_id"),
        (
            '{"kind": "person", "given_name": "A", "addresses": [{"line1": "x", "country": "GBR"}]}',
            "addresses.0.country",
        ),
        ('{"kind": "person", "given_name": "' + "x" * 101 + '"}', "given_name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(cast, api_for, raw, field):
    response = api_for(cast.alice).post("/parties", raw=raw)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["field"] == field, response.json()
    assert Party.objects.count() == 0 and DomainEvent.objects.filter(name__startswith="party.").count() == 0


def test_malformed_json_and_oversized_bodies_are_refused(cast, api_for, settings):
    api = api_for(cast.alice)
    bad = api.post("/parties", raw='{"kind": "person",')
    assert bad.status_code == 400 and bad.json()["code"] == "invalid.body"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = api.post("/parties", raw='{"kind": "person", "given_name": "A", "notes": "' + "x" * 5000 + '"}')
    assert big.status_code == 413 and big.json()["code"] == "request.too_large"
    nul = api.get("/parties", q="a\x00b")
    assert nul.status_code == 422 and nul.json()["field"] == "q"
    assert Party.objects.count() == 0


def test_activities_endpoint_logs_and_pages_newest_first(cast, api_for):
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    for i in range(5):
        assert (
            api.post(f"/parties/{party.pk}/activities", {"kind": "call", "subject": f"Call {i}"}).status_code
            == 201
        )
    first = api.get(f"/parties/{party.pk}/activities", limit=3).json()
    assert [a["subject"] for a in first["items"]] == ["Call 4", "Call 3", "Call 2"]
    rest = api.get(f"/parties/{party.pk}/activities", limit=3, cursor=first["next_cursor"]).json()
    assert [a["subject"] for a in rest["items"]] == ["Call 1", "Call 0", "Person created"]
    assert rest["next_cursor"] is None
    assert first["items"][0]["author"] == {"id": cast.alice.pk, "name": "Alice"}
    bad = api.post(f"/parties/{party.pk}/activities", {"kind": "system", "body": "forged"})
    assert bad.status_code == 422 and bad.json()["field"] == "kind"


def test_contact_point_endpoints(cast, api_for):
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    email = api.post(f"/parties/{party.pk}/emails", {"address": "Second@Example.com"})
    assert email.status_code == 201 and email.json()["address"] == "second@example.com"
    assert api.post(f"/parties/{party.pk}/emails", {"address": "second@example.com"}).status_code == 409
    phone = api.post(f"/parties/{party.pk}/phones", {"number": "0161 496 0123"})
    assert phone.json()["display"] == "0161 496 0123"
    assert api.post(f"/parties/{party.pk}/phones", {"number": "abc"}).json()["field"] == "number"
    assert api.get("/parties", q="4960123").json()["items"][0]["id"] == party.pk
    assert api.delete(f"/parties/{party.pk}/phones/{phone.json()['id']}").status_code == 204
    assert api.get("/parties", q="4960123").json()["items"] == []


def test_handover_endpoint(cast, api_for):
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    response = api.post(f"/parties/{party.pk}/handover", {"owner_id": cast.olga.pk, "note": "holiday cover"})
    assert response.status_code == 200 and response.json()["owner"]["id"] == cast.olga.pk
    entry = Activity.objects.get(party=party, event="party.owner_changed")
    assert entry.author == cast.alice and entry.data["to_user_id"] == cast.olga.pk


def test_list_query_count_does_not_grow_with_rows(cast, api_for):
    api = api_for(cast.alice)
    acme = make_org(cast.alice, "Acme")

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/parties", limit=50).status_code == 200
        return len(ctx.captured_queries)

    from friday.parties.services import AffiliationIn

    make_person(cast.alice, "One", "Person", emails=["1@x.example"], tags=["a"], roles=["customer"])
    count_queries()  # the first call records the token's use; later ones within a minute do not
    small = count_queries()
    for i in range(15):
        make_person(
            cast.alice,
            f"P{i}",
            "Person",
            emails=[f"p{i}@x.example"],
            phones=[f"07400 900{i:03d}"],
            tags=["a", "b"],
            roles=["customer", "supplier"],
            affiliations=[AffiliationIn(organisation=acme, job_title="x")],
        )
    assert count_queries() == small


def test_users_and_teams_are_readable(cast, api_for):
    api = api_for(cast.reader)
    me = api.get("/me").json()
    assert me["username"] == "reader" and me["role"] == "read_only"
    assert {u["username"] for u in api.get("/users").json()} >= {"alice", "bob", "admin"}
    assert [t["name"] for t in api.get("/teams").json()] == ["Blue", "Red"]
    assert api.get("/users/999999").status_code == 404


def test_openapi_and_offline_docs(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and "/api/v1/parties" in spec.json()["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    # Swagger UI is served from our own static files, not a CDN: the page works offline
    assert b"/static/ninja/swagger-ui-bundle.js" in docs.content
    assert not re.search(rb"""(src|href)=["']https?://""", docs.content)
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_requests_without_credentials_are_401(client):
    response = client.get("/api/v1/parties")
    assert response.status_code == 401 and response.json()["code"] == "auth.required"
    revoked = client.get("/api/v1/parties", HTTP_AUTHORIZATION="Bearer fri_not-a-real-token")
    assert revoked.status_code == 401


def test_ids_too_large_for_a_database_are_not_found_or_invalid(cast, api_for, web_for):
    api = api_for(cast.alice)
    huge = 2**70
    assert api.get(f"/parties/{huge}").status_code == 422
    assert api.get("/parties", owner_id=huge).status_code == 422
    assert api.post("/parties/duplicates", {"kind": "person", "organisation_ids": [huge]}).status_code == 422
    assert web_for(cast.alice).get(f"/parties/{huge}/").status_code == 404
    assert web_for(cast.alice).get(f"/parties/?owner={huge}").status_code == 400


def test_activity_times_without_an_offset_are_read_in_the_business_time_zone(cast, api_for, settings):
    settings.TIME_ZONE = "Europe/London"
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    summer = api.post(
        f"/parties/{party.pk}/activities", {"kind": "call", "body": "x", "occurred_at": "2026-07-01T10:00:00"}
    )
    assert summer.status_code == 201, summer.content
    assert summer.json()["occurred_at"] == "2026-07-01T10:00:00+01:00"  # read as London summer time
    ahead = api.post(
        f"/parties/{party.pk}/activities", {"kind": "call", "body": "x", "occurred_at": "2099-01-01T10:00:00"}
    )
    assert ahead.status_code == 422 and ahead.json()["field"] == "occurred_at"

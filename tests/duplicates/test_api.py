"""Duplicates and merges over the API: scoped lists, dismissals, queued scans, merges with their choices, and 4xx
answers that name the field."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from friday.duplicates.models import DuplicatePair, PartyMerge
from friday.duplicates.services import duplicates_scan
from friday.parties.models import EmailAddress, Party
from tests.conftest import make_org, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(cast):
    ada = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"], phones=["0161 496 0001"])
    king = make_person(cast.alice, "Ada", "King", emails=["ada@example.com", "king@example.com"])
    duplicates_scan(full=True)
    return ada, king


def test_list_the_pairs_a_user_may_see(cast, api_for, twins):
    ada, king = twins
    r = api_for(cast.alice).get("/duplicates")
    assert r.status_code == 200
    body = r.json()
    [item] = body["items"]
    assert (item["a"]["id"], item["b"]["id"]) == (ada.pk, king.pk)
    assert item["a"]["owner"] == "Alice" and item["b"]["display_name"] == "Ada King"
    assert item["score"] == 95 and item["reasons"] == [
        {"code": "email", "text": "Same email ada@example.com"}
    ]
    assert body["scan"]["full"] is True and body["scan"]["pairs"] == 1 and body["next_cursor"] is None
    assert api_for(cast.bob).get("/duplicates").json()["items"] == []
    assert api_for(cast.alice).get("/duplicates", reason="phone").json()["items"] == []


def test_bad_list_parameters_name_their_field(cast, api_for, twins):
    api = api_for(cast.alice)
    for params, field in (
        ({"reason": "vibes"}, "reason"),
        ({"limit": 0}, "limit"),
        ({"min_score": 101}, "min_score"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ):
        r = api.get("/duplicates", **params)
        assert r.status_code == 422, params
        assert r.json()["field"] == field


def test_the_list_costs_the_same_queries_for_one_pair_or_many(cast, api_for):
    api = api_for(cast.alice)
    make_person(cast.alice, "A", "One", emails=["a@example.com"])
    make_person(cast.alice, "A", "Two", emails=["a@example.com"])
    duplicates_scan(full=True)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/duplicates").status_code == 200
        return len(ctx.captured_queries)

    count()  # the first call records the token's use
    one = count()
    for i in range(10):
        make_person(cast.alice, "B", f"Pair{i}", emails=[f"b{i}@example.com"])
        make_person(cast.alice, "C", f"Pair{i}", emails=[f"b{i}@example.com"])
    duplicates_scan(full=True)
    assert DuplicatePair.objects.count() == 11
    assert count() == one


def test_dismiss_and_restore(cast, api_for, twins):
    pair = DuplicatePair.objects.get()
    r = api_for(cast.alice).post(f"/duplicates/{pair.pk}/dismiss")
    assert r.status_code == 200 and r.json()["dismissed_at"] is not None
    assert api_for(cast.alice).get("/duplicates").json()["items"] == []
    assert [i["id"] for i in api_for(cast.alice).get("/duplicates", dismissed="true").json()["items"]] == [
        pair.pk
    ]
    assert api_for(cast.bob).post(f"/duplicates/{pair.pk}/dismiss").status_code == 404
    assert api_for(cast.reader).post(f"/duplicates/{pair.pk}/restore").status_code == 403
    r = api_for(cast.alice).post(f"/duplicates/{pair.pk}/restore")
    assert r.status_code == 200 and r.json()["dismissed_at"] is None


def test_queue_a_scan(cast, api_for):
    r = api_for(cast.alice).post("/duplicates/scan", {"full": True})
    assert r.status_code == 202 and r.json() == {"queued": True, "full": True}
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("duplicates_scan") and task.args_kwargs["kwargs"]["full"] is True
    assert api_for(cast.reader).post("/duplicates/scan", {}).status_code == 403
    assert api_for(cast.alice).post("/duplicates/scan", {"everything": True}).status_code == 422
    assert api_for(cast.alice).get("/duplicates/scan").status_code == 404  # queued, not run yet


def test_merge_with_choices(cast, api_for, twins):
    ada, king = twins
    r = api_for(cast.alice).post(
        "/merges",
        {
            "survivor_id": ada.pk,
            "other_id": king.pk,
            "choices": {"fields": {"family_name": "other"}, "primary_email": "king@example.com"},
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["survivor_id"], body["other_id"], body["other_name"], body["by"]) == (
        ada.pk,
        king.pk,
        "Ada King",
        "alice",
    )
    assert body["choices"]["fields"]["family_name"] == "other"
    assert body["moved"]["email addresses"] == 1  # king@; ada@ was on both
    assert not Party.objects.filter(pk=king.pk).exists()
    assert Party.objects.get(pk=ada.pk).display_name == "Ada King"
    assert EmailAddress.objects.get(party=ada, is_primary=True).address == "king@example.com"
    assert api_for(cast.alice).get(f"/merges/{body['id']}").json()["moved"] == body["moved"]
    assert api_for(cast.bob).get(f"/merges/{body['id']}").status_code == 404


def test_merge_refusals_name_their_field_and_change_nothing(cast, api_for, twins):
    ada, king = twins
    blue = make_person(cast.bob, "Ada", "Blue")
    acme = make_org(cast.alice, "Acme")
    api = api_for(cast.alice)
    cases = [
        ({"survivor_id": ada.pk}, 422, "other_id", "invalid.missing"),
        ({"survivor_id": 0, "other_id": king.pk}, 422, "survivor_id", "invalid.greater_than_equal"),
        ({"survivor_id": ada.pk, "other_id": king.pk, "extra": 1}, 422, "extra", "invalid.extra_forbidden"),
        ({"survivor_id": ada.pk, "other_id": blue.pk}, 404, "other_id", "party.not_found"),
        ({"survivor_id": ada.pk, "other_id": ada.pk}, 422, "other_id", "merge.same_party"),
        ({"survivor_id": ada.pk, "other_id": acme.pk}, 422, "other_id", "merge.kind_mismatch"),
        (
            {"survivor_id": ada.pk, "other_id": king.pk, "choices": {"fields": {"name": "other"}}},
            422,
            "choices.fields.name",
            "merge.unknown_field",
        ),
        (
            {"survivor_id": ada.pk, "other_id": king.pk, "choices": {"fields": {"notes": "mine"}}},
            422,
            "choices.fields.notes",
            "merge.invalid_choice",
        ),
        (
            {"survivor_id": ada.pk, "other_id": king.pk, "choices": {"primary_email": "x@example.com"}},
            422,
            "choices.primary_email",
            "merge.unknown_email",
        ),
        (
            {"survivor_id": ada.pk, "other_id": king.pk, "choices": {"colour": "red"}},
            422,
            "choices.colour",
            "invalid.extra_forbidden",
        ),
    ]
    for body, status, field, code in cases:
        r = api.post("/merges", body)
        assert (r.status_code, r.json()["field"], r.json()["code"]) == (status, field, code), body
    assert (
        api_for(cast.reader).post("/merges", {"survivor_id": ada.pk, "other_id": king.pk}).status_code == 403
    )
    r = api.post("/merges", raw="{not json")
    assert r.status_code in (400, 422)
    assert Party.objects.filter(pk__in=[ada.pk, king.pk]).count() == 2 and not PartyMerge.objects.exists()

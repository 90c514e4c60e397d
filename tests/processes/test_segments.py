"""Segments: each filter against known parties, scope, errors by path, the page's live count, the API."""

from __future__ import annotations

import datetime as dt

import pytest

from friday.core import clock
from friday.core.errors import PermissionDenied, ValidationFailed
from friday.parties.models import Activity
from friday.parties.services import activity_log, custom_field_create
from friday.processes import segments
from friday.processes.services import stage_move
from tests.conftest import make_org, make_person


@pytest.fixture
def people(cast, lifecycle):
    custom_field_create(
        by=cast.admin, key="boiler", label="Boiler", field_type="choice", choices=["combi", "system"]
    )
    custom_field_create(by=cast.admin, key="visits", label="Visits", field_type="number")
    custom_field_create(by=cast.admin, key="serviced", label="Serviced on", field_type="date")
    custom_field_create(by=cast.admin, key="vip", label="VIP", field_type="yes_no")
    ada = make_person(
        cast.alice,
        "Ada",
        roles=["customer"],
        tags=["Leeds"],
        custom={"boiler": "combi", "visits": 12, "vip": True},
    )
    bo = make_person(cast.alice, "Bo", roles=["supplier"], custom={"visits": "3", "serviced": "2026-01-05"})
    cy = make_person(cast.bob, "Cy", roles=["customer"], tags=["Leeds", "Old"])
    org = make_org(cast.alice, "Acme Ltd")
    stage_move(by=cast.alice, record_type="party", record=ada, to="suspect")
    stage_move(by=cast.alice, record_type="party", record=bo, to="suspect")
    activity_log(by=cast.alice, party=ada, kind="call", subject="Checked in")
    old = activity_log(by=cast.alice, party=bo, kind="meeting", subject="Site visit")
    Activity.objects.filter(pk=old.pk).update(occurred_at=clock.now() - dt.timedelta(days=200))
    return {"ada": ada, "bo": bo, "cy": cy, "org": org}


def names(user, filters) -> list[str]:
    clean = segments.clean_filters(filters)
    return sorted(
        p.display_name.removesuffix(" Lovelace") for p in segments.segment_parties(user=user, filters=clean)
    )


def test_each_filter(people, cast):
    admin = cast.admin
    assert names(admin, {"stages": ["suspect"]}) == ["Ada", "Bo"]
    assert names(admin, {"stages": ["none"]}) == ["Acme Ltd", "Cy"]
    assert names(admin, {"kinds": ["organisation"]}) == ["Acme Ltd"]
    assert names(admin, {"roles": ["customer"]}) == ["Ada", "Cy"]
    assert names(admin, {"tags": ["leeds"], "roles": ["customer"]}) == ["Ada", "Cy"]
    assert names(admin, {"owner_ids": [cast.bob.pk]}) == ["Cy"]
    assert names(admin, {"team_ids": [cast.red.pk], "kinds": ["person"]}) == ["Ada", "Bo"]
    assert names(admin, {"no_contact_days": 90}) == ["Acme Ltd", "Bo", "Cy"]
    assert names(admin, {"contacted_within_days": 90}) == ["Ada"]
    assert names(admin, {"last_contact_before": (clock.today() - dt.timedelta(days=30)).isoformat()}) == [
        "Bo"
    ]
    assert names(admin, {"created_after": clock.today().isoformat()}) == ["Acme Ltd", "Ada", "Bo", "Cy"]
    assert names(admin, {"created_before": clock.today().isoformat()}) == []
    assert names(admin, {"custom": [{"field": "boiler", "op": "eq", "value": "combi"}]}) == ["Ada"]
    assert names(admin, {"custom": [{"field": "visits", "op": "gt", "value": 5}]}) == [
        "Ada"
    ]  # 12 > 5, "3" < 5
    assert names(admin, {"custom": [{"field": "visits", "op": "lte", "value": "3"}]}) == ["Bo"]
    assert names(admin, {"custom": [{"field": "serviced", "op": "lt", "value": "2026-06-01"}]}) == ["Bo"]
    assert names(admin, {"custom": [{"field": "vip", "op": "eq", "value": True}]}) == ["Ada"]
    assert names(admin, {"custom": [{"field": "boiler", "op": "unset"}], "kinds": ["person"]}) == ["Bo", "Cy"]
    assert names(admin, {"custom": [{"field": "boiler", "op": "ne", "value": "system"}]}) == ["Ada"]


def test_segments_are_scoped(people, cast):
    assert names(cast.alice, {"roles": ["customer"]}) == ["Ada"]
    assert names(cast.bob, {"roles": ["customer"]}) == ["Cy"]


def test_bad_filters_name_their_path(people, cast):
    with pytest.raises(ValidationFailed) as exc:
        segments.clean_filters(
            {
                "stages": ["nowhere"],
                "colour": "red",
                "no_contact_days": -1,
                "created_after": "yesterday",
                "custom": [{"field": "visits", "op": "contains", "value": 1}, {"field": "nope"}],
            }
        )
    fields = {e.field for e in exc.value.errors}
    assert fields == {
        "filters.stages.0",
        "filters.colour",
        "filters.no_contact_days",
        "filters.created_after",
        "filters.custom.0.op",
        "filters.custom.1.field",
    }


def test_save_edit_and_permissions(people, cast):
    segment = segments.segment_save(by=cast.alice, name="Leeds customers", filters={"tags": ["Leeds"]})
    assert segment.filters == {"tags": ["leeds"]} and segment.owner == cast.alice
    with pytest.raises(ValidationFailed):
        segments.segment_save(by=cast.bob, name="leeds customers", filters={})
    with pytest.raises(PermissionDenied):
        segments.segment_save(by=cast.bob, segment=segment, name="Mine", filters={})
    segments.segment_save(by=cast.manager, segment=segment, name="Leeds", filters={"tags": ["Leeds"]})
    private = segments.segment_save(by=cast.alice, name="Mine", filters={}, shared=False)
    assert private not in segments.segments_visible(cast.bob)
    with pytest.raises(PermissionDenied):
        segments.segment_save(by=cast.reader, name="Nope", filters={})


def test_segment_as_a_party_list_filter_and_the_api(people, cast, web_for, api_for):
    segment = segments.segment_save(by=cast.alice, name="Lapsing", filters={"no_contact_days": 90})
    page = web_for(cast.alice).get("/parties/", {"segment": segment.pk}).content.decode()
    assert "Bo Lovelace" in page and "Acme Ltd" in page and "Ada Lovelace" not in page
    assert 'id="f-segment"' in page and 'id="f-stage"' in page
    api = api_for(cast.alice)
    items = api.get("/parties", segment=segment.pk).json()["items"]
    assert sorted(i["display_name"] for i in items) == ["Acme Ltd", "Bo Lovelace"]
    assert [i["display_name"] for i in api.get("/parties", stage="suspect").json()["items"]] == [
        "Ada Lovelace",
        "Bo Lovelace",
    ]
    assert api.get("/parties", segment=999999).status_code == 404
    r = api.get("/parties", stage="bogus")
    assert r.status_code in (400, 422) and r.json()["field"] == "stage"
    assert web_for(cast.alice).get("/parties/", {"stage": "bogus"}).status_code == 400
    body = api.get("/segments").json()
    assert body[0]["name"] == "Lapsing" and body[0]["count"] == 2
    r = api.post("/segments", {"name": "Suppliers", "filters": {"roles": ["supplier"]}})
    assert r.status_code == 201 and r.json()["count"] == 1
    r = api.post("/segments", {"name": "Bad", "filters": {"roles": ["wizard"]}})
    assert r.status_code == 422 and r.json()["field"] == "filters.roles.0"
    assert api.post("/segments/count", {"filters": {"kinds": ["organisation"]}}).json() == {"count": 1}


def test_segment_pages_with_live_count(people, cast, web_for):
    alice = web_for(cast.alice)
    preview = alice.post("/segments/count/", {"roles": ["customer"]}).content.decode()
    assert "<strong>1</strong> party matches" in preview
    preview = alice.post(
        "/segments/count/", {"roles": ["customer"], "no_contact_days": "-5"}
    ).content.decode()
    assert 'class="error"' in preview and "<strong>" not in preview
    r = alice.post(
        "/segments/new/", {"name": "Customers", "roles": ["customer"], "shared": "on", "action": "save"}
    )
    assert r.status_code == 302 and "/parties/?segment=" in r["Location"]
    listing = alice.get("/segments/").content.decode()
    assert "Customers" in listing and 'data-count="1"' in listing
    r = alice.post(
        "/segments/new/",
        {
            "name": "Bad",
            "custom_field_0": "visits",
            "custom_op_0": "contains",
            "custom_value_0": "x",
            "action": "save",
        },
    )
    assert r.status_code == 422 and "filters.custom.0.op" in r.content.decode()

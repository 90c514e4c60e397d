"""The deals API: create, list, board, move with refusals explained, lost reasons."""

from __future__ import annotations

from friday.deals.models import LostReason
from tests.conftest import make_person


def test_deal_lifecycle_over_the_api(pipeline, cast, api_for):
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    r = api.post("/deals", {"party_id": party.pk, "title": "New boiler", "value": "4250.00"})
    assert r.status_code == 201, r.content
    deal = r.json()
    assert deal["stage"] == "enquiry" and deal["stage_name"] == "Enquiry" and deal["value"] == "4250.00"
    r = api.post(f"/deals/{deal['id']}/move", {"to": "won"})
    assert r.status_code == 422 and [a["key"] for a in r.json()["extra"]["allowed"]] == ["survey", "lost"]
    r = api.post(f"/deals/{deal['id']}/move", {"to": "lost"})
    assert r.status_code == 422 and r.json()["field"] == "lost_reason"
    price = LostReason.objects.get(name="Price").pk
    r = api.post(
        f"/deals/{deal['id']}/move", {"to": "lost", "lost_reason_id": price, "lost_note": "Too dear"}
    )
    assert r.status_code == 201 and r.json()["to_stage"] == "lost"
    got = api.get(f"/deals/{deal['id']}").json()
    assert got["lost_reason"]["name"] == "Price" and got["closed_at"] and got["stage_kind"] == "lost"
    history = api.get(f"/deals/{deal['id']}/history").json()
    assert [h["to_stage"] for h in history] == ["lost", "enquiry"]
    assert api.get("/deals", status="lost").json()["items"][0]["id"] == deal["id"]
    assert api_for(cast.bob).get(f"/deals/{deal['id']}").status_code == 404


def test_bad_deal_input_names_the_field(pipeline, cast, api_for):
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    r = api.post("/deals", {"party_id": party.pk, "title": "x", "value": "12.345"})
    assert r.status_code == 422 and r.json()["field"] == "value"
    r = api.post("/deals", {"party_id": party.pk, "title": "x", "value": "-5"})
    assert r.status_code == 422 and r.json()["field"] == "value"
    r = api.post("/deals", {"party_id": 999999, "title": "x"})
    assert r.status_code == 404 and r.json()["field"] == "party_id"
    r = api.post("/deals", {"party_id": party.pk, "title": "x", "colour": "red"})
    assert r.status_code == 422 and r.json()["field"] == "colour"
    r = api.post("/deals", {"party_id": party.pk, "title": "x", "currency": "ABC"})
    assert r.status_code == 422 and r.json()["field"] == "currency" and "ISO 4217" in r.json()["detail"]
    r = api.post("/deals", {"party_id": party.pk, "title": "x", "process": "nope"})
    assert r.status_code == 400 and r.json()["field"] == "process"


def test_board_and_column_pages(pipeline, cast, api_for):
    api = api_for(cast.alice)
    party = make_person(cast.alice)
    for i in range(3):
        api.post("/deals", {"party_id": party.pk, "title": f"Deal {i}", "value": "10.00"})
    board = api.get("/deals/board", limit=2).json()
    first = board["columns"][0]
    assert first["count"] == 3 and len(first["deals"]) == 2
    assert first["totals"] == [{"currency": "GBP", "total": "30.00"}]
    assert first["definition"].startswith("A customer asked")
    rest = api.get("/deals/board/column", stage="enquiry", cursor=first["next_cursor"], limit=2).json()
    assert [d["title"] for d in rest["items"]] == ["Deal 2"] and rest["next_cursor"] is None


def test_lost_reasons_api(pipeline, cast, api_for):
    api = api_for(cast.admin)
    r = api.post("/lost-reasons", {"name": "Weather"})
    assert r.status_code == 201
    r = api.patch(f"/lost-reasons/{r.json()['id']}", {"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    names = [x["name"] for x in api_for(cast.alice).get("/lost-reasons").json()]
    assert "Weather" not in names and "Price" in names
    assert api_for(cast.alice).post("/lost-reasons", {"name": "Mine"}).status_code == 403

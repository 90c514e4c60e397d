"""The jobs API: book, change, move with refusals by field, costs and margin, dependencies, rates, assets and
service plans — scoped, with bad input answered by field path and nothing written."""

from __future__ import annotations

from friday.jobs.models import Cost, Job, ServicePlan
from tests.conftest import make_org, make_person


def test_jobs_over_the_api(job_process, cast, api_for):
    party = make_person(cast.alice)
    api = api_for(cast.alice)
    r = api.post("/jobs", {"party_id": party.pk, "title": "Boiler", "quoted_price": "-1"})
    assert (
        r.status_code == 422 and r.json()["errors"][0]["field"] == "quoted_price" and not Job.objects.exists()
    )
    r = api.post("/jobs", {"party_id": party.pk, "title": "Boiler", "staff_ids": [cast.alice.pk, 999999]})
    assert r.status_code == 404 and r.json()["field"] == "staff_ids.1"
    r = api.post(
        "/jobs",
        {"party_id": party.pk, "title": "Boiler", "quoted_price": "750.00", "staff_ids": [cast.alice.pk]},
    )
    assert r.status_code == 201, r.json()
    job = r.json()
    assert job["stage"] == "booked" and job["staff"] == [{"id": cast.alice.pk, "name": "Alice"}]
    assert job["money"]["price"] == "750.00" and job["money"]["cost"] == "0.00"
    assert api_for(cast.bob).get(f"/jobs/{job['id']}").status_code == 404
    r = api.post(f"/jobs/{job['id']}/move", {"to": "scheduled"})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"scheduled_for"}
    r = api.patch(f"/jobs/{job['id']}", {"scheduled_for": "2030-01-02T09:00:00Z"})
    assert r.status_code == 200 and r.json()["scheduled_for"].startswith("2030-01-02")
    assert api.post(f"/jobs/{job['id']}/move", {"to": "scheduled"}).status_code == 201
    history = api.get(f"/jobs/{job['id']}/history").json()
    assert [h["to_stage"] for h in history] == ["scheduled", "booked"]
    # Costs: in the job's currency only; the margin follows.
    r = api.post(
        f"/jobs/{job['id']}/costs",
        {"kind": "materials", "description": "Pump", "unit_cost": "100", "currency": "EUR"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "currency"
    r = api.post(
        f"/jobs/{job['id']}/costs",
        {"kind": "materials", "description": "Pump", "quantity": "2", "unit_cost": "100.005"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_cost"
    r = api.post(
        f"/jobs/{job['id']}/costs",
        {"kind": "materials", "description": "Pump", "quantity": "2", "unit_cost": "100.50"},
    )
    assert r.status_code == 201 and r.json()["amount"] == "201.00"
    money = api.get(f"/jobs/{job['id']}").json()["money"]
    assert money["cost"] == "201.00" and money["margin"] == "549.00" and money["margin_percent"] == "73.2"
    # The board and the list.
    board = api.get("/jobs/board").json()
    assert [c["count"] for c in board["columns"] if c["stage"] == "scheduled"] == [1]
    assert [j["id"] for j in api.get("/jobs", status="open").json()["items"]] == [job["id"]]
    assert api.get("/jobs", status="nonsense").status_code == 422
    # A supplier dependency.
    supplier = make_org(cast.alice, "Pumps Ltd")
    r = api.post(
        f"/jobs/{job['id']}/dependencies",
        {"supplier_id": supplier.pk, "title": "Pump delivery", "due_at": "2030-01-01T09:00:00Z"},
    )
    assert r.status_code == 201 and r.json()["supplier"]["name"] == "Pumps Ltd"


def test_rates_party_costs_assets_and_plans(job_process, cast, api_for):
    party = make_person(cast.alice)
    api, manager = api_for(cast.alice), api_for(cast.manager)
    assert api.send("PUT", "/staff-rates", {"user_id": cast.alice.pk, "hourly_rate": "30"}).status_code == 403
    r = manager.send("PUT", "/staff-rates", {"user_id": cast.alice.pk, "hourly_rate": "-30"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hourly_rate"
    assert (
        manager.send("PUT", "/staff-rates", {"user_id": cast.alice.pk, "hourly_rate": "30"}).status_code
        == 200
    )
    assert api.get("/staff-rates").json() == [
        {"user_id": cast.alice.pk, "hourly_rate": "30.00", "currency": "GBP"}
    ]
    r = api.post(
        "/costs",
        {"party_id": party.pk, "kind": "discount", "description": "Loyalty discount", "unit_cost": "25"},
    )
    assert r.status_code == 201 and r.json()["job_id"] is None
    r = api.post("/costs", {"party_id": party.pk, "kind": "labour", "unit_cost": "25"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    assert Cost.objects.count() == 1
    assert api_for(cast.bob).get("/costs", party_id=party.pk).status_code == 404
    r = api.post("/assets", {"party_id": party.pk, "name": "Van", "serial_number": "VIN123"})
    assert r.status_code == 201
    asset = r.json()
    r = api.post("/service-plans", {"party_id": party.pk, "name": "MOT", "every": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "every"
    r = api.post(
        "/service-plans",
        {
            "party_id": party.pk,
            "name": "MOT",
            "every": 1,
            "unit": "years",
            "asset_id": asset["id"],
            "last_service_on": "2026-01-15",
        },
    )
    assert r.status_code == 201 and r.json()["next_due_on"] == "2027-01-15"
    other = make_person(cast.alice, "Bo")
    r = api.post("/service-plans", {"party_id": other.pk, "name": "x", "every": 1, "asset_id": asset["id"]})
    assert r.status_code == 404 and r.json()["field"] == "asset_id"
    assert ServicePlan.objects.count() == 1
    assert [p["name"] for p in api.get("/service-plans", party_id=party.pk).json()["items"]] == ["MOT"]
    assert api_for(cast.bob).get(f"/assets/{asset['id']}").status_code == 404

"""The processes API: terms, YAML and JSON in and out, drafts, check, publish, migrate, moves and history."""

from __future__ import annotations

import yaml

from friday.processes.templates import starter_text
from tests.conftest import make_person


def test_terms_crud_and_errors(cast, api_for):
    api = api_for(cast.admin)
    r = api.post("/terms", {"name": "Callout", "definition": "A visit within 4 hours."})
    assert r.status_code == 201, r.content
    term_id = r.json()["id"]
    r = api.post("/terms", {"name": "callout", "definition": "x"})
    assert r.status_code == 422 and r.json()["field"] == "name"
    r = api.post("/terms", {"name": "Visit", "definition": ""})
    assert r.status_code == 422 and r.json()["field"] == "definition"
    r = api.patch(f"/terms/{term_id}", {"examples": "Burst pipe at night"})
    assert r.status_code == 200 and r.json()["definition"] == "A visit within 4 hours."
    assert api_for(cast.alice).post("/terms", {"name": "X", "definition": "y"}).status_code == 403
    assert [t["name"] for t in api_for(cast.reader).get("/terms").json()] == ["Callout"]
    assert api.delete(f"/terms/{term_id}").status_code == 204
    assert api.get(f"/terms/{term_id}").status_code == 404


def test_import_yaml_export_json_and_yaml(cast, api_for):
    api = api_for(cast.admin)
    r = api.post("/processes/import", {"source": starter_text("sales")})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["version"] == 1 and body["definition"]["stages"][0]["key"] == "enquiry"
    # The JSON form imports too, and is the same process: no new version.
    r = api.post("/processes/import", {"definition": body["definition"]})
    assert r.status_code == 200 and r.json()["version"] == 1
    r = api.get("/processes/sales_pipeline/yaml")
    assert r["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(r.content) == body["definition"]
    r = api.get("/processes/sales_pipeline/drawing", format="dot")
    assert r.content.decode().startswith('digraph "sales_pipeline"')
    assert api.get("/processes/nope").status_code == 404
    r = api.post("/processes/import", {"source": "x", "definition": {}})
    assert r.status_code == 400 or r.status_code == 422


def test_check_reports_lines_findings_and_the_drawing(cast, api_for):
    api = api_for(cast.alice)  # anyone may check a file
    r = api.post("/processes/check", {"source": "process: x\nname: [\n"})
    body = r.json()
    assert r.status_code == 200 and not body["ok"] and body["errors"][0]["detail"].startswith("line ")
    broken = (
        starter_text("sales")
        .replace("- {from: quoted, to: won}\n", "")
        .replace("- {from: negotiating, to: won}\n", "")
    )
    body = api.post("/processes/check", {"source": broken}).json()
    assert not body["ok"]
    assert ("error", "stage.unreachable", "won") in {
        (f["severity"], f["code"], f["subject"]) for f in body["findings"]
    }
    assert body["mermaid"].startswith("flowchart LR")


def test_draft_publish_and_migrate(cast, api_for):
    api = api_for(cast.manager)
    assert api.post("/processes/import", {"source": starter_text("lifecycle")}).status_code == 201
    party = make_person(cast.manager)
    r = api.post("/moves", {"record_type": "party", "record_id": party.pk, "to": "suspect"})
    assert r.status_code == 201, r.content
    edited = (
        starter_text("lifecycle").replace("key: lapsed", "key: dormant").replace("to: lapsed", "to: dormant")
    )
    edited = edited.replace("from: lapsed", "from: dormant")
    r = api.send("PUT", "/processes/customer_lifecycle/draft", {"source": edited})
    assert r.status_code == 200 and r.json()["ok"], r.content
    assert api.get("/processes/customer_lifecycle").json()["has_draft"] is True
    r = api.post("/processes/customer_lifecycle/publish", {"note": "Lapsed is now Dormant"})
    assert r.status_code == 201 and r.json()["number"] == 2
    r = api.post("/processes/customer_lifecycle/publish", {})
    assert r.status_code == 400 and r.json()["code"] == "process.no_draft"
    r = api.post("/processes/customer_lifecycle/migrate", {"from_version": 1, "stage_map": {}})
    assert r.status_code == 201 and r.json()["records"] == 1
    assert [v["number"] for v in api.get("/processes/customer_lifecycle/versions").json()] == [2, 1]
    assert api_for(cast.alice).post("/processes/customer_lifecycle/publish", {}).status_code == 403


def test_moves_refused_with_allowed_stages_and_history(cast, api_for):
    api_for(cast.admin).post("/processes/import", {"source": starter_text("lifecycle")})
    api = api_for(cast.alice)
    party = make_person(cast.alice, emails=["ada@example.com"])
    assert (
        api.post("/moves", {"record_type": "party", "record_id": party.pk, "to": "suspect"}).status_code
        == 201
    )
    r = api.post("/moves", {"record_type": "party", "record_id": party.pk, "to": "customer"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "stage.undeclared"
    assert [a["key"] for a in body["extra"]["allowed"]] == ["prospect", "not_a_fit"]
    r = api.post("/moves", {"record_type": "party", "record_id": party.pk, "to": "qualified"})
    assert r.status_code == 422 and r.json()["code"] == "stage.undeclared"
    api.post("/moves", {"record_type": "party", "record_id": party.pk, "to": "prospect"})
    r = api.post("/moves", {"record_type": "party", "record_id": party.pk, "to": "qualified"})
    assert {e["field"] for e in r.json()["errors"]} == {"checklist.0", "checklist.1", "checklist.2"}
    history = api.get("/moves", record_type="party", record_id=party.pk).json()["items"]
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [("suspect", "prospect"), ("", "suspect")]
    assert api_for(cast.bob).get("/moves", record_type="party", record_id=party.pk).status_code == 404
    r = api_for(cast.bob).post("/moves", {"record_type": "party", "record_id": party.pk, "to": "prospect"})
    assert r.status_code == 404 and r.json()["field"] == "record_id"
    r = api.post("/moves", {"record_type": "invoice", "record_id": 1, "to": "x"})
    assert r.status_code in (400, 422)
    r = api.post(
        "/moves", {"record_type": "job", "record_id": 1, "to": "x"}
    )  # jobs move; that one is not there
    assert r.status_code == 404 and r.json()["field"] == "record_id"

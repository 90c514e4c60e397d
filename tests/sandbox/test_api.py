"""The sandbox over the API: draft a live rule, read the draft's forecast beside it, go live, read the history;
a new rule as a draft; refusals."""

from __future__ import annotations

import datetime as dt

import time_machine

from friday.automation.models import Rule
from friday.core import clock
from friday.messaging.services import TemplateIn, template_save
from tests.conftest import make_person


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


RULE = {
    "name": "Birthday email",
    "trigger": {"type": "yearly", "field": "birthday", "days_before": 0, "at": "09:00"},
    "actions": [{"type": "send_message", "template": "birthday"}],
    "enabled": True,
}


def test_draft_forecast_go_live_and_history_over_the_api(cast, api_for):
    template_save(by=cast.manager, data=TemplateIn(key="birthday", name="B", subject="Hi", body_text="Hi."))
    api = api_for(cast.manager)
    with time_machine.travel(at(2026, 3, 1, 10, 0), tick=False):
        make_person(cast.alice, "Ada", birthday=dt.date(1980, 3, 6), roles=["customer"])
        make_person(cast.alice, "Bo", birthday=dt.date(1980, 3, 9))
        rule_id = api.post("/rules", RULE).json()["id"]
        r = api.send(
            "PUT", f"/rules/{rule_id}/draft", {**RULE, "conditions": {"filter": {"roles": ["customer"]}}}
        )
        assert r.status_code == 200, r.json()
        body = r.json()
        assert body["draft"]["conditions"] == {"filter": {"roles": ["customer"]}}
        f = body["forecast"]
        assert (f["live"], f["draft"], f["unchanged"]) == (2, 1, 1)
        assert (
            [i["party"] for i in f["removed"]] == ["Bo Lovelace"] and f["added"] == [] and f["changed"] == []
        )
        assert api.get(f"/rules/{rule_id}").json()["conditions"] == {}  # live: unchanged
        assert api.get(f"/rules/{rule_id}/draft", days=5).json()["forecast"]["live"] == 1  # Ada on the 6th
        # refusals: a member; a long note; a malformed draft
        assert api_for(cast.alice).post(f"/rules/{rule_id}/go-live", {}).status_code == 403
        assert api_for(cast.alice).get(f"/rules/{rule_id}/draft").status_code == 403
        assert api.post(f"/rules/{rule_id}/go-live", {"note": "x" * 201}).status_code == 422
        bad = api.send("PUT", f"/rules/{rule_id}/draft", {**RULE, "trigger": {"type": "yearly", "at": "9"}})
        assert bad.status_code == 422 and any(e["field"].startswith("trigger") for e in bad.json()["errors"])
        # go live
        r = api.post(f"/rules/{rule_id}/go-live", {"note": "Customers only"})
        assert r.status_code == 200 and r.json()["number"] == 2 and r.json()["changed"] == ["conditions"]
        assert api.get(f"/rules/{rule_id}/draft").status_code == 404
        assert api.post(f"/rules/{rule_id}/go-live", {}).status_code == 400
    history = api_for(cast.alice).get(f"/rules/{rule_id}/history").json()
    assert [(v["number"], v["how"], v["note"], v["by_id"]) for v in history] == [
        (2, "live", "Customers only", cast.manager.pk),
        (1, "saved", "", cast.manager.pk),
    ]
    # a new rule as a draft: off, then thrown away with its draft (it never went live)
    r = api.post("/rules/drafts", {**RULE, "name": "Maybe"})
    assert r.status_code == 201 and r.json()["enabled"] is False and r.json()["draft"]["name"] == "Maybe"
    assert api.delete(f"/rules/{r.json()['id']}/draft").status_code == 204
    assert not Rule.objects.filter(name="Maybe").exists()
    assert api.delete(f"/rules/{rule_id}/draft").status_code == 400  # no draft

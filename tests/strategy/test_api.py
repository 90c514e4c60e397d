"""Goals over the API: the catalog, a goal with its figure and trend, writing (admins and managers), and bad input
answered with the field it is about."""

from __future__ import annotations

import time_machine

from friday.strategy.models import Goal
from tests.strategy.conftest import TODAY, at


def test_the_catalog_lists_each_metric_with_how_and_its_settings(cast, london, api_for):
    body = api_for(cast.reader).get("/goals/metrics").json()
    by_key = {m["key"]: m for m in body}
    assert set(by_key) == {
        "retention",
        "nps",
        "gross_margin",
        "new_in_stage",
        "overdue_reminders",
        "lost_value",
        "revenue",
    }
    assert by_key["overdue_reminders"]["params"] == [
        {"name": "days", "label": "More than … days overdue", "default": 2, "help": "Whole days, 0 to 365"}
    ]
    assert (
        by_key["overdue_reminders"]["suggested_direction"] == "at_most" and by_key["nps"]["kind"] == "ratio"
    )


def test_a_manager_writes_a_goal_and_anyone_reads_where_it_stands(cast, history, api_for):
    with time_machine.travel(at(*TODAY), tick=False):
        made = api_for(cast.manager).post(
            "/goals",
            {"title": "Margin", "metric": "gross_margin", "target": 60, "owner_id": cast.alice.pk},
        )
        assert made.status_code == 201, made.content
        goal = made.json()
        assert (goal["value"], goal["status"], goal["owner_id"]) == ("58.3", "at_risk", cast.alice.pk)
        assert [(p["label"], p["value"], p["status"]) for p in goal["trend"][-3:]] == [
            ("Apr 2026", "100.0", "met"),
            ("May 2026", "93.8", "met"),
            ("Jun 2026", "58.3", "at_risk"),
        ]
        assert goal["links"] == [
            {"label": "The four corners: revenue, costs, profit", "url": "/insights/corners/"}
        ]
        listed = api_for(cast.bob).get("/goals").json()
        assert [g["id"] for g in listed] == [goal["id"]] and listed[0]["value"] == "58.3"
        changed = api_for(cast.admin).send(
            "PUT", f"/goals/{goal['id']}", {"title": "Margin", "metric": "gross_margin", "target": "55"}
        )
        assert (changed.status_code, changed.json()["status"]) == (200, "met")
        off = api_for(cast.admin).post(f"/goals/{goal['id']}/active", {"active": False})
        assert off.json()["active"] is False and api_for(cast.bob).get("/goals").json() == []
        assert len(api_for(cast.bob).get("/goals", include_inactive="true").json()) == 1


def test_members_may_not_write_and_bad_input_names_its_field(cast, london, api_for):
    member = api_for(cast.alice).post("/goals", {"title": "Mine", "metric": "nps", "target": 50})
    assert (member.status_code, member.json()["code"]) == (403, "permission.goal_editor")
    api = api_for(cast.manager)
    for body, field in (
        ({"title": "X", "metric": "nps", "target": "lots"}, "target"),
        ({"title": "X", "metric": "mood", "target": 1}, "metric"),
        (
            {"title": "X", "metric": "nps", "target": 1, "period": "rolling", "rolling_days": 0},
            "rolling_days",
        ),
        ({"title": "X", "metric": "overdue_reminders", "target": 0, "params": {"days": "x"}}, "params.days"),
        ({"title": "X", "metric": "nps", "target": 1, "colour": "red"}, "colour"),
        ({"title": "X", "metric": "nps", "target": 1, "owner_id": 999999}, "owner_id"),
        ({"title": "X\x00", "metric": "nps", "target": 1}, "title"),
    ):
        answer = api.post("/goals", body)
        assert answer.status_code in (404, 422), (body, answer.content)
        assert answer.json()["field"] == field, (body, answer.json())
    assert not Goal.objects.exists()
    assert api.get("/goals/999999").status_code == 404

"""Rules over the API and the CLI, and the forecast: what would happen, computed by the same code, writing
nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from friday.automation.models import ActionRun, Firing, Rule
from friday.automation.services import RuleIn, forecast, rule_save, sweep
from friday.core import clock
from friday.messaging.services import TemplateIn, template_save
from tests.conftest import make_person

BIRTHDAY_RULE = {
    "name": "Birthday email",
    "trigger": {"type": "yearly", "field": "birthday", "at": "09:00"},
    "actions": [{"type": "send_message", "template": "birthday"}],
    "enabled": True,
}


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


@pytest.fixture
def birthday(cast):
    return template_save(
        by=cast.manager,
        data=TemplateIn(
            key="birthday", name="Birthday", subject="Happy birthday, {{ party.first_name }}!", body_text="x"
        ),
    )


def test_forecast_lists_the_coming_firings_and_writes_nothing(cast, birthday):
    with time_machine.travel(at(2026, 3, 1, 8, 0), tick=False):
        make_person(cast.alice, "Ada", birthday=dt.date(1990, 3, 5))
        make_person(cast.alice, "Bo", birthday=dt.date(1985, 3, 20))
        make_person(cast.alice, "Cy", birthday=dt.date(1985, 6, 1))
        rule = rule_save(by=cast.manager, data=RuleIn(**BIRTHDAY_RULE))
        result = forecast([rule], days=30)
        assert [(i.party_name, i.match.due_at) for i in result.items] == [
            ("Ada Lovelace", at(2026, 3, 5, 9, 0)),
            ("Bo Lovelace", at(2026, 3, 20, 9, 0)),
        ]
        assert result.items[0].what == ["Send “birthday”"]
        assert [d for d, _ in result.by_day()] == [dt.date(2026, 3, 5), dt.date(2026, 3, 20)]
    assert not Firing.objects.exists() and not ActionRun.objects.exists()
    # What has fired already is not forecast again.
    with time_machine.travel(at(2026, 3, 5, 10, 0), tick=False):
        assert sweep().fired == 1
        assert [i.party_name for i in forecast([rule], days=30).items] == ["Bo Lovelace"]


def test_api_create_forecast_an_unsaved_edit_and_refusals(cast, birthday, api_for):
    api = api_for(cast.manager)
    soon = (clock.now() + dt.timedelta(days=3)).date()
    make_person(cast.alice, birthday=soon.replace(year=soon.year - 30))
    r = api.post("/rules", BIRTHDAY_RULE)
    assert r.status_code == 201, r.content
    rule_id = r.json()["id"]
    r = api.post(f"/rules/{rule_id}/forecast?days=10")
    assert r.status_code == 200 and [i["party"] for i in r.json()["items"]] == ["Ada Lovelace"]
    draft = {
        **BIRTHDAY_RULE,
        "trigger": {"type": "yearly", "field": "birthday", "days_before": 1, "at": "09:00"},
    }
    r = api.post("/rules/forecast", {"days": 30, "rule": draft})
    assert r.status_code == 200 and r.json()["items"][0]["rule_id"] is None
    bad = {**BIRTHDAY_RULE, "trigger": {"type": "yearly", "field": "shoe_size"}}
    r = api.post("/rules/forecast", {"days": 30, "rule": bad})
    assert r.status_code == 422 and r.json()["field"] == "rule.trigger.field"
    r = api.post("/rules", {**BIRTHDAY_RULE, "actions": [{"type": "send_message", "template": "nope"}]})
    assert r.status_code == 422 and r.json()["field"] == "actions.0.template"
    assert api_for(cast.alice).post("/rules", BIRTHDAY_RULE).status_code == 403
    yaml_text = api.get(f"/rules/{rule_id}/yaml").content.decode()
    assert "field: birthday" in yaml_text
    r = api.client.post(
        "/api/v1/rules/import",
        data=yaml_text.replace("Birthday email", "Copy"),
        content_type="application/yaml",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert r.status_code == 201 and Rule.objects.filter(name="Copy").exists()
    r = api.client.post(
        "/api/v1/rules/import",
        data="name: [unclosed",
        content_type="application/yaml",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert r.status_code == 422 and r.json()["field"] == "body"
    r = api.post(f"/rules/{rule_id}/enabled", {"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False


def test_cli_list_forecast_export_import(cast, birthday, tmp_path):
    soon = (clock.now() + dt.timedelta(days=2)).date()
    make_person(cast.alice, birthday=soon.replace(year=soon.year - 30))
    path = tmp_path / "rule.yaml"
    path.write_text(
        "name: Birthday email\nenabled: true\ntrigger: {type: yearly, field: birthday, at: '09:00'}\n"
        "actions:\n- {type: send_message, template: birthday}\n"
    )
    out = io.StringIO()
    call_command("automation", "import", str(path), stdout=out)
    assert "saved (on)" in out.getvalue()
    out = io.StringIO()
    call_command("automation", "forecast", "--days", "7", stdout=out)
    assert "Ada Lovelace" in out.getvalue() and "1 firing(s)" in out.getvalue()
    out = io.StringIO()
    call_command("automation", "list", stdout=out)
    assert "Birthday email" in out.getvalue()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntrigger: {type: never}\nactions: []\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was saved"):
        call_command("automation", "import", str(bad), stdout=io.StringIO(), stderr=err)
    assert "trigger.type" in err.getvalue()

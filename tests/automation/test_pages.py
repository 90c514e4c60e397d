"""The rule form builder, its forecast, the rules list and the runs page."""

from __future__ import annotations

import datetime as dt

from friday.automation.models import Firing, Rule
from friday.automation.services import run_due, sweep
from friday.core import clock
from friday.messaging.services import TemplateIn, template_save
from tests.conftest import make_person


def _form(**over):
    data = {
        "name": "Birthday email",
        "trigger_type": "yearly",
        "yearly_field": "birthday",
        "days_before": "0",
        "at": "09:00",
        "match": "all",
        "cond_0": "role",
        "cond_0_role": "customer",
        "act_0": "send_message",
        "act_0_template": "birthday",
        "act_1": "create_reminder",
        "act_1_title": "Call {party} for their birthday",
        "act_1_for": "owner",
        "act_1_due": "2",
    }
    data.update(over)
    return data


def test_build_forecast_save_and_see_runs(cast, web_for):
    template_save(
        by=cast.manager,
        data=TemplateIn(
            key="birthday", name="Birthday", subject="Happy birthday {{ party.first_name }}", body_text="x"
        ),
    )
    soon = (clock.now() + dt.timedelta(days=3)).date()
    ada = make_person(cast.alice, birthday=soon.replace(year=soon.year - 40), roles=["customer"])
    make_person(cast.alice, "Bo", birthday=soon.replace(year=soon.year - 30), roles=["supplier"])
    manager = web_for(cast.manager)
    page = manager.get("/automation/new/").content.decode()
    assert 'data-show-when="trigger_type=yearly"' in page and 'name="act_0_template"' in page
    forecast = manager.post("/automation/forecast/", _form()).content.decode()
    assert 'id="forecast-count"><strong>1</strong> firing' in forecast and "Ada Lovelace" in forecast
    assert "Send “birthday”; Remind the owner: Call {party} for their birthday" in forecast
    assert not Rule.objects.exists()  # the forecast saved nothing
    bad = manager.post("/automation/forecast/", _form(act_0_template="", act_1_title="")).content.decode()
    assert 'id="forecast-problems"' in bad
    r = manager.post("/automation/new/", _form(act_0_template=""))
    assert r.status_code == 422 and "Give template" in r.content.decode()
    r = manager.post("/automation/new/", _form(enabled="on"))
    assert r.status_code == 302
    rule = Rule.objects.get()
    assert rule.enabled and rule.conditions == {"all": [{"filter": {"roles": ["customer"]}}]}
    assert rule.actions[1] == {
        "type": "create_reminder",
        "title": "Call {party} for their birthday",
        "for": "owner",
        "due_in_minutes": 120,
        "notes": "",
        "delay_minutes": 0,
    }
    edit = manager.get(f"/automation/{rule.pk}/").content.decode()
    assert 'value="Call {party} for their birthday"' in edit and 'id="rule-yaml"' in edit
    listing = manager.get("/automation/").content.decode()
    assert f'data-rule="{rule.pk}"' in listing and "Switch Birthday email off" in listing
    assert web_for(cast.alice).get("/automation/new/").status_code == 403
    # It fires (moved on three days), and the runs page shows what each action did.
    import time_machine

    with time_machine.travel(clock.now() + dt.timedelta(days=3, hours=12), tick=False):
        assert sweep().fired == 1
        run_due(worker_id="w")
    firing = Firing.objects.get()
    assert firing.party == ada
    runs = manager.get("/automation/runs/").content.decode()
    assert f'data-firing="{firing.pk}"' in runs and 'data-status="done"' in runs
    assert f'data-firing="{firing.pk}"' not in web_for(cast.bob).get("/automation/runs/").content.decode()
    manager.post(f"/automation/{rule.pk}/toggle/")
    rule.refresh_from_db()
    assert not rule.enabled


def test_conditions_on_the_record_are_rows_in_the_form(cast, web_for):
    """The starters that look at the record (a detractor's score, the stages a job notice is for) open as rows,
    and the form saves them back unchanged."""
    from friday.automation import starters
    from friday.automation.forms import RuleForm, initial_from

    starters.install(by=cast.manager)
    for name in ("Tell the owner about a detractor", "Tell the client when their job moves"):
        rule = Rule.objects.get(name=name)
        initial, advanced = initial_from(rule)
        assert not advanced, name
        page = web_for(cast.manager).get(f"/automation/{rule.pk}/").content.decode()
        assert 'id="advanced-conditions"' not in page and "the record&#x27;s detail" in page
        # The condition rows as the page sends them back (with the trigger they belong to).
        keep = ("name", "trigger_type", "event", "event_stage", "match")
        data = {k: v for k, v in initial.items() if v is not None and (k in keep or k.startswith("cond_"))}
        form = RuleForm(data, initial=initial)
        assert form.is_valid(), form.errors
        # The same conditions (one on its own comes back as a one-row "all").
        assert form.conditions({}) in (rule.conditions, {"all": [rule.conditions]}), name

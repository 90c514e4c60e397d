"""The guide's steps: each is done when its data says so, can be skipped and taken up again, and the checklist
on the dashboard stays until every step is done or skipped."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from friday.accounts.models import Role
from friday.automation.models import Rule
from friday.core.errors import Conflict, ValidationFailed
from friday.processes.models import Term
from friday.processes.services import process_import
from friday.processes.templates import starter_text
from friday.setup import selectors, services
from friday.setup.models import StepState
from friday.setup.steps import register_step, step_get, steps, unregister_step
from tests.conftest import make_person

BUILT_IN = ["business", "terms", "process", "team", "contacts", "rules"]  # other apps may add theirs (goals)


def statuses() -> dict[str, str]:
    return {v.key: v.status for v in selectors.guide() if v.key in BUILT_IN}


def test_a_new_install_has_every_step_open(boss):
    assert statuses() == dict.fromkeys(BUILT_IN, "open")
    card = selectors.dashboard(user=boss)["checklist"]
    assert (card["done"], card["total"], card["settled"], card["next"].key) == (
        0,
        len(steps()),
        False,
        "business",
    )


def test_each_step_is_done_by_its_data(boss):
    services.business_update(
        by=boss, name="Hopper Heating", time_zone="Europe/London", currency="GBP", region="GB"
    )
    assert statuses()["business"] == "done"

    services.terms_install(
        by=boss,
        choices=[
            services.TermChoice("Callout", "A visit at short notice, charged at the callout rate.", add=True)
        ],
    )
    assert statuses()["terms"] == "done"
    assert Term.objects.get().definition == "A visit at short notice, charged at the callout rate."

    process_import(by=boss, source=starter_text("jobs"))  # published
    assert statuses()["process"] == "done"

    user, password = services.team_invite(by=boss, username="alice", role=Role.MEMBER, first_name="Alice")
    assert authenticate(username="alice", password=password) == user
    assert statuses()["team"] == "done"

    make_person(boss, "Grace", "Hopper")
    assert statuses()["contacts"] == "done"

    services.starter_rules_add(by=boss)
    assert statuses()["rules"] == "open"  # added, but all switched off
    assert services.starter_rules_switch_on(by=boss, names=["Birthday email"]) == ["Birthday email"]
    assert statuses()["rules"] == "done"
    assert set(Rule.objects.filter(enabled=True).values_list("name", flat=True)) == {"Birthday email"}

    assert statuses() == dict.fromkeys(BUILT_IN, "done")
    assert selectors.dashboard(user=boss)["checklist"]["done"] == 6


def test_a_click_alone_does_not_make_a_step_done(boss):
    services.step_record(by=boss, key="rules", status="done")
    assert statuses()["rules"] == "open"  # no rule is on


def test_skip_and_resume(boss):
    services.step_skip(by=boss, key="contacts")
    assert statuses()["contacts"] == "skipped"
    state = StepState.objects.get(key="contacts")
    assert (state.status, state.by) == ("skipped", boss)
    services.step_resume(by=boss, key="contacts")
    assert statuses()["contacts"] == "open"
    services.step_skip(by=boss, key="contacts")
    make_person(boss, "Grace", "Hopper")  # done later on the usual pages
    assert statuses()["contacts"] == "done"


def test_skip_and_resume_on_the_pages(boss, web_for):
    client = web_for(boss)
    response = client.post("/setup/steps/team/skip/")
    assert (
        response.status_code == 302 and response["Location"] == "/setup/contacts/"
    )  # on to the next open step
    page = client.get("/setup/").content.decode()
    assert 'data-step="team" data-status="skipped"' in page
    assert client.post("/setup/steps/team/resume/")["Location"] == "/setup/team/"
    assert statuses()["team"] == "open"
    assert client.post("/setup/steps/nonsense/skip/").status_code == 404


def test_the_checklist_stays_until_every_step_is_settled(boss, web_for):
    client = web_for(boss)
    home = client.get("/").content.decode()
    assert 'id="setup-checklist"' in home and f"0 of {len(steps())} done" in home
    with pytest.raises(Conflict):
        services.dismiss(user=boss, key="checklist")
    for step in steps():
        services.step_skip(by=boss, key=step.key)
    home = client.get("/").content.decode()
    assert 'id="setup-dismiss"' in home
    response = client.post("/setup/dismiss/checklist/", {"next": "/"})
    assert response.status_code == 302
    assert 'id="setup-checklist"' not in client.get("/").content.decode()


def test_the_checklist_is_for_admins(cast, web_for):
    assert 'id="setup-checklist"' not in web_for(cast.manager).get("/").content.decode()
    assert web_for(cast.manager).get("/setup/").status_code == 403
    assert 'id="setup-checklist"' in web_for(cast.admin).get("/").content.decode()


def test_another_app_registers_its_step(boss):
    before = step_get("goals")
    done = {"value": False}
    register_step("goals", "Your first goals", order=99, url="/strategy/", done=lambda: done["value"])
    try:
        views = selectors.guide()
        assert [v.key for v in views][-1] == "goals"
        assert (views[-1].status, views[-1].href) == ("open", "/strategy/")
        done["value"] = True
        assert selectors.guide()[-1].status == "done"
    finally:
        unregister_step("goals")
        if before is not None:  # the strategy app's own step
            register_step(
                before.key,
                before.title,
                order=before.order,
                url=before.url,
                done=before.done,
                summary=before.summary,
                why=before.why,
            )
    assert before is not None and step_get("goals") == before  # the strategy app's step is back as it was


def test_bad_input_is_refused_by_field(boss, web_for):
    with pytest.raises(ValidationFailed) as caught:
        services.terms_install(by=boss, choices=[services.TermChoice("Callout", "   ", add=True)])
    assert caught.value.errors[0].field == "terms.0.definition"
    assert not Term.objects.exists()
    client = web_for(boss)
    page = client.post(
        "/setup/business/", {"name": "Hopper", "time_zone": "Nowhere/Land", "currency": "GBP", "region": "GB"}
    )
    assert page.status_code == 422 and "Nowhere/Land is not a time zone" in page.content.decode()
    invite = client.post("/setup/team/", {"username": "boss", "role": "member"})
    assert invite.status_code == 422 and "The username &#x27;boss&#x27; is taken." in invite.content.decode()
    with pytest.raises(Exception, match="not one of the starter rules"):
        services.starter_rules_switch_on(by=boss, names=["Delete everything"])

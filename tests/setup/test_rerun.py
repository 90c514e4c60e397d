"""Running the guide again on a configured install changes nothing unless the user chooses to; the rules step shows
each rule's forecast before it is switched on."""

from __future__ import annotations

import datetime as dt

import time_machine

from friday.accounts.models import Role, User
from friday.automation.models import Rule
from friday.core.models import Business, DomainEvent
from friday.processes.models import ProcessVersion, Term
from friday.processes.services import process_import
from friday.processes.templates import starter_text
from friday.setup import services
from friday.setup.terms import service_business_terms
from tests.conftest import make_person


def configure(boss) -> None:
    services.business_update(
        by=boss, name="Hopper Heating", time_zone="Europe/London", currency="GBP", region="GB"
    )
    process_import(by=boss, source=starter_text("lifecycle"))
    services.terms_install(
        by=boss, choices=[services.TermChoice("Job", "Our own meaning of a job.", add=True)]
    )
    services.team_invite(by=boss, username="alice", role=Role.MEMBER)
    make_person(boss, "Grace", "Hopper", roles=["customer"])
    services.starter_rules_add(by=boss)
    services.starter_rules_switch_on(by=boss, names=["Birthday email"])


def snapshot() -> dict:
    business = Business.objects.get()
    return {
        "business": (business.name, business.time_zone, business.version, business.updated_at),
        "terms": sorted(Term.objects.values_list("name", "definition", "updated_at")),
        "rules": sorted(Rule.objects.values_list("name", "enabled", "updated_at")),
        "versions": ProcessVersion.objects.count(),
        "users": User.objects.count(),
        "events": DomainEvent.objects.count(),
    }


def test_running_the_guide_again_changes_nothing(boss, web_for):
    configure(boss)
    before = snapshot()
    client = web_for(boss)
    for path in (
        "/setup/",
        "/setup/business/",
        "/setup/terms/",
        "/setup/process/",
        "/setup/team/",
        "/setup/contacts/",
    ):
        assert client.get(path).status_code == 200, path
    rules_page = client.get("/setup/rules/").content.decode()
    assert 'id="add-starters"' not in rules_page  # all there already
    # Each form sent back as it is shown.
    client.post(
        "/setup/business/",
        {"name": "Hopper Heating", "time_zone": "Europe/London", "currency": "GBP", "region": "GB"},
    )
    terms_page = client.get("/setup/terms/").content.decode()
    assert (
        'name="add-' in terms_page and " checked>" not in terms_page
    )  # a glossary with words: nothing ticked
    template = service_business_terms()
    client.post("/setup/terms/", {f"definition-{i}": t.definition for i, t in enumerate(template)})
    client.post("/setup/rules/", {"action": "switch_on"})
    client.post("/setup/rules/", {"action": "add"})
    assert snapshot() == before


def test_replacing_a_term_is_a_choice(boss):
    configure(boss)
    result = services.terms_install(
        by=boss,
        choices=[
            services.TermChoice("Job", "Work for a client, booked and paid.", add=True),  # there: kept
            services.TermChoice("Quote", "A written price.", add=False),  # not ticked: not added
        ],
    )
    assert (result.added, result.replaced, result.kept) == ([], [], ["Job"])
    assert Term.objects.get(name="Job").definition == "Our own meaning of a job."
    result = services.terms_install(
        by=boss, choices=[services.TermChoice("Job", "Work for a client, booked and paid.", replace=True)]
    )
    assert result.replaced == ["Job"]
    assert Term.objects.get(name="Job").definition == "Work for a client, booked and paid."


def test_a_lifecycle_stage_is_worded_in_its_process(boss, web_for):
    configure(boss)
    template = service_business_terms()
    i = next(n for n, t in enumerate(template) if t.name == "Customer")
    data = {f"definition-{n}": t.definition for n, t in enumerate(template)}
    data[f"definition-{i}"], data[f"replace-{i}"] = "Anyone who asked us for a price.", "on"
    page = web_for(boss).post("/setup/terms/", data)
    assert page.status_code == 422
    assert "Customer is a stage of Customer lifecycle" in page.content.decode()
    assert Term.objects.get(name="Customer").definition == "They have paid for at least one job."


def test_the_rules_step_shows_the_forecast_before_switching_on(boss, web_for):
    utc = dt.UTC
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=utc), tick=False):
        make_person(boss, "Not", "Yet", birthday=dt.date(1990, 3, 10))  # no role: no one for the rules
        empty = web_for(boss).get("/setup/rules/").content.decode()
        assert 'id="no-customers"' in empty and "the role customer" in empty
        make_person(boss, "Grace", "Hopper", roles=["customer"], birthday=dt.date(1990, 3, 10))
        make_person(
            boss, "Alan", "Turing", roles=["customer"], birthday=dt.date(1912, 6, 23)
        )  # not within 30 days
        client = web_for(boss)
        first = client.get("/setup/rules/").content.decode()
        assert 'id="add-starters"' in first and 'id="no-customers"' not in first
        client.post("/setup/rules/", {"action": "add"})
        page = client.get("/setup/rules/").content.decode()
        birthday = page[page.index('data-rule="Birthday email"') : page.index('data-rule="Check in after')]
        assert '<strong class="forecast-count">1</strong> firing in the next 30 days' in birthday
        assert "10 Mar 09:00" in birthday and "Grace Hopper" in birthday and "Alan Turing" not in birthday
        jobs = page[page.index('data-rule="Tell the client when their job moves"') :]
        assert "It fires when the event happens" in jobs
        assert not Rule.objects.filter(enabled=True).exists()  # shown, nothing switched on
        response = client.post("/setup/rules/", {"action": "switch_on", "rule": ["Birthday email"]})
        assert response.status_code == 302
    assert list(Rule.objects.filter(enabled=True).values_list("name", flat=True)) == ["Birthday email"]

"""Rule drafts in the sandbox: a draft of a live rule changes nothing the rule sends; its forecast beside the
live rule's says what going live adds and removes; going live replaces the rule in one step, kept in the
rule's history; only rule editors may do any of it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from friday.automation import selectors, services
from friday.automation.models import Firing, Rule, RuleVersion
from friday.automation.services import RuleIn, rule_draft_save, rule_go_live, rule_save, run_due, sweep
from friday.core import clock
from friday.core.errors import FridayError, PermissionDenied, ValidationFailed
from friday.messaging.models import OutboundMessage
from friday.messaging.services import TemplateIn, template_save
from tests.conftest import make_person


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


NOW = at(2026, 3, 1, 10, 0)
BIRTHDAY = {"type": "yearly", "field": "birthday", "days_before": 0, "at": "09:00"}


@pytest.fixture
def templates(cast):
    for key, subject in (("birthday", "Happy birthday, {{ party.first_name }}!"), ("card", "A card for you")):
        template_save(
            by=cast.manager, data=TemplateIn(key=key, name=key.title(), subject=subject, body_text="Hi.")
        )


def birthday_rule(cast, **kw) -> Rule:
    data = {
        "name": "Birthday email",
        "trigger": BIRTHDAY,
        "actions": [{"type": "send_message", "template": "birthday"}],
        "enabled": True,
        **kw,
    }
    return rule_save(by=cast.manager, data=RuleIn(**data))


def test_a_draft_of_a_live_rule_does_not_change_what_it_sends(cast, templates):
    with time_machine.travel(NOW, tick=False):
        make_person(
            cast.alice, "Ada", birthday=dt.date(1980, 3, 5), emails=["ada@example.com"], email_consent=True
        )
        rule = birthday_rule(cast)
        # a draft that would send the card instead, three days earlier, to customers only
        rule_draft_save(
            by=cast.manager,
            rule=rule,
            data=RuleIn(
                name="Birthday card",
                trigger={**BIRTHDAY, "days_before": 3},
                conditions={"filter": {"roles": ["customer"]}},
                actions=[{"type": "send_message", "template": "card"}],
            ),
        )
    rule.refresh_from_db()
    assert rule.draft["name"] == "Birthday card" and rule.name == "Birthday email"
    # 2 March, 9:00 is when the draft would send (Ada is no customer anyway): nothing fires
    with time_machine.travel(at(2026, 3, 2, 9, 30), tick=False):
        assert sweep().fired == 0
    # 5 March: the live rule sends the birthday email, as before
    with time_machine.travel(at(2026, 3, 5, 9, 30), tick=False):
        assert sweep().fired == 1
        assert run_due(worker_id="w").done == 1
    assert list(OutboundMessage.objects.values_list("subject", flat=True)) == ["Happy birthday, Ada!"]
    rule.refresh_from_db()
    assert (rule.name, rule.trigger["days_before"], rule.enabled) == ("Birthday email", 0, True)
    assert rule.draft["trigger"]["days_before"] == 3  # still waiting in the sandbox


def test_the_forecast_beside_the_live_rule_matches_a_hand_count(cast, templates):
    with time_machine.travel(NOW, tick=False):
        # birthdays (in 2026) on: A +5 d, B +10 d, C +20 d, D +45 d, E +38 d; B is no customer
        for name, day, customer in (
            ("A", dt.date(1980, 3, 6), True),
            ("B", dt.date(1980, 3, 11), False),
            ("C", dt.date(1980, 3, 21), True),
            ("D", dt.date(1980, 4, 15), True),
            ("E", dt.date(1980, 4, 8), True),
        ):
            make_person(
                cast.alice,
                name,
                "Test",
                birthday=day,
                roles=["customer"] if customer else [],
                emails=[f"{name}@x.io"],
            )
        rule = birthday_rule(cast)
        # the draft: ten days before, customers only
        rule = rule_draft_save(
            by=cast.manager,
            rule=rule,
            data=RuleIn(
                name="Birthday email",
                trigger={**BIRTHDAY, "days_before": 10},
                conditions={"filter": {"roles": ["customer"]}},
                actions=[{"type": "send_message", "template": "birthday"}],
            ),
        )
        diff = services.forecast_diff(rule, days=30)

    # live, by 31 March 10:00: A (6 Mar), B (11 Mar), C (21 Mar). The draft: C on 11 Mar, E on 29 Mar
    # (A's falls on 24 Feb, gone; D's on 5 April, beyond the 30 days).
    def names(items):
        return sorted(i.party_name for i in items)

    assert diff.live is not None and names(diff.live.items) == ["A Test", "B Test", "C Test"]
    assert names(diff.draft.items) == ["C Test", "E Test"]
    assert names(diff.added) == ["E Test"] and names(diff.removed) == ["A Test", "B Test"]
    assert diff.kept == [] and len(diff.changed) == 1
    before, after = diff.changed[0]
    assert before.match.due_at == at(2026, 3, 21, 9, 0) and after.match.due_at == at(2026, 3, 11, 9, 0)
    assert diff.added[0].match.due_at == at(2026, 3, 29, 9, 0)


def test_go_live_replaces_the_rule_and_writes_its_history(cast, templates):
    with time_machine.travel(NOW, tick=False):
        rule = birthday_rule(cast)
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):
        rule_draft_save(
            by=cast.manager,
            rule=rule,
            data=RuleIn(
                name="Birthday card",
                trigger=BIRTHDAY,
                actions=[{"type": "send_message", "template": "card"}],
            ),
        )
    with time_machine.travel(at(2026, 3, 3, 11, 0), tick=False):
        version = rule_go_live(by=cast.admin, rule=rule, note="Cards this year")
    rule.refresh_from_db()
    card = [{"type": "send_message", "template": "card", "to": "party", "delay_minutes": 0}]
    assert rule.name == "Birthday card" and rule.actions == card
    assert rule.draft == {} and rule.draft_updated_at is None and rule.enabled
    assert rule.swept_until == NOW  # it stayed on: the sweep carries on from where it was
    history = list(
        RuleVersion.objects.filter(rule=rule)
        .order_by("number")
        .values_list("number", "how", "changed", "note", "by__username", "at")
    )
    assert history == [
        (1, "saved", ["created"], "", "manager", NOW),
        (2, "live", ["name", "actions"], "Cards this year", "admin", at(2026, 3, 3, 11, 0)),
    ]
    assert version.snapshot["actions"] == card
    # and the history page shows it
    from django.test import Client

    web = Client()
    web.force_login(cast.alice)  # anyone may read a rule's history
    html = web.get(f"/automation/{rule.pk}/history/").content.decode()
    assert (
        'data-version="2" data-how="live"' in html and "Cards this year" in html and "name, actions" in html
    )


def test_a_new_rule_as_a_draft_is_off_until_it_goes_live_and_discard_removes_it(cast, templates):
    data = RuleIn(
        name="Check in",
        trigger={"type": "no_contact", "days": 60},
        actions=[{"type": "create_reminder", "title": "Call {party}", "for": "owner"}],
    )
    with time_machine.travel(NOW, tick=False):
        rule = rule_draft_save(by=cast.manager, data=data)
        assert not rule.enabled and rule.draft["name"] == "Check in"
        assert sweep().rules == 0  # off: never swept
        assert list(selectors.drafts_pending()) == [rule]
        # discarding a draft that never went live removes the rule with it
        assert services.rule_draft_discard(by=cast.manager, rule=rule) is True
        assert not Rule.objects.exists()
        rule = rule_draft_save(by=cast.manager, data=data)
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        rule_go_live(by=cast.manager, rule=rule)
    rule.refresh_from_db()
    assert rule.enabled and rule.enabled_at == at(2026, 3, 2, 9, 0) and rule.swept_until == rule.enabled_at
    assert list(rule.versions.values_list("how", "changed")) == [("live", ["created"])]
    # a draft of a rule with a history: discarding keeps the rule as it is
    rule_draft_save(by=cast.manager, rule=rule, data=RuleIn(**{**data.__dict__, "name": "Check in later"}))
    assert services.rule_draft_discard(by=cast.manager, rule=rule) is False
    rule.refresh_from_db()
    assert rule.name == "Check in" and rule.draft == {} and rule.enabled


def test_only_rule_editors_draft_go_live_or_discard(cast, templates, web_for):
    rule = birthday_rule(cast)
    data = RuleIn(name="Mine", trigger=BIRTHDAY, actions=[{"type": "send_message", "template": "card"}])
    with pytest.raises(PermissionDenied):
        rule_draft_save(by=cast.alice, rule=rule, data=data)
    rule_draft_save(by=cast.manager, rule=rule, data=data)
    for user in (cast.alice, cast.reader):
        with pytest.raises(PermissionDenied):
            rule_go_live(by=user, rule=rule)
        with pytest.raises(PermissionDenied):
            services.rule_draft_discard(by=user, rule=rule)
    alice = web_for(cast.alice)
    assert alice.get(f"/automation/{rule.pk}/draft/").status_code == 403
    assert alice.post(f"/automation/{rule.pk}/go-live/").status_code == 403
    assert alice.post(f"/automation/{rule.pk}/discard/").status_code == 403
    assert alice.get("/sandbox/").status_code == 403
    rule.refresh_from_db()
    assert rule.name == "Birthday email" and rule.draft["name"] == "Mine"


def test_bad_input_is_refused_and_changes_nothing(cast, templates, web_for):
    rule = birthday_rule(cast)
    # no draft
    with pytest.raises(FridayError) as exc:
        rule_go_live(by=cast.manager, rule=rule)
    assert exc.value.code == "rule.no_draft"
    # a malformed draft is refused by path, as saving is
    with pytest.raises(ValidationFailed) as bad:
        rule_draft_save(
            by=cast.manager,
            rule=rule,
            data=RuleIn(name="", trigger={"type": "yearly", "at": "25:00"}, actions=[]),
        )
    assert {"name", "trigger.at"} <= {e.field for e in bad.value.errors}
    rule.refresh_from_db()
    assert rule.draft == {}
    # a draft the lint finds an error in is kept (to be fixed) but cannot go live
    rule_draft_save(
        by=cast.manager,
        rule=rule,
        data=RuleIn(
            name="Never",
            trigger=BIRTHDAY,
            conditions={
                "all": [{"filter": {"roles": ["customer"]}}, {"not": {"filter": {"roles": ["customer"]}}}]
            },
            actions=[{"type": "send_message", "template": "birthday"}],
        ),
    )
    with pytest.raises(ValidationFailed) as lint:
        rule_go_live(by=cast.manager, rule=rule)
    assert [e.code for e in lint.value.errors] == ["lint.conditions.contradiction"]
    rule_draft_save(
        by=cast.manager,
        rule=rule,
        data=RuleIn(name="Fine", trigger=BIRTHDAY, actions=[{"type": "send_message", "template": "card"}]),
    )
    with pytest.raises(ValidationFailed):
        rule_go_live(by=cast.manager, rule=rule, note="x" * 201)
    rule.refresh_from_db()
    assert rule.name == "Birthday email" and rule.draft["name"] == "Fine"
    web = web_for(cast.manager)
    assert web.get("/automation/999999/draft/").status_code == 404
    assert web.post("/automation/999999/go-live/").status_code == 404
    # going live from the sandbox goes back there, never to another site
    response = web.post(f"/automation/{rule.pk}/go-live/", {"next": "//evil.example.com/"})
    assert response["Location"] == f"/automation/{rule.pk}/history/"
    assert Firing.objects.count() == 0


def test_the_form_saves_a_draft_and_the_sandbox_lists_it(cast, templates, web_for):
    with time_machine.travel(NOW, tick=False):
        make_person(cast.alice, "Ada", birthday=dt.date(1980, 3, 5))
        rule = birthday_rule(cast)
        web = web_for(cast.manager)
        form = {
            "name": "Birthday email",
            "trigger_type": "yearly",
            "yearly_field": "birthday",
            "days_before": "0",
            "at": "10:00",
            "match": "all",
            "act_0": "send_message",
            "act_0_template": "card",
            "enabled": "on",
            "owner": str(cast.manager.pk),
        }
        response = web.post(f"/automation/{rule.pk}/", {**form, "action": "draft"})
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response["Location"] == f"/automation/{rule.pk}/draft/"
        rule.refresh_from_db()
        assert rule.trigger["at"] == "09:00" and rule.draft["trigger"]["at"] == "10:00"
        # the form now edits the draft
        assert 'id="editing-draft"' in web.get(f"/automation/{rule.pk}/").content.decode()
        review = web.get(f"/automation/{rule.pk}/draft/").content.decode()
        assert 'data-part="When" data-changed="1"' in review and 'data-part="Then" data-changed="1"' in review
        assert (
            '<tr data-row="changed"><th scope="row">Same firing, another time or action</th><td>1</td>'
            in review
        )
        sandbox = web.get("/sandbox/").content.decode()
        assert f'data-rule="{rule.pk}"' in sandbox
        summary = web.get(f"/automation/{rule.pk}/draft/summary/").content.decode()
        assert 'data-errors="0"' in summary and 'data-added="0" data-removed="0" data-changed="1"' in summary
        response = web.post(f"/automation/{rule.pk}/go-live/", {"next": "/sandbox/", "note": "an hour later"})
        assert response["Location"] == "/sandbox/"
    rule.refresh_from_db()
    assert rule.trigger["at"] == "10:00" and rule.versions.get(number=2).note == "an hour later"


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_what_the_live_rule_says_until_the_draft_goes_live(cast, smtp_server, run_worker):
    from friday.automation.tasks import automation_sweep

    for key, subject in (
        ("welcome", "Welcome, {{ party.first_name }}"),
        ("card", "A card for {{ party.first_name }}"),
    ):
        template_save(
            by=cast.manager, data=TemplateIn(key=key, name=key.title(), subject=subject, body_text="Hi.")
        )
    welcome = {
        "name": "Welcome",
        "trigger": {"type": "event", "event": "party.created"},
        "actions": [{"type": "send_message", "template": "welcome"}],
    }
    rule = rule_save(by=cast.manager, data=RuleIn(**welcome, enabled=True))
    rule_draft_save(
        by=cast.manager,
        rule=rule,
        data=RuleIn(**{**welcome, "actions": [{"type": "send_message", "template": "card"}]}),
    )
    make_person(cast.alice, "Grace", "Hopper", emails=["grace@example.com"])
    automation_sweep.enqueue()
    run_worker()
    assert [m["Subject"] for m in smtp_server.messages] == ["Welcome, Grace"]  # the draft sent nothing
    rule_go_live(by=cast.manager, rule=rule)
    make_person(cast.alice, "Alan", "Turing", emails=["alan@example.com"])
    automation_sweep.enqueue()
    run_worker()
    assert [m["Subject"] for m in smtp_server.messages] == ["Welcome, Grace", "A card for Alan"]
    assert Firing.objects.filter(rule=rule).count() == 2  # Grace was not fired for again


def test_the_sandbox_page_costs_the_same_queries_for_one_rule_draft_or_four(cast, templates, web_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web = web_for(cast.manager)
    web.get("/sandbox/")  # the session and the business settings' copy are read once, whatever the page
    counts = []
    for n in range(4):
        rule_draft_save(
            by=cast.manager,
            data=RuleIn(
                name=f"Draft {n}", trigger=BIRTHDAY, actions=[{"type": "send_message", "template": "card"}]
            ),
        )
        with CaptureQueriesContext(connection) as queries:
            html = web.get("/sandbox/").content.decode()
        assert html.count("/draft/summary/") == n + 1
        counts.append(len(queries))
    assert counts[0] == counts[-1], counts


def test_a_draft_only_rule_cannot_be_switched_on_past_its_checks(cast, templates, web_for):
    """Switching on would put a rule live without the lint going live makes: refused, by the service and the API."""
    from friday.core.errors import Conflict

    rule = rule_draft_save(
        by=cast.manager,
        data=RuleIn(
            name="Draft only", trigger=BIRTHDAY, actions=[{"type": "send_message", "template": "card"}]
        ),
    )
    with pytest.raises(Conflict, match="only a draft"):
        services.rule_set_enabled(by=cast.manager, rule=rule, enabled=True)
    response = web_for(cast.manager).post(
        f"/api/v1/rules/{rule.pk}/enabled", {"enabled": True}, content_type="application/json"
    )
    assert response.status_code == 409 and response.json()["code"] == "rule.draft_only"
    rule.refresh_from_db()
    assert not rule.enabled and not rule.versions.exists()
    rule_go_live(by=cast.manager, rule=rule)  # the way on
    services.rule_set_enabled(by=cast.manager, rule=rule, enabled=False)
    assert services.rule_set_enabled(by=cast.manager, rule=rule, enabled=True).enabled  # with a history: fine


def test_saving_from_an_older_copy_keeps_a_draft_and_a_switch_made_since(cast, templates):
    """A save reads the rule afresh under a lock: a draft or a switch made meanwhile (another tab, the API) is not
    written back from the copy the form was opened with, and each change gets its own history number."""
    opened = birthday_rule(cast)  # the form's copy
    services.rule_set_enabled(by=cast.manager, rule=opened, enabled=False)
    rule_draft_save(
        by=cast.manager,
        rule=Rule.objects.get(pk=opened.pk),
        data=RuleIn(
            name="Birthday card", trigger=BIRTHDAY, actions=[{"type": "send_message", "template": "card"}]
        ),
    )
    saved = rule_save(
        by=cast.manager,
        rule=opened,
        data=RuleIn(
            name="Birthday email, renamed",
            trigger=BIRTHDAY,
            actions=[{"type": "send_message", "template": "birthday"}],
            enabled=False,
        ),
    )
    saved.refresh_from_db()
    assert saved.name == "Birthday email, renamed" and not saved.enabled
    assert saved.draft and saved.draft["name"] == "Birthday card"
    numbers = list(RuleVersion.objects.filter(rule=saved).order_by("number").values_list("number", "how"))
    assert numbers == [(1, "saved"), (2, "disabled"), (3, "saved")]

""" "Grow into it": a suggestion appears only once the capability before it is in use, at most two at a time, and
each can be put away per user."""

from __future__ import annotations

import datetime as dt

import time_machine

from friday.automation import starters
from friday.automation.models import Rule
from friday.automation.services import rule_set_enabled
from friday.billing import services as billing
from friday.core import clock
from friday.duplicates.services import duplicates_scan
from friday.jobs.services import JobIn, job_create
from friday.setup import services
from friday.setup.selectors import dashboard
from tests.billing.conftest import line
from tests.billing.test_automation import walk_to_complete
from tests.conftest import make_person
from tests.imports.helpers import csv_bytes, run


def shown(user) -> list[str]:
    return [s.key for s in dashboard(user=user)["suggestions"]]


def test_nothing_is_suggested_on_a_new_install(boss):
    assert shown(boss) == []


def test_three_users_suggest_the_adoption_page(cast):
    # The cast is six people.
    assert shown(cast.admin) == ["adoption"]
    assert shown(cast.manager) == ["adoption"]
    assert shown(cast.alice) == []  # a member cannot act on it


def test_completed_jobs_suggest_invoice_rules_until_one_is_on(cast, job_process):
    boss = cast.admin
    client = make_person(boss, "Grace", "Hopper", roles=["customer"])
    job = job_create(
        by=boss,
        party=client,
        data=JobIn(title="Boiler service", scheduled_for=clock.now(), staff=[cast.alice]),
    )
    assert shown(boss) == ["adoption"]  # a job, but none completed (and the cast is six people)
    walk_to_complete(job, boss)
    assert shown(boss) == ["invoice_rules", "adoption"]
    starters.install(by=boss)
    invoicing = next(r for r in Rule.objects.all() if any(a["type"] == "issue_invoice" for a in r.actions))
    rule_set_enabled(by=boss, rule=invoicing, enabled=True)
    assert shown(boss) == ["adoption"]


def test_paid_invoices_suggest_feedback(boss):
    client = make_person(boss, "Grace", "Hopper")
    invoice = billing.invoice_issue(
        by=boss,
        invoice=billing.invoice_create(by=boss, party=client, data=billing.InvoiceIn(lines=[line()])),
        send=False,
    )
    assert shown(boss) == []  # issued, not paid
    billing.payment_record(by=boss, invoice=invoice, data=billing.PaymentIn(amount="120.00", key="p"))
    assert shown(boss) == ["feedback"]


def test_an_import_suggests_the_duplicate_scan_until_one_runs_after_it(boss):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        run(boss, csv_bytes(["Name", "Email"], [["Ada Lovelace", "ada@example.com"]]))
    assert shown(boss) == ["duplicates"]
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 5, tzinfo=dt.UTC), tick=False):
        duplicates_scan(by=boss)
    assert shown(boss) == []
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 10, tzinfo=dt.UTC), tick=False):
        run(boss, csv_bytes(["Name", "Email"], [["Alan Turing", "alan@example.com"]]))
    assert shown(boss) == ["duplicates"]


def test_at_most_two_at_a_time_and_each_put_away_per_user(cast, web_for):
    client = make_person(cast.admin, "Grace", "Hopper")
    invoice = billing.invoice_issue(
        by=cast.admin,
        invoice=billing.invoice_create(by=cast.admin, party=client, data=billing.InvoiceIn(lines=[line()])),
        send=False,
    )
    billing.payment_record(by=cast.admin, invoice=invoice, data=billing.PaymentIn(amount="120.00", key="p"))
    run(cast.admin, csv_bytes(["Name", "Email"], [["Ada Lovelace", "ada@example.com"]]))
    # feedback, duplicates and adoption all hold: the first two are shown.
    assert shown(cast.admin) == ["feedback", "duplicates"]
    page = web_for(cast.admin).post("/setup/dismiss/suggest:feedback/", {"next": "/"})
    assert page.status_code == 302
    assert shown(cast.admin) == ["duplicates", "adoption"]
    assert shown(cast.manager) == ["feedback", "duplicates"]  # put away for the admin only
    home = web_for(cast.manager).get("/").content.decode()
    assert home.count('class="card suggestion"') == 2 and 'data-suggestion="feedback"' in home
    services.dismiss(user=cast.admin, key="suggest:feedback")  # twice is fine


def test_the_dashboard_card_costs_a_query_per_step_and_rule_not_per_record(
    cast, django_assert_max_num_queries, django_assert_num_queries
):
    from friday.setup.steps import steps
    from friday.setup.suggestions import SUGGESTIONS

    for n in range(30):
        make_person(cast.alice, "Client", f"Number {n}")
    # Dismissals, step states, one done-check per step, and at most two queries per suggestion's rule.
    with django_assert_max_num_queries(2 + len(steps()) + 2 * len(SUGGESTIONS)):
        card = dashboard(user=cast.admin)
    assert card["checklist"] is not None
    with django_assert_num_queries(1):  # a member: only what they put away
        assert dashboard(user=cast.alice) == {"checklist": None, "suggestions": []}

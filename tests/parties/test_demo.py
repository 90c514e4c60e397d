"""`friday demo`: a realistic sample business with months of history, loaded once and only into an empty CRM."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import phonenumbers
import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Max, Min

from friday.accounts.models import Role, Team, User
from friday.core.models import DomainEvent
from friday.parties.models import Activity, ActivityKind, Affiliation, Party, PartyKind, PartyRole, Phone
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def password_for(output: str, username: str) -> str:
    row = next(line for line in output.splitlines() if f" {username} " in line)
    return [cell.strip() for cell in re.split(r"[│|]", row) if cell.strip()][-1]


def counts() -> dict[str, int]:
    return {
        "parties": Party.objects.count(),
        "activities": Activity.objects.count(),
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "events": DomainEvent.objects.count(),
    }


def test_demo_loads_a_business_with_months_of_history_once():
    # when
    output = run_demo()

    # then: the parties, by role and kind
    roles = {
        role: PartyRole.objects.filter(role=role).count()
        for role in PartyRole.objects.values_list("role", flat=True)
    }
    assert roles == {"customer": 92, "supplier": 6, "employee": 5, "partner": 2}
    people_customers = Party.objects.filter(kind=PartyKind.PERSON, roles__role="customer").count()
    assert people_customers == 80
    assert Party.objects.filter(kind=PartyKind.ORGANISATION).count() == 19
    assert Affiliation.objects.exclude(job_title="").count() >= 10

    # the history: logged activities of every kind, spanning at least six months, and some hand-overs
    logged = Activity.objects.exclude(kind=ActivityKind.SYSTEM)
    assert set(logged.values_list("kind", flat=True)) == {"note", "call", "meeting", "email_in", "email_out"}
    span = logged.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert span["last"] - span["first"] >= dt.timedelta(days=183)
    customers = Party.objects.filter(roles__role="customer")
    assert all(c.activities.exclude(kind=ActivityKind.SYSTEM).count() >= 2 for c in customers)
    assert Activity.objects.filter(event="party.owner_changed").count() >= 3
    created = Party.objects.aggregate(first=Min("created_at"))["first"]
    assert created <= span["last"] - dt.timedelta(days=183)  # records were backdated along with their history

    # birthdays (one on 29 February) and phones, all valid E.164
    assert Party.objects.filter(birthday__month=2, birthday__day=29).exists()
    numbers = list(Phone.objects.values_list("number", flat=True))
    assert len(numbers) >= 100 and len(set(numbers)) == len(numbers)
    for number in numbers:
        assert re.fullmatch(r"\+[1-9]\d{6,14}", number), number
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number

    # staff in two teams, a first admin, and the printed passwords work
    assert set(Team.objects.values_list("name", flat=True)) == {"Office", "Field"}
    assert User.objects.get(username="margaret.lowe").role == Role.READ_ONLY
    assert authenticate(username="priya.shah", password=password_for(output, "priya.shah")) is not None
    assert authenticate(username="admin", password=password_for(output, "admin")).role == Role.ADMIN
    assert "92 customers, 6 suppliers, 5 employees, 2 partners" in output

    # when: a second run
    before = counts()
    again = run_demo()

    # then: nothing is added, and it says so
    assert counts() == before
    assert "already loaded" in again


def test_demo_uses_the_existing_admin_and_prints_no_admin_password(cast):
    users_before = User.objects.count()

    output = run_demo("--seed", "3")

    assert User.objects.count() == users_before + 5  # the five demo staff, no second admin
    assert list(User.objects.filter(role=Role.ADMIN)) == [cast.admin]
    assert " admin " not in output
    assert PartyRole.objects.filter(role="customer").count() == 92


def test_demo_refuses_a_database_that_already_has_parties(cast):
    make_person(cast.alice)
    before = counts()

    with pytest.raises(CommandError, match="already holds 1 parties"):
        run_demo()

    assert counts() == before

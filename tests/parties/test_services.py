"""The write path: validation, normalisation, timeline, events, hand-over and the one-transaction rule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from friday.core.errors import Conflict, FridayError, PermissionDenied, ValidationFailed
from friday.core.models import DomainEvent
from friday.parties import services
from friday.parties.models import Activity, CustomField, Party
from tests.conftest import make_org, make_person

pytestmark = pytest.mark.django_db(transaction=False)


def test_create_person_normalises_contacts_and_writes_timeline_and_event(cast):
    party = make_person(
        cast.alice,
        emails=[" Ada@EXAMPLE.com ", "ada@example.com"],
        phones=["0161 496 0001"],
        roles=["customer"],
        tags=["VIP", "vip", "Trade"],
        birthday=dt.date(2000, 2, 29),
    )
    assert party.display_name == "Ada Lovelace"
    assert list(party.emails.values_list("address", flat=True)) == ["ada@example.com"]
    assert list(party.phones.values_list("number", flat=True)) == ["+441614960001"]
    assert sorted(party.party_tags.values_list("tag__name", flat=True)) == ["Trade", "VIP"]
    assert party.birthday == dt.date(2000, 2, 29)
    assert party.customer_since is not None  # a customer role sets "customer since" to today
    assert party.owner == cast.alice and party.team == cast.red
    assert Activity.objects.filter(party=party, event="party.created").count() == 1
    event = DomainEvent.objects.get(name="party.created", subject_id=party.pk)
    assert event.actor == cast.alice and event.payload["roles"] == ["customer"]


def test_invalid_email_and_phone_are_refused_with_their_fields_and_nothing_written(cast):
    with pytest.raises(ValidationFailed) as caught:
        make_person(cast.alice, emails=["not-an-email"], phones=["12"])
    fields = {e.field for e in caught.value.errors}
    assert fields == {"emails.0", "phones.0"}
    assert Party.objects.count() == 0 and DomainEvent.objects.filter(name="party.created").count() == 0


def test_null_bytes_are_refused(cast):
    with pytest.raises(ValidationFailed) as caught:
        make_person(cast.alice, given="A\x00da")
    assert caught.value.errors[0].field == "given_name"


def test_possible_duplicates_stop_creation_until_confirmed(cast):
    make_person(cast.alice, emails=["ada@example.com"], phones=["+44 161 496 0001"])
    data = services.PartyIn(
        kind="person", given_name="Ada", family_name="Lovelace-King", emails=["ADA@example.com"]
    )
    with pytest.raises(Conflict) as caught:
        services.party_create(by=cast.alice, data=data)
    assert caught.value.code == "party.possible_duplicates"
    reasons = caught.value.extra["matches"][0]["reasons"]
    assert any("same email" in r for r in reasons)
    assert Party.objects.count() == 1
    services.party_create(by=cast.alice, data=data, allow_duplicates=True)
    assert Party.objects.count() == 2


def test_close_name_in_same_organisation_is_a_likely_duplicate(cast):
    acme = make_org(cast.alice, "Acme Ltd")
    make_person(cast.alice, "Jonathan", "Smith", affiliations=[services.AffiliationIn(organisation=acme)])
    data = services.PartyIn(
        kind="person",
        given_name="Jonathon",
        family_name="Smith",
        affiliations=[services.AffiliationIn(organisation=acme, job_title="Buyer")],
    )
    with pytest.raises(Conflict) as caught:
        services.party_create(by=cast.alice, data=data)
    # Found both by the organisation and by the search index: one reason, not two.
    assert caught.value.extra["matches"][0]["reasons"] == ["similar name (92%) at the same organisation"]


def test_duplicates_the_user_cannot_see_are_counted_not_shown(cast):
    make_person(cast.bob, emails=["secret@example.com"])  # Blue team: invisible to alice
    data = services.PartyIn(kind="person", given_name="Someone", emails=["secret@example.com"])
    with pytest.raises(Conflict) as caught:
        services.party_create(by=cast.alice, data=data)
    assert caught.value.extra == {"matches": [], "hidden_count": 1}


def test_update_records_changed_field_names(cast):
    party = make_person(cast.alice)
    services.party_update(
        by=cast.alice, party=party, data=services.PartyIn(family_name="Byron", tags=["poet"])
    )
    event = DomainEvent.objects.filter(name="party.updated", subject_id=party.pk).get()
    assert event.payload["fields"] == ["family_name", "tags"]
    party.refresh_from_db()
    assert party.display_name == "Ada Byron" and "ada byron" in party.search_text
    # an update that changes nothing writes nothing
    services.party_update(by=cast.alice, party=party, data=services.PartyIn(family_name="Byron"))
    assert DomainEvent.objects.filter(name="party.updated", subject_id=party.pk).count() == 1


def test_handover_records_who_handed_to_whom(cast):
    party = make_person(cast.alice)
    services.party_change_owner(by=cast.alice, party=party, owner=cast.olga, note="she knows them")
    party.refresh_from_db()
    assert party.owner == cast.olga
    entry = Activity.objects.get(party=party, event="party.owner_changed")
    assert entry.author == cast.alice
    assert entry.subject == "Alice handed this over from Alice to Olga"
    assert entry.data["note"] == "she knows them"
    event = DomainEvent.objects.get(name="party.owner_changed")
    assert event.payload["from_user_id"] == cast.alice.pk and event.payload["to_user_id"] == cast.olga.pk
    # the new owner gets an email, sent by a background task
    assert DBTaskResult.objects.filter(task_path__endswith="handover_notify").count() == 1


def test_owner_must_change_through_handover(cast):
    party = make_person(cast.alice)
    with pytest.raises(ValidationFailed) as caught:
        services.party_update(by=cast.alice, party=party, data=services.PartyIn(owner=cast.bob))
    assert caught.value.errors[0].code == "party.use_handover"


def test_a_rolled_back_change_leaves_no_row_activity_event_or_task(cast):
    party = make_person(cast.alice)
    counts = (
        Party.objects.count(),
        Activity.objects.count(),
        DomainEvent.objects.count(),
        DBTaskResult.objects.count(),
    )

    class Boom(Exception):
        """Raised to roll the transaction back."""

    with pytest.raises(Boom), transaction.atomic():
        services.party_change_owner(by=cast.alice, party=party, owner=cast.olga)
        make_person(cast.alice, "Grace", "Hopper")
        assert DBTaskResult.objects.count() == counts[3] + 1  # the task was enqueued inside the transaction…
        raise Boom
    # …and vanished with it, along with the row changes, the timeline entries and the events.
    assert (
        Party.objects.count(),
        Activity.objects.count(),
        DomainEvent.objects.count(),
        DBTaskResult.objects.count(),
    ) == counts
    party.refresh_from_db()
    assert party.owner == cast.alice


def test_read_only_users_cannot_write(cast):
    party = make_person(cast.alice)
    with pytest.raises(PermissionDenied):
        make_person(cast.reader)
    with pytest.raises(PermissionDenied):
        services.activity_log(by=cast.reader, party=party, kind="note", body="hi")
    with pytest.raises(PermissionDenied):
        services.party_change_owner(by=cast.reader, party=party, owner=cast.reader)


def test_custom_fields_are_validated_on_every_write(cast):
    services.custom_field_create(by=cast.admin, key="fleet_size", label="Fleet size", field_type="number")
    services.custom_field_create(
        by=cast.admin,
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["gold", "silver"],
        required=True,
    )
    services.custom_field_create(by=cast.admin, key="renewal", label="Renewal", field_type="date")
    services.custom_field_create(
        by=cast.admin, key="vat_registered", label="VAT", field_type="yes_no", applies_to="organisation"
    )
    with pytest.raises(ValidationFailed) as caught:
        make_person(
            cast.alice,
            custom={"fleet_size": "many", "renewal": "31/02/2026", "vat_registered": True, "nope": 1},
        )
    codes = {e.field: e.code for e in caught.value.errors}
    assert codes == {
        "custom.fleet_size": "custom.invalid",
        "custom.renewal": "custom.invalid",
        "custom.vat_registered": "custom.not_applicable",
        "custom.nope": "custom.unknown_field",
        "custom.tier": "custom.required",
    }
    party = make_person(cast.alice, custom={"fleet_size": "12.5", "tier": "gold", "renewal": "2027-01-31"})
    assert party.custom == {"fleet_size": "12.5", "tier": "gold", "renewal": "2027-01-31"}
    with pytest.raises(ValidationFailed):
        services.party_update(by=cast.alice, party=party, data=services.PartyIn(custom={"tier": "bronze"}))
    with pytest.raises(PermissionDenied):
        services.custom_field_create(by=cast.alice, key="x", label="X", field_type="text")
    assert CustomField.objects.count() == 4


def test_activity_log_requires_content_and_sane_time(cast):
    party = make_person(cast.alice)
    with pytest.raises(ValidationFailed):
        services.activity_log(by=cast.alice, party=party, kind="note")
    with pytest.raises(ValidationFailed):
        services.activity_log(by=cast.alice, party=party, kind="system", body="forged")
    call = services.activity_log(by=cast.alice, party=party, kind="call", subject="Quote", body="Called back")
    assert call.author == cast.alice and DomainEvent.objects.filter(name="activity.logged").count() == 1


def test_member_cannot_assign_a_team_they_are_not_in(cast):
    with pytest.raises(FridayError) as caught:
        make_person(cast.alice, team=cast.blue)
    assert caught.value.field == "team"


def test_services_refuse_records_outside_the_users_scope(cast):
    from friday.core.errors import NotFound

    party = make_person(cast.alice)
    with pytest.raises(NotFound):
        services.activity_log(by=cast.bob, party=party, kind="note", body="sneaky")
    with pytest.raises(NotFound):
        services.party_change_owner(by=cast.bob, party=party, owner=cast.bob)
    with pytest.raises(NotFound):
        services.party_update(by=cast.olga, party=party, data=services.PartyIn(given_name="X"))
    with pytest.raises(NotFound):
        services.party_delete(by=cast.bob, party=party)
    with pytest.raises(NotFound):
        make_person(
            cast.bob, "Y", "Z", affiliations=[services.AffiliationIn(organisation=make_org(cast.alice))]
        )
    assert Activity.objects.filter(party=party).count() == 1


def test_typos_anywhere_in_a_name_are_likely_duplicates(cast):
    make_person(cast.alice, "Grace", "Hopper-Murray")
    for given, family in (
        ("Grace", "Hopper-Murrey"),
        ("Grayce", "Hopper-Murray"),
        ("grace", "HOPPER MURRAY"),
    ):
        data = services.PartyIn(kind="person", given_name=given, family_name=family)
        with pytest.raises(Conflict) as caught:
            services.party_create(by=cast.alice, data=data)
        assert caught.value.extra["matches"][0]["display_name"] == "Grace Hopper-Murray", (given, family)
    # a different person is not a duplicate
    services.party_create(
        by=cast.alice, data=services.PartyIn(kind="person", given_name="Ada", family_name="Byron")
    )

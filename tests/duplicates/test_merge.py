"""Merging two parties: every related record moves to the survivor (one of each kind is built on the other party
and counted), the unique rows are reconciled, the chosen values win, and a refused merge changes nothing."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest
import time_machine
from django.apps import apps
from django.db.models import Sum

from friday.automation.models import Firing
from friday.automation.services import RuleIn, fire, rule_save
from friday.automation.triggers import Match
from friday.billing import services as billing
from friday.core import clock
from friday.core.errors import NotFound, PermissionDenied, ValidationFailed
from friday.core.models import DomainEvent
from friday.deals.services import DealIn, deal_create
from friday.duplicates import relations
from friday.duplicates.models import DuplicatePair
from friday.duplicates.services import MergeChoices, duplicates_scan, pair_dismiss, party_merge
from friday.feedback.models import Survey
from friday.feedback.services import feedback_answer, feedback_request, survey_defaults_install
from friday.insights import metrics
from friday.insights.models import CustomerMetrics
from friday.jobs.services import AssetIn, CostIn, JobIn, PlanIn, asset_save, cost_add, job_create, plan_save
from friday.messaging.inbound import file_message
from friday.messaging.models import InboundMessage
from friday.messaging.services import TemplateIn, message_queue, template_save
from friday.parties.models import Activity, Address, Affiliation, EmailAddress, Party, PartyRole, Phone
from friday.parties.services import (
    AddressIn,
    AffiliationIn,
    activity_log,
    custom_field_create,
)
from friday.processes.models import FunnelDay, MoveDay, PartyStage, StageChange, StayDay
from friday.processes.services import stage_move
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import make_org, make_person

pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


@pytest.fixture
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }


def _mail(sender: str, to: str, subject: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m["Message-ID"] = f"<{subject.replace(' ', '-')}@example.com>"
    m.set_content("Hello")
    return m.as_bytes()


def _custom_fields(admin):
    custom_field_create(by=admin, key="source", label="Source", field_type="text")
    custom_field_create(by=admin, key="shoe", label="Shoe size", field_type="number")


def _pair(a, b):
    return {"party_a_id": min(a.pk, b.pk), "party_b_id": max(a.pk, b.pk)}


def _points_at(party_id: int) -> dict[str, int]:
    """Rows of every relation to Party pointing at `party_id`, by relation."""
    return {
        r.key: r.model._default_manager.filter(**{r.field.name: party_id}).count()
        for r in relations.party_relations()
    }


def _rollups():
    return {
        model.__name__: sorted(
            tuple(v for k, v in row.items() if k != "id") for row in model.objects.values()
        )
        for model in (FunnelDay, MoveDay, StayDay)
    }


@pytest.fixture
def book(cast, lifecycle, pipeline, job_process, media):
    """Ada (the survivor) and Ada King (the other, with one of every kind of record), built through the
    services on 1 March 2026."""
    survey_defaults_install()
    _custom_fields(cast.admin)
    template_save(
        by=cast.manager,
        data=TemplateIn(key="birthday", name="Birthday", subject="Happy birthday!", body_text="x"),
    )
    with time_machine.travel(at(2026, 3, 1, 9, 0), tick=False):
        acme = make_org(cast.alice, "Acme Ltd")
        beta = make_org(cast.alice, "Beta Tools")
        ada = make_person(
            cast.alice,
            "Ada",
            "Lovelace",
            emails=["ada@example.com"],
            phones=["0161 496 0001"],
            addresses=[AddressIn(line1="1 High St", city="Leeds", country="GB")],
            roles=["customer"],
            tags=["VIP"],
            custom={"source": "web"},
            affiliations=[AffiliationIn(acme)],
        )
        king = make_person(
            cast.alice,
            "Ada",
            "King",
            emails=["ada.king@example.com", "ADA@example.com"],
            phones=["0161 496 0001", "0161 496 0002"],
            addresses=[
                AddressIn(line1="1  high st", city="LEEDS", country="gb"),
                AddressIn(line1="2 Low Rd", city="York", country="GB"),
            ],
            roles=["customer", "supplier"],
            tags=["vip", "Trade"],
            birthday=dt.date(1815, 12, 10),
            notes="Met at the fair",
            custom={"source": "fair", "shoe": "7"},
            affiliations=[AffiliationIn(acme, job_title="CTO"), AffiliationIn(beta, job_title="Adviser")],
        )
        # An earlier merge into King: its record must follow King into Ada.
        kay = make_person(cast.alice, "Ada", "K.")
        party_merge(by=cast.alice, survivor=king, other=kay)

        activity_log(by=cast.alice, party=king, kind="call", subject="Asked about a boiler")
        stage_move(by=cast.alice, record_type="party", record=ada, to="suspect")
        stage_move(by=cast.alice, record_type="party", record=king, to="suspect")
        stage_move(by=cast.alice, record_type="party", record=king, to="prospect")
        deal_create(by=cast.alice, party=king, data=DealIn(title="New boiler", value="2400"))
        job = job_create(by=cast.alice, party=king, data=JobIn(title="Service", quoted_price="90"))
        cost_add(by=cast.alice, job=job, data=CostIn(kind="materials", description="Filter", unit_cost="12"))
        cost_add(
            by=cast.alice, party=king, data=CostIn(kind="acquisition", description="Flyer", unit_cost="3")
        )
        ada_job = job_create(by=cast.alice, party=ada, data=JobIn(title="Repair"))
        cost_add(
            by=cast.alice,
            job=ada_job,
            data=CostIn(kind="supplier_bill", description="Parts", unit_cost="40", supplier=king),
        )
        asset = asset_save(by=cast.alice, party=king, data=AssetIn(name="Boiler", serial_number="B-1"))
        plan_save(
            by=cast.alice, party=king, data=PlanIn(name="Annual service", every=1, unit="years", asset=asset)
        )
        billing.invoice_create(
            by=cast.alice,
            party=king,
            data=billing.InvoiceIn(lines=[billing.LineIn("Visit", "1", "90", "20")], terms_days=30),
        )
        reminder_create(
            by=cast.alice, data=ReminderIn(title="Call Ada", due_at=at(2026, 3, 20, 9, 0), party=ada)
        )
        reminder_create(
            by=cast.alice, data=ReminderIn(title="Call King", due_at=at(2026, 3, 20, 9, 0), party=king)
        )
        reminder_create(
            by=cast.alice,
            data=ReminderIn(title="Chase the parts", due_at=at(2026, 3, 21, 9, 0), party=ada, chase=king),
        )
        message_queue(key="test:king", party=king, subject="Hello", body_text="Hello Ada")
        file_message(_mail("ada.king@example.com", "office@friday.example.com", "Only King"))
        file_message(_mail("ada@example.com", "office@friday.example.com", "Both of them"))
        _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=king)
        feedback_answer(token=raw, score=9, comment="Great")
        rule = rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Birthday email",
                trigger={"type": "yearly", "field": "birthday", "at": "09:00"},
                actions=[{"type": "send_message", "template": "birthday"}],
                enabled=True,
            ),
        )
        due = at(2026, 3, 1, 9, 0)
        fire(rule, Match("party", king.pk, king.pk, "2025", due), source="sweep")
        fire(rule, Match("party", king.pk, king.pk, "2026", due), source="sweep")
        fire(rule, Match("party", ada.pk, ada.pk, "2026", due), source="sweep")  # collides once merged
        fire(rule, Match("deal", 999, king.pk, "event:1", due), source="event")
        metrics.compute([ada.pk, king.pk])
        # Pairs: Ada~King (email, phone), King~Bea (a phone), King~Cy (dismissed).
        bea = make_person(cast.alice, "Bea", "Other", phones=["0161 496 0002"])
        cy = make_person(cast.alice, "Cy", "Other", emails=["ada.king@example.com"])
        duplicates_scan(full=True)
        pair_dismiss(by=cast.alice, pair=DuplicatePair.objects.get(**_pair(king, cy)))
    return {"ada": ada, "king": king, "acme": acme, "beta": beta, "bea": bea, "cy": cy, "rule": rule}


# Relations the book gives King at least one row of: "one of each kind".
EVERY_KIND = {
    "parties.EmailAddress.party",
    "parties.Phone.party",
    "parties.Address.party",
    "parties.PartyRole.party",
    "parties.PartyTag.party",
    "parties.Affiliation.person",
    "parties.Activity.party",
    "processes.PartyStage.party",
    "processes.StageChange.party",
    "deals.Deal.party",
    "jobs.Asset.party",
    "jobs.ServicePlan.party",
    "jobs.Job.party",
    "jobs.Cost.party",
    "jobs.Cost.supplier",
    "reminders.Reminder.party",
    "reminders.Reminder.chase",
    "messaging.OutboundMessage.party",
    "messaging.InboundMessage_parties.party",
    "automation.Firing.party",
    "billing.Invoice.party",
    "feedback.FeedbackRequest.party",
    "feedback.Response.party",
    "insights.CustomerMetrics.party",
    "duplicates.PartyMerge.survivor",
    "duplicates.DuplicatePair.party_a",
}


def test_every_relation_to_a_party_has_a_merge_rule():
    # A new table with a unique party key and no rule would make every merge fail: caught here first.
    planned = {r.key for r, _ in relations.plan()} | relations.UNIONED
    assert planned == {r.key for r in relations.party_relations()}


def test_a_merge_moves_every_related_record_to_the_survivor(cast, book):
    ada, king = book["ada"], book["king"]
    before_ada, before_king = _points_at(ada.pk), _points_at(king.pk)
    missing = {
        k
        for k in EVERY_KIND
        if not before_king[k] and not (k.endswith("party_a") and before_king[k.replace("party_a", "party_b")])
    }
    assert not missing, f"the book has no {missing} on the other party"
    rollups = _rollups()
    funnel_total = FunnelDay.objects.aggregate(n=Sum("n"))["n"]
    king_lifecycle = list(
        StageChange.objects.filter(record_type="party", record_id=king.pk).values_list("pk", flat=True)
    )

    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        merge = party_merge(by=cast.alice, survivor=ada, other=king)

    assert not Party.objects.filter(pk=king.pk).exists()
    after = _points_at(ada.pk)
    assert all(n == 0 for n in _points_at(king.pk).values())
    # Plain moves: the survivor has its own rows and all of the other's.
    for key in (
        "parties.Activity.party",
        "processes.StageChange.party",
        "deals.Deal.party",
        "jobs.Asset.party",
        "jobs.ServicePlan.party",
        "jobs.Job.party",
        "jobs.Cost.party",
        "jobs.Cost.supplier",
        "reminders.Reminder.party",
        "reminders.Reminder.chase",
        "messaging.OutboundMessage.party",
        "automation.Firing.party",
        "billing.Invoice.party",
        "feedback.FeedbackRequest.party",
        "feedback.Response.party",
        "duplicates.PartyMerge.survivor",
    ):
        extra = (
            1 if key in ("parties.Activity.party", "duplicates.PartyMerge.survivor") else 0
        )  # this merge's own
        assert after[key] == before_ada[key] + before_king[key] + extra, key

    # Unions, without duplicates.
    assert sorted(EmailAddress.objects.filter(party=ada).values_list("address", "is_primary")) == [
        ("ada.king@example.com", False),
        ("ada@example.com", True),
    ]
    assert sorted(Phone.objects.filter(party=ada).values_list("number", "is_primary")) == [
        ("+441614960001", True),
        ("+441614960002", False),
    ]
    assert [str(a) for a in Address.objects.filter(party=ada)] == [
        "1 High St, Leeds, GB",
        "2 Low Rd, York, GB",
    ]
    assert sorted(PartyRole.objects.filter(party=ada).values_list("role", flat=True)) == [
        "customer",
        "supplier",
    ]
    assert sorted(ada.party_tags.values_list("tag__name", flat=True)) == ["Trade", "VIP"]
    assert sorted(
        Affiliation.objects.filter(person=ada).values_list("organisation__display_name", "job_title")
    ) == [
        ("Acme Ltd", "CTO"),  # Ada's link had no title: King's fills it
        ("Beta Tools", "Adviser"),
    ]
    # A mail filed on both is filed once; the one filed on King only moves.
    assert sorted(InboundMessage.objects.filter(parties=ada).values_list("subject", flat=True)) == [
        "Both of them",
        "Only King",
    ]
    assert after["messaging.InboundMessage_parties.party"] == 2

    # The lifecycle: Ada's position is kept; King's history moves as its own finished case.
    assert PartyStage.objects.get(party=ada).stage == "suspect" and PartyStage.objects.count() == 1
    moved = StageChange.objects.filter(pk__in=king_lifecycle)
    assert set(moved.values_list("party_id", "record_id")) == {(ada.pk, king.pk)}
    # The roll-ups count moves, not parties: identical.
    assert _rollups() == rollups and FunnelDay.objects.aggregate(n=Sum("n"))["n"] == funnel_total

    # Firings: keyed on King → re-keyed to Ada, except where Ada already has that key.
    rule = book["rule"]
    keys = sorted(Firing.objects.filter(party=ada).values_list("key", "record_type", "record_id"))
    assert keys == sorted(
        [
            (f"{rule.pk}:deal:999:event:1", "deal", 999),
            (
                f"{rule.pk}:party:{ada.pk}:2025",
                "party",
                ada.pk,
            ),  # re-keyed: the 2025 message is not sent again
            (f"{rule.pk}:party:{ada.pk}:2026", "party", ada.pk),  # Ada's own
            (f"{rule.pk}:party:{king.pk}:2026", "party", ada.pk),  # kept its key: Ada had 2026 already
        ]
    )

    # Customer figures: King's row is gone, Ada's recomputed from both: her two open reminders and King's one,
    # King's NPS answer.
    row = CustomerMetrics.objects.get(party=ada)
    assert not CustomerMetrics.objects.filter(party_id=king.pk).exists()
    assert (row.open_reminders, row.latest_nps) == (3, 9)
    assert row.as_of == at(2026, 3, 2, 10, 0)

    # Pairs: Ada~King gone, King~Bea (open) gone until the next scan, the dismissal of King~Cy now Ada~Cy.
    assert list(DuplicatePair.objects.values_list("party_a_id", "party_b_id", "dismissed_at")) == [
        (min(ada.pk, book["cy"].pk), max(ada.pk, book["cy"].pk), at(2026, 3, 1, 9, 0))
    ]

    # The record of it: the merge row (audit), the timeline, the event.
    assert merge.other_id == king.pk and merge.other_name == "Ada King" and merge.by == cast.alice
    assert merge.other_snapshot["emails"] == ["ada.king@example.com", "ada@example.com"]
    assert (
        merge.moved["deals"] == 1 and merge.moved["invoices"] == 1 and merge.moved["messages received"] == 1
    )
    assert merge.moved["email addresses"] == 1 and merge.moved["phone numbers"] == 1
    assert merge.moved["automation firings"] == 3 and "lifecycle position" not in merge.moved
    # Two merge entries: this one, and King's own earlier merge of Kay, moved with the rest of his timeline.
    earlier, entry = Activity.objects.filter(party=ada, event="party.merged").order_by("id")
    assert earlier.subject.startswith("Merged Ada K. (#")
    assert entry.subject == f"Merged Ada King (#{king.pk}) into this record"
    assert "deals: 1" in entry.body and "invoices: 1" in entry.body and "timeline entries: " in entry.body
    # King's own creation entry moved too, saying whose it was (and Kay's, from King's earlier merge, still says
    # hers): the survivor was not created three times.
    created = [a.subject for a in Activity.objects.filter(party=ada, event="party.created").order_by("id")]
    assert len(created) == 3 and "merged into this record" not in created[0]
    assert sum(s.endswith(f"— as Ada King (#{king.pk}), merged into this record") for s in created) == 1
    assert sum(s.count("merged into this record") for s in created) == 2
    event = DomainEvent.objects.filter(name="party.merged").latest("id")
    assert (event.subject_id, event.actor_id, event.payload["other_id"]) == (ada.pk, cast.alice.pk, king.pk)
    assert event.payload["merge_id"] == merge.pk


def test_chosen_values_win(cast, book):
    ada, king = book["ada"], book["king"]
    choices = MergeChoices(
        fields={"family_name": "other", "notes": "both", "birthday": "other", "owner": "survivor"},
        custom={"source": "other"},
        primary_email="ADA.KING@example.com",
        primary_phone="0161 496 0002",
    )
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        merge = party_merge(by=cast.alice, survivor=ada, other=king, choices=choices)
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.display_name, ada.sort_name) == (
        "Ada",
        "King",
        "Ada King",
        "ada king",
    )
    assert ada.birthday == dt.date(1815, 12, 10)
    assert ada.notes == "Met at the fair"  # Ada had none: "both" is King's alone
    # Source chosen from King; the shoe size only King had, taken by default.
    assert ada.custom == {"source": "fair", "shoe": "7"}
    assert EmailAddress.objects.get(party=ada, is_primary=True).address == "ada.king@example.com"
    assert Phone.objects.get(party=ada, is_primary=True).number == "+441614960002"
    assert "ada king" in ada.search_text and "ada.king@example.com" in ada.search_text
    assert ada.updated_at == at(2026, 3, 2, 10, 0)
    assert (
        merge.choices["fields"]["family_name"] == "other"
        and merge.choices["fields"]["given_name"] == "survivor"
    )
    assert merge.choices["custom"] == {"shoe": "other", "source": "other"}
    entry = Activity.objects.filter(party=ada, event="party.merged").latest("id")
    assert "Taken from Ada King: birthday, family name, notes, shoe (custom), source (custom)." in entry.body


def test_defaults_keep_the_survivor_unless_empty_the_earlier_customer_date_and_any_do_not_contact(cast):
    with time_machine.travel(at(2026, 1, 1, 9, 0), tick=False):
        older = make_person(cast.alice, "Bo", "Brown", roles=["customer"], do_not_contact=True)
    with time_machine.travel(at(2026, 2, 1, 9, 0), tick=False):
        newer = make_person(
            cast.alice, "Bo", "", roles=["customer"], notes="Prefers mornings", email_consent=True
        )
        party_merge(by=cast.alice, survivor=newer, other=older)
    newer.refresh_from_db()
    # The survivor had no family name: the other's fills it; what the survivor has, it keeps.
    assert (newer.given_name, newer.family_name, newer.display_name) == ("Bo", "Brown", "Bo Brown")
    assert newer.customer_since == dt.date(2026, 1, 1)
    assert newer.do_not_contact and newer.email_consent
    assert newer.notes == "Prefers mornings"


def test_only_the_other_in_the_lifecycle_moves_its_position_and_its_history_continues(cast, lifecycle):
    with time_machine.travel(at(2026, 3, 1, 9, 0), tick=False):
        ada = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
        king = make_person(cast.alice, "Ada", "King")
        stage_move(by=cast.alice, record_type="party", record=king, to="suspect")
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        party_merge(by=cast.alice, survivor=ada, other=king)
    assert PartyStage.objects.get(party=ada).stage == "suspect"
    with time_machine.travel(at(2026, 3, 4, 9, 0), tick=False):
        stage_move(by=cast.alice, record_type="party", record=ada, to="prospect")
    entered, moved = StageChange.objects.filter(party=ada).order_by("at")
    assert (entered.record_id, entered.to_stage, entered.next_stage) == (ada.pk, "suspect", "prospect")
    assert entered.seconds_in_stage == 3 * 86400  # the stay King began, closed by Ada's move
    assert (moved.record_id, moved.from_stage, moved.to_stage) == (ada.pk, "suspect", "prospect")
    assert StayDay.objects.get().n == 1


def test_members_merge_within_their_scope(cast):
    a = make_person(cast.alice, "Ada", "Lovelace")
    b = make_person(cast.alice, "Ada", "L.")
    party_merge(by=cast.alice, survivor=a, other=b)
    assert not Party.objects.filter(pk=b.pk).exists()


def _fingerprint():
    counts = {m._meta.label: m._default_manager.count() for m in apps.get_models()}
    counts.pop("django_tasks_db.DBTaskResult", None)
    parties = list(Party.objects.order_by("pk").values())
    return counts, parties


def test_a_refused_merge_changes_nothing(cast):
    _custom_fields(cast.admin)
    ada = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"], custom={"source": "web"})
    king = make_person(cast.alice, "Ada", "King", emails=["ada.king@example.com"])
    blue = make_person(cast.bob, "Ada", "Blue")
    acme = make_org(cast.alice, "Acme Ltd")
    retired = make_person(cast.alice, "Retired", "Owner")
    from friday.accounts.services import user_update

    before = _fingerprint()

    def refused(exc, by, survivor, other, choices=None):
        with pytest.raises(exc) as caught:
            party_merge(by=by, survivor=survivor, other=other, choices=choices)
        assert _fingerprint() == before
        return caught.value

    refused(PermissionDenied, cast.reader, ada, king)  # read-only
    refused(NotFound, cast.bob, ada, king)  # Bob cannot see Alice's team's records
    refused(NotFound, cast.alice, ada, blue)  # one of the two outside her scope
    refused(NotFound, cast.olga, ada, king)  # scope "own": not hers
    assert refused(ValidationFailed, cast.alice, ada, ada).field == "other_id"
    mismatch = refused(ValidationFailed, cast.alice, ada, acme)
    assert mismatch.code == "merge.kind_mismatch" and mismatch.field == "other_id"
    bad = refused(
        ValidationFailed,
        cast.alice,
        ada,
        king,
        MergeChoices(
            fields={"name": "other", "notes": "mine", "given_name": "both"},
            custom={"shoe": "other", "source": "neither"},
            primary_email="someone@example.com",
            primary_phone="12",
        ),
    )
    assert sorted((e.field, e.code) for e in bad.errors) == [
        ("choices.custom.shoe", "merge.unknown_field"),
        ("choices.custom.source", "merge.invalid_choice"),
        ("choices.fields.given_name", "merge.invalid_choice"),
        ("choices.fields.name", "merge.unknown_field"),
        ("choices.fields.notes", "merge.invalid_choice"),
        ("choices.primary_email", "merge.unknown_email"),
        ("choices.primary_phone", "invalid.phone"),
    ]
    # A person must keep a name.
    prince = make_person(cast.alice, "Prince", "")
    solo = make_person(cast.alice, "", "Solo")
    before = _fingerprint()
    choices = MergeChoices(fields={"given_name": "other", "family_name": "survivor"})
    empty = refused(ValidationFailed, cast.alice, prince, solo, choices)
    assert empty.field == "choices.fields.given_name"
    # An owner who has left cannot be chosen.
    from friday.parties.services import party_change_owner

    party_change_owner(by=cast.admin, party=retired, owner=cast.olga)
    user_update(by=cast.admin, user=cast.olga, is_active=False)
    before = _fingerprint()
    gone = refused(ValidationFailed, cast.admin, ada, retired, MergeChoices(fields={"owner": "other"}))
    assert gone.field == "choices.fields.owner" and gone.code == "invalid.owner_inactive"


def test_merging_two_organisations_unions_their_people(cast):
    acme = make_org(cast.alice, "Acme Ltd", emails=["info@acme.example.com"])
    acme_2 = make_org(cast.alice, "ACME Limited", emails=["info@acme.example.com", "sales@acme.example.com"])
    ada = make_person(cast.alice, "Ada", "Lovelace", affiliations=[AffiliationIn(acme)])
    make_person(
        cast.alice,
        "Bo",
        "Brown",
        affiliations=[AffiliationIn(acme, job_title=""), AffiliationIn(acme_2, job_title="Buyer")],
    )
    cy = make_person(cast.alice, "Cy", "Young", affiliations=[AffiliationIn(acme_2, job_title="CEO")])
    merge = party_merge(by=cast.alice, survivor=acme, other=acme_2)
    members = sorted(
        Affiliation.objects.filter(organisation=acme).values_list("person__given_name", "job_title")
    )
    # Bo was in both: one link, with the title only the other had; Cy moves; Ada stays.
    assert members == [("Ada", ""), ("Bo", "Buyer"), ("Cy", "CEO")]
    assert Affiliation.objects.count() == 3 and not Party.objects.filter(pk=acme_2.pk).exists()
    assert merge.moved["affiliations"] == 1 and merge.moved["email addresses"] == 1
    assert {ada.pk, cy.pk} <= set(
        Affiliation.objects.filter(organisation=acme).values_list("person_id", flat=True)
    )
    acme.refresh_from_db()
    assert acme.display_name == "Acme Ltd"

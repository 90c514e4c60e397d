"""The duplicate scan: what it finds and why (email, phone, names in one organisation, organisation names), what
it does not (the same name in different organisations), dismissals that stick, incremental passes, scope."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from friday.core import clock
from friday.duplicates import scan
from friday.duplicates.models import DuplicatePair, DuplicateScan
from friday.duplicates.selectors import pair_get, pair_list
from friday.duplicates.services import duplicates_scan, pair_dismiss, pair_restore
from friday.parties.models import EmailAddress
from friday.parties.services import AffiliationIn, PartyIn, party_update
from tests.conftest import make_org, make_person

pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


def pairs() -> dict[tuple[int, int], DuplicatePair]:
    return {(p.party_a_id, p.party_b_id): p for p in DuplicatePair.objects.all()}


def key(a, b) -> tuple[int, int]:
    return (min(a.pk, b.pk), max(a.pk, b.pk))


def test_the_same_email_in_any_case_or_spacing_is_found(cast):
    ada = make_person(cast.alice, "Ada", "Lovelace", emails=[" Ada@Example.COM "])
    king = make_person(cast.alice, "Augusta", "King", emails=["ada@example.com"])
    # A row written by other means (not folded by the services): the scan folds it itself.
    raw = make_person(cast.alice, "A.", "Byron")
    EmailAddress.objects.create(party=raw, address="  ADA@example.com", is_primary=True)
    make_person(cast.alice, "Charles", "Babbage", emails=["charles@example.com"])
    record = duplicates_scan(full=True)
    found = pairs()
    assert set(found) == {key(ada, king), key(ada, raw), key(king, raw)}
    pair = found[key(ada, king)]
    assert pair.score == 95  # an email alone
    assert pair.reasons == [{"code": "email", "text": "Same email ada@example.com"}]
    assert record.full and record.pairs == 3 and record.parties == 4 and record.finished_at is not None


def test_the_same_phone_typed_differently_is_found(cast):
    a = make_person(cast.alice, "Grace", "Hopper", phones=["0161 496 0001"])
    b = make_person(cast.alice, "G.", "Murray", phones=["+44 161 496 0001"])
    c = make_person(cast.alice, "Gee", "Hopper", phones=["0044 (161) 496-0001"])
    duplicates_scan(full=True)
    found = pairs()
    assert set(found) == {key(a, b), key(a, c), key(b, c)}
    assert found[key(a, b)].reasons == [{"code": "phone", "text": "Same phone 0161 496 0001"}]
    assert found[key(a, b)].score == 85


def test_similar_names_in_the_same_organisation_are_found_not_in_different_ones(cast):
    acme = make_org(cast.alice, "Acme Ltd")
    beta = make_org(cast.alice, "Beta Tools")
    jon = make_person(
        cast.alice, "Jonathan", "Smith", affiliations=[AffiliationIn(acme), AffiliationIn(beta)]
    )
    jonathon = make_person(cast.alice, "Jonathon", "Smith", affiliations=[AffiliationIn(acme)])
    # The same near-name, but in another organisation only: not a candidate.
    elsewhere = make_person(cast.alice, "Jonathon", "Smith", affiliations=[AffiliationIn(beta)])
    make_person(cast.alice, "Mary", "Smith", affiliations=[AffiliationIn(acme)])  # not close enough
    lone = make_person(cast.alice, "Jonathan", "Smith")  # the same name, no organisation
    duplicates_scan(full=True)
    found = pairs()
    # 1 substitution in 14 + 14 characters: (1 - 2/28) = 92.9% → 92; confidence 70 + 4 × 15 / 12 = 75.
    assert found[key(jon, jonathon)].reasons == [{"code": "name", "text": "Similar name (92%) at Acme Ltd"}]
    assert found[key(jon, jonathon)].score == 75
    # Jon is in Beta too: Jonathon-of-Beta pairs with him there, never with Jonathon-of-Acme.
    assert found[key(jon, elsewhere)].reasons == [
        {"code": "name", "text": "Similar name (92%) at Beta Tools"}
    ]
    assert key(jonathon, elsewhere) not in found
    assert not any(lone.pk in k for k in found)
    assert len(found) == 2


def test_organisations_with_the_same_name_but_for_legal_words_are_found(cast):
    a = make_org(cast.alice, "Acme Ltd")
    b = make_org(cast.alice, "ACME Limited")
    c = make_org(cast.alice, "The Acme Co")
    make_org(cast.alice, "Apex Ltd")
    # A person named like the organisation is another kind: never paired with it.
    make_person(cast.alice, "Acme", "")
    duplicates_scan(full=True)
    found = pairs()
    assert set(found) == {key(a, b), key(a, c), key(b, c)}
    assert found[key(a, b)].score == 80
    assert found[key(a, b)].reasons == [
        {"code": "org_name", "text": "Same name, leaving aside words such as Ltd"}
    ]


def test_a_name_whose_words_share_a_block_is_in_it_once(cast, monkeypatch):
    # "birch" and "birchwood" both start "birc": the organisation is in that block once, never paired with itself.
    a = make_org(cast.alice, "Birch Birchwood Ltd")
    b = make_org(cast.alice, "Birch Birchwood Limited")
    # An organisation too big for one block is cut by the first letters of its people's names: "Annabel Annan"
    # and "Annabell Annan" are each once in "ann" (2 members, within the limit of 2 set here): compared.
    monkeypatch.setattr(scan, "MAX_ORG_BLOCK", 2)
    trading = make_org(cast.alice, "Zed Trading")
    ann = make_person(cast.alice, "Annabel", "Annan", affiliations=[AffiliationIn(trading)])
    anne = make_person(cast.alice, "Annabell", "Annan", affiliations=[AffiliationIn(trading)])
    make_person(cast.alice, "Bob", "Brown", affiliations=[AffiliationIn(trading)])
    record = duplicates_scan(full=True)
    assert set(pairs()) == {key(a, b), key(ann, anne)} and record.pairs == 2


def test_evidence_adds_up(cast):
    acme = make_org(cast.alice, "Acme Ltd")
    a = make_person(
        cast.alice, "Ada", "Lovelace", emails=["ada@example.com"], affiliations=[AffiliationIn(acme)]
    )
    b = make_person(
        cast.alice,
        "Ada",
        "Lovelace",
        emails=["ada@example.com"],
        phones=["0161 496 0001"],
        affiliations=[AffiliationIn(acme)],
    )
    make_person(cast.alice, "Bo", "Peep", phones=["01614960001"])
    duplicates_scan(full=True)
    pair = pairs()[key(a, b)]
    # Email 95, then +10 for the same name in the organisation: capped at 100.
    assert pair.score == 100
    assert [r["code"] for r in pair.reasons] == ["email", "name"]
    assert pair.reasons[1]["text"] == "Same name at Acme Ltd"


def test_a_group_too_large_to_be_one_person_is_left_out_and_counted(cast, monkeypatch):
    monkeypatch.setattr(scan, "MAX_GROUP", 2)
    for name in ("A", "B", "C"):
        make_person(cast.alice, name, "Front desk", phones=["0161 496 0009"])
    record = duplicates_scan(full=True)
    assert DuplicatePair.objects.count() == 0 and record.skipped_groups == 1


def test_dismissed_pairs_stay_dismissed_through_full_and_incremental_scans(cast):
    with time_machine.travel(at(2026, 3, 1, 9, 0), tick=False):
        a = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
        b = make_person(cast.alice, "Ada", "King", emails=["ada@example.com"])
        duplicates_scan(full=True)
        pair = pair_get(user=cast.alice, pair_id=DuplicatePair.objects.get().pk)
        pair_dismiss(by=cast.alice, pair=pair)
    with time_machine.travel(at(2026, 3, 1, 10, 0), tick=False):
        duplicates_scan(full=True)
    with time_machine.travel(at(2026, 3, 1, 11, 0), tick=False):
        party_update(by=cast.alice, party=b, data=PartyIn(notes="Changed, so the incremental scan looks"))
        record = duplicates_scan()
    assert not record.full and record.parties == 1
    kept = DuplicatePair.objects.get()
    assert (kept.party_a_id, kept.party_b_id) == key(a, b)
    assert kept.dismissed_at == at(2026, 3, 1, 9, 0) and kept.dismissed_by == cast.alice
    assert pair_list(user=cast.alice).items == []
    assert [p.pk for p in pair_list(user=cast.alice, dismissed=True).items] == [kept.pk]
    # Restored, it is on the list again.
    pair_restore(by=cast.alice, pair=kept)
    assert [p.pk for p in pair_list(user=cast.alice).items] == [kept.pk]


def test_an_incremental_scan_looks_only_at_what_changed_and_finds_new_pairs(cast):
    with time_machine.travel(at(2026, 3, 1, 8, 0), tick=False):
        a = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
        make_person(cast.alice, "Bo", "Peep", phones=["0161 496 0001"])
    with time_machine.travel(at(2026, 3, 1, 9, 0), tick=False):
        first = duplicates_scan()  # no scan before: a full one
    assert first.full and first.pairs == 0
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        new = make_person(cast.alice, "Ada", "L.", emails=["ADA@example.com"])
        second = duplicates_scan()
    assert not second.full and second.since == at(2026, 3, 1, 9, 0)
    assert second.parties == 1 and second.pairs == 1
    assert set(pairs()) == {key(a, new)}
    # The pair found incrementally is what a full scan finds.
    with time_machine.travel(at(2026, 3, 3, 9, 0), tick=False):
        incremental = {k: (p.score, p.reasons) for k, p in pairs().items()}
        duplicates_scan(full=True)
        assert {k: (p.score, p.reasons) for k, p in pairs().items()} == incremental


def test_incremental_and_full_scans_agree_on_names_and_organisations(cast):
    with time_machine.travel(at(2026, 3, 1, 8, 0), tick=False):
        acme = make_org(cast.alice, "Acme Ltd")
        make_person(cast.alice, "Jonathan", "Smith", affiliations=[AffiliationIn(acme)])
    with time_machine.travel(at(2026, 3, 1, 9, 0), tick=False):
        duplicates_scan(full=True)
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        make_person(cast.alice, "Jonathon", "Smith", affiliations=[AffiliationIn(acme)])
        make_org(cast.alice, "ACME Limited")
        record = duplicates_scan()
    assert not record.full and record.pairs == 2
    incremental = {k: (p.score, p.reasons) for k, p in pairs().items()}
    duplicates_scan(full=True)
    assert {k: (p.score, p.reasons) for k, p in pairs().items()} == incremental


def test_a_user_sees_only_pairs_of_parties_they_may_both_see(cast):
    red_1 = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
    red_2 = make_person(cast.alice, "Ada", "King", emails=["ada@example.com"])
    blue = make_person(cast.bob, "Ada", "Byron", emails=["ada@example.com"])
    duplicates_scan(full=True)
    assert DuplicatePair.objects.count() == 3

    def seen(user):
        return {(p.party_a_id, p.party_b_id) for p in pair_list(user=user).items}

    assert seen(cast.alice) == {key(red_1, red_2)}
    assert seen(cast.bob) == set()  # one blue party alone is no pair
    assert seen(cast.olga) == set()  # scope "own": Alice owns them
    assert seen(cast.manager) == {key(red_1, red_2), key(red_1, blue), key(red_2, blue)}
    hidden = DuplicatePair.objects.get(party_a_id=min(red_1.pk, blue.pk), party_b_id=max(red_1.pk, blue.pk))
    from friday.core.errors import NotFound

    with pytest.raises(NotFound):
        pair_get(user=cast.alice, pair_id=hidden.pk)


def test_the_list_filters_by_reason_and_score_and_pages(cast):
    acme = make_org(cast.alice, "Acme Ltd")
    e1 = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
    e2 = make_person(cast.alice, "Ada", "King", emails=["ada@example.com"])
    p1 = make_person(cast.alice, "Bo", "Peep", phones=["0161 496 0001"])
    p2 = make_person(cast.alice, "Bea", "Peep", phones=["0161 496 0001"])
    n1 = make_person(cast.alice, "Jonathan", "Smith", affiliations=[AffiliationIn(acme)])
    n2 = make_person(cast.alice, "Jonathon", "Smith", affiliations=[AffiliationIn(acme)])
    duplicates_scan(full=True)
    first = pair_list(user=cast.alice, limit=2)
    assert [(p.party_a_id, p.party_b_id) for p in first.items] == [key(e1, e2), key(p1, p2)]
    rest = pair_list(user=cast.alice, limit=2, cursor=first.next_cursor)
    assert [(p.party_a_id, p.party_b_id) for p in rest.items] == [key(n1, n2)] and rest.next_cursor is None
    assert [p.score for p in pair_list(user=cast.alice, reason="phone").items] == [85]
    assert len(pair_list(user=cast.alice, min_score=80).items) == 2
    from friday.core.errors import FridayError

    for bad in ({"reason": "vibes"}, {"min_score": 101}, {"limit": 0}):
        with pytest.raises(FridayError) as caught:
            pair_list(user=cast.alice, **bad)
        assert caught.value.field == next(iter(bad))


def test_the_command_scans_with_a_progress_bar(cast, capsys):
    make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
    make_person(cast.alice, "Ada", "King", emails=["ada@example.com"])
    call_command("parties", "dedupe-scan", "--full")
    out = capsys.readouterr().out
    assert "Full scan: 2 parties, 1 likely duplicate pair" in out
    assert DuplicateScan.objects.get().pairs == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_scan_task(cast, run_worker):
    from friday.duplicates.tasks import duplicates_scan as task

    make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
    make_person(cast.alice, "Ada", "King", emails=["ada@example.com"])
    task.enqueue(full=True, by_id=cast.manager.pk)
    run_worker()
    record = DuplicateScan.objects.get()
    assert record.full and record.pairs == 1 and record.by == cast.manager
    assert DuplicatePair.objects.count() == 1

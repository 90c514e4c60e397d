"""Deals through their services: create into the pipeline, move with lost reasons, scope, board and list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from friday.core.errors import FridayError, NotFound, PermissionDenied, ValidationFailed
from friday.core.models import DomainEvent
from friday.deals.models import Deal, LostReason
from friday.deals.selectors import DealFilters, deal_board, deal_list
from friday.deals.services import DealIn, deal_create, deal_delete, deal_move, deal_update, lost_reason_save
from friday.processes.models import StageChange
from friday.processes.services import MoveRefused
from tests.conftest import make_person


def test_a_deal_enters_the_pipeline_at_its_initial_stage(pipeline, cast):
    party = make_person(cast.alice)
    deal = deal_create(by=cast.alice, party=party, data=DealIn(title="New boiler", value="4,250.00"))
    assert deal.stage == "enquiry" and deal.value == Decimal("4250.00") and deal.currency == "GBP"
    assert deal.owner == cast.alice and deal.team == cast.red
    change = StageChange.objects.get(record_type="deal", record_id=deal.pk)
    assert change.from_stage == "" and change.to_stage == "enquiry" and change.party == party
    assert DomainEvent.objects.filter(name="deal.stage_entered", subject_id=deal.pk).count() == 1


def test_bad_deal_input_lists_every_field(pipeline, cast):
    party = make_person(cast.alice)
    with pytest.raises(ValidationFailed) as exc:
        deal_create(by=cast.alice, party=party, data=DealIn(title=" ", value="12.345", currency="pounds"))
    assert {e.field for e in exc.value.errors} == {"title", "value", "currency"}
    for value in ("-1", "NaN", "1e20", "abc"):
        with pytest.raises(ValidationFailed):
            deal_create(by=cast.alice, party=party, data=DealIn(title="x", value=value))
    assert not Deal.objects.exists()


def test_no_pipeline_no_deal(cast):
    party = make_person(cast.alice)
    with pytest.raises(FridayError) as exc:
        deal_create(by=cast.alice, party=party, data=DealIn(title="x"))
    assert exc.value.code == "deal.no_pipeline"


def test_entering_lost_needs_a_lost_reason_and_winning_clears_it(pipeline, cast):
    party = make_person(cast.alice)
    deal = deal_create(by=cast.alice, party=party, data=DealIn(title="Boiler"))
    with pytest.raises(ValidationFailed) as exc:
        deal_move(by=cast.alice, deal=deal, to="lost")
    assert [e.field for e in exc.value.errors] == ["lost_reason"]
    price = LostReason.objects.get(name="Price")
    change = deal_move(by=cast.alice, deal=deal, to="lost", lost_reason=price, lost_note="Too dear")
    deal.refresh_from_db()
    assert deal.lost_reason == price and deal.closed_at == change.at and deal.stage == "lost"
    with pytest.raises(MoveRefused):
        deal_move(by=cast.alice, deal=deal, to="enquiry")


def test_requirements_and_checklists_on_deals(pipeline, cast):
    deal = deal_create(by=cast.alice, party=make_person(cast.alice), data=DealIn(title="Boiler"))
    deal_move(by=cast.alice, deal=deal, to="survey", checked=["Visit in the diary"])
    with pytest.raises(ValidationFailed) as exc:
        deal_move(by=cast.alice, deal=deal, to="quoted")
    assert [e.field for e in exc.value.errors] == ["value"]
    deal_update(by=cast.alice, deal=deal, data=DealIn(value=Decimal("3100")))
    deal_move(by=cast.alice, deal=deal, to="quoted")
    change = deal_move(by=cast.alice, deal=deal, to="won", checked=["Acceptance on file"])
    deal.refresh_from_db()
    assert deal.closed_at == change.at
    moves = list(
        StageChange.objects.filter(record_id=deal.pk, record_type="deal")
        .order_by("at", "id")
        .values_list("from_stage", "to_stage", "next_stage")
    )
    assert moves == [
        ("", "enquiry", "survey"),
        ("enquiry", "survey", "quoted"),
        ("survey", "quoted", "won"),
        ("quoted", "won", ""),
    ]


def test_deals_are_scoped_like_parties(pipeline, cast):
    party = make_person(cast.alice)
    deal = deal_create(by=cast.alice, party=party, data=DealIn(title="Boiler"))
    with pytest.raises(NotFound):
        deal_move(by=cast.bob, deal=deal, to="survey", checked=["Visit in the diary"])
    with pytest.raises(NotFound):
        deal_update(by=cast.bob, deal=deal, data=DealIn(title="Mine"))
    with pytest.raises(PermissionDenied):
        deal_update(by=cast.reader, deal=deal, data=DealIn(title="Mine"))
    with pytest.raises(NotFound):
        deal_create(by=cast.bob, party=party, data=DealIn(title="x"))
    assert deal_list(user=cast.bob, filters=DealFilters()).items == []
    assert [d.pk for d in deal_list(user=cast.reader, filters=DealFilters()).items] == [deal.pk]
    deal_delete(by=cast.alice, deal=deal)
    assert not StageChange.objects.filter(record_type="deal").exists()


def test_board_counts_totals_and_pages(pipeline, cast):
    party = make_person(cast.alice)
    for i in range(7):
        deal_create(by=cast.alice, party=party, data=DealIn(title=f"Job {i}", value=Decimal("100.50")))
    board = deal_board(user=cast.alice, process=pipeline, limit=5)
    enquiry = board.columns[0]
    assert (
        enquiry.stage.key == "enquiry"
        and enquiry.count == 7
        and enquiry.totals == [("GBP", Decimal("703.50"))]
    )
    assert [d.title for d in enquiry.deals] == [f"Job {i}" for i in range(5)] and enquiry.next_cursor
    assert [c.count for c in board.columns[1:]] == [0, 0, 0, 0, 0]
    assert deal_board(user=cast.bob, process=pipeline).columns[0].count == 0
    # Other currencies get their own totals, after the business's own; a deal without a value counts only.
    deal_create(by=cast.alice, party=party, data=DealIn(title="Euro job", value="50", currency="eur"))
    deal_create(by=cast.alice, party=party, data=DealIn(title="Dollar job", value="20", currency="USD"))
    deal_create(by=cast.alice, party=party, data=DealIn(title="No value yet"))
    enquiry = deal_board(user=cast.alice, process=pipeline).columns[0]
    assert enquiry.count == 10
    assert enquiry.totals == [
        ("GBP", Decimal("703.50")),
        ("EUR", Decimal("50.00")),
        ("USD", Decimal("20.00")),
    ]


def test_list_filters(pipeline, cast):
    party = make_person(cast.alice)
    a = deal_create(
        by=cast.alice, party=party, data=DealIn(title="Boiler", expected_close=dt.date(2027, 1, 5))
    )
    b = deal_create(by=cast.alice, party=party, data=DealIn(title="Radiators"))
    deal_move(by=cast.alice, deal=b, to="lost", lost_reason=LostReason.objects.get(name="Price"))
    ids = lambda **f: [d.pk for d in deal_list(user=cast.alice, filters=DealFilters(**f)).items]  # noqa: E731
    assert ids(status="open") == [a.pk]
    assert ids(status="lost") == [b.pk]
    assert ids(status="won") == []
    assert ids(q="boil") == [a.pk]
    assert ids(stage="lost") == [b.pk]
    with pytest.raises(FridayError):
        ids(status="maybe")


def test_lost_reasons_are_an_editable_list(pipeline, cast):
    assert [r.name for r in LostReason.objects.all()][:2] == ["Price", "Chose a competitor"]
    with pytest.raises(ValidationFailed):
        lost_reason_save(by=cast.admin, name="price")
    with pytest.raises(PermissionDenied):
        lost_reason_save(by=cast.alice, name="Weather")
    retired = lost_reason_save(
        by=cast.admin, reason=LostReason.objects.get(name="Price"), name="Price", active=False
    )
    deal = deal_create(by=cast.alice, party=make_person(cast.alice), data=DealIn(title="x"))
    with pytest.raises(FridayError) as exc:
        deal_move(by=cast.alice, deal=deal, to="lost", lost_reason=retired)
    assert exc.value.field == "lost_reason"


@pytest.mark.django_db(transaction=True)
def test_two_people_moving_one_deal_at_once_make_one_move(pipeline, cast):
    import threading

    from django.db import connection

    deal = deal_create(by=cast.alice, party=make_person(cast.alice), data=DealIn(title="Boiler"))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def move(user) -> None:
        try:
            barrier.wait()
            deal_move(by=user, deal=deal, to="survey", checked=["Visit in the diary"])
            result = "moved"
        except FridayError as exc:
            result = exc.code
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=move, args=(u,)) for u in (cast.alice, cast.manager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["moved", "stage.same"]
    changes = StageChange.objects.filter(record_type="deal", record_id=deal.pk).order_by("at", "id")
    assert [(c.from_stage, c.to_stage) for c in changes] == [("", "enquiry"), ("enquiry", "survey")]


def test_board_won_and_lost_columns_hold_what_closed_lately(pipeline, cast):
    import time_machine

    party = make_person(cast.alice)
    price = LostReason.objects.get(name="Price")
    old = deal_create(by=cast.alice, party=party, data=DealIn(title="Old loss", value="10"))
    deal_move(by=cast.alice, deal=old, to="lost", lost_reason=price)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=31)):
        recent = deal_create(by=cast.alice, party=party, data=DealIn(title="New loss", value="20"))
        deal_move(by=cast.alice, deal=recent, to="lost", lost_reason=price)
        lost = next(c for c in deal_board(user=cast.alice, process=pipeline).columns if c.stage.key == "lost")
        assert lost.closed_days == 30 and lost.count == 1 and [d.title for d in lost.deals] == ["New loss"]
        assert lost.totals == [("GBP", Decimal("20.00"))]
        enquiry = deal_board(user=cast.alice, process=pipeline).columns[0]
        assert enquiry.closed_days is None


def test_amounts_have_no_more_decimals_than_their_currency(pipeline, cast):
    party = make_person(cast.alice)
    with pytest.raises(ValidationFailed) as exc:
        deal_create(by=cast.alice, party=party, data=DealIn(title="Yen", value="1000.5", currency="JPY"))
    assert exc.value.errors[0].field == "value" and "no minor unit" in exc.value.errors[0].detail
    deal = deal_create(by=cast.alice, party=party, data=DealIn(title="Yen", value="1000", currency="JPY"))
    with pytest.raises(ValidationFailed):
        deal_update(by=cast.alice, deal=deal, data=DealIn(value="10.25"))  # still yen
    assert deal_list(user=cast.alice, filters=DealFilters(stage="enquiry")).items
    with pytest.raises(FridayError) as bad:
        deal_list(user=cast.alice, filters=DealFilters(stage="nope"))
    assert bad.value.field == "stage"

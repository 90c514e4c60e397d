"""Deal pages: create from a party, board with moves and refusals, detail and history, list filters."""

from __future__ import annotations

from friday.deals.models import Deal, LostReason
from tests.conftest import make_person


def test_create_board_move_and_refusal(pipeline, cast, web_for):
    party = make_person(cast.alice, "Grace", "Hopper")
    alice = web_for(cast.alice)
    form = alice.get(f"/deals/new/?party={party.pk}").content.decode()
    assert f"Grace Hopper · #{party.pk}" in form
    r = alice.post("/deals/new/", {"party": "Grace", "title": "Boiler", "process": "sales_pipeline"})
    assert r.status_code == 422 and "Pick the customer from the list" in r.content.decode()
    r = alice.post(
        "/deals/new/",
        {
            "party": f"Grace Hopper · #{party.pk}",
            "title": "Boiler",
            "value": "12.345",
            "process": "sales_pipeline",
        },
    )
    assert r.status_code == 422 and "2 decimal places" in r.content.decode()
    r = alice.post(
        "/deals/new/",
        {
            "party": f"Grace Hopper · #{party.pk}",
            "title": "Boiler",
            "value": "4250",
            "process": "sales_pipeline",
        },
    )
    deal = Deal.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/deals/{deal.pk}/"
    party_page = alice.get(f"/parties/{party.pk}/").content.decode()
    assert 'id="deals-h"' in party_page and f'href="/deals/{deal.pk}/"' in party_page
    assert f"/deals/new/?party={party.pk}" in party_page
    board = alice.get("/deals/board/").content.decode()
    assert f'data-deal="{deal.pk}" data-stage="enquiry"' in board
    assert "A customer asked about work" in board  # the stage's definition, on hover
    # An undeclared move (as a drag onto "Won" would send) is refused with the allowed stages.
    r = alice.post(f"/deals/{deal.pk}/move/", {"to": "won", "next": "/deals/board/"})
    body = r.content.decode()
    assert r.status_code == 422 and "Enquiry → Won is not a step" in body
    assert 'data-stage="survey"' in body and 'data-stage="lost"' in body
    # Lost needs a reason: the page asks for it, then the move goes through.
    r = alice.post(f"/deals/{deal.pk}/move/", {"to": "lost", "next": "/deals/board/"})
    assert r.status_code == 422 and "Why was it lost?" in r.content.decode()
    price = LostReason.objects.get(name="Price")
    r = alice.post(
        f"/deals/{deal.pk}/move/", {"to": "lost", "lost_reason": price.pk, "next": "/deals/board/"}
    )
    assert r.status_code == 302 and r["Location"] == "/deals/board/"
    detail = alice.get(f"/deals/{deal.pk}/").content.decode()
    assert "Lost because" in detail and "Price" in detail and "Stage history" in detail
    r = alice.post(f"/deals/{deal.pk}/move/", {"to": "enquiry", "next": "https://evil.example/"})
    assert r.status_code == 422
    assert web_for(cast.bob).get(f"/deals/{deal.pk}/").status_code == 404


def test_list_and_party_options(pipeline, cast, web_for):
    party = make_person(cast.alice, "Grace", "Hopper")
    alice = web_for(cast.alice)
    options = alice.get("/parties/options/", {"party": "Grace"}).content.decode()
    assert f'value="Grace Hopper · #{party.pk}"' in options
    assert "Grace" not in web_for(cast.bob).get("/parties/options/", {"party": "Grace"}).content.decode()
    alice.post(
        "/deals/new/",
        {"party": f"Grace Hopper · #{party.pk}", "title": "Radiators", "process": "sales_pipeline"},
    )
    page = alice.get("/deals/", {"status": "open"}).content.decode()
    assert "Radiators" in page and 'data-stage="enquiry"' in page
    assert alice.get("/deals/", {"status": "maybe"}).status_code == 400


def test_no_pipeline_sends_you_to_install_one(cast, web_for):
    r = web_for(cast.alice).get("/deals/board/")
    assert r.status_code == 302 and r["Location"] == "/processes/"


def test_a_required_deal_field_is_filled_from_the_move_page(pipeline, cast, web_for):
    from friday.deals.services import DealIn, deal_create, deal_move

    deal = deal_create(by=cast.alice, party=make_person(cast.alice), data=DealIn(title="Boiler"))
    deal_move(by=cast.alice, deal=deal, to="survey", checked=["Visit in the diary"])
    alice = web_for(cast.alice)
    page = alice.get(f"/deals/{deal.pk}/move/?to=quoted").content.decode()
    assert 'data-field="value" data-filled="no"' in page
    edit = f"/deals/{deal.pk}/edit/?next=%2Fdeals%2F{deal.pk}%2Fmove%2F%3Fto%3Dquoted"
    assert f'href="{edit}"' in page
    r = alice.post(
        edit,
        {
            "title": "Boiler",
            "value": "2400.00",
            "currency": "GBP",
            "next": f"/deals/{deal.pk}/move/?to=quoted",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"/deals/{deal.pk}/move/?to=quoted"
    page = alice.get(r["Location"]).content.decode()
    assert 'data-field="value" data-filled="yes"' in page and 'id="fill-in"' not in page
    # Choosing Lost asks for the reason on the page itself, not on the edit page.
    page = alice.get(f"/deals/{deal.pk}/move/?to=lost").content.decode()
    assert 'id="lost-reason"' in page and 'data-field="lost_reason"' not in page


def test_lost_reasons_page(pipeline, cast, web_for):
    from friday.deals.services import DealIn, deal_create, deal_move

    price = LostReason.objects.get(name="Price")
    deal = deal_create(by=cast.alice, party=make_person(cast.alice), data=DealIn(title="Boiler"))
    deal_move(by=cast.alice, deal=deal, to="lost", lost_reason=price)
    alice = web_for(cast.alice)
    page = alice.get("/deals/lost-reasons/").content.decode()
    assert (
        f'href="/deals/?status=lost&amp;lost_reason={price.pk}">1</a>' in page and "Add a reason" not in page
    )
    listed = alice.get(f"/deals/?status=lost&lost_reason={price.pk}").content.decode()
    assert (
        f'href="/deals/{deal.pk}/"' in listed
        and 'id="also-filtered"' in listed
        and "lost to “Price”" in listed
    )
    assert f'name="lost_reason" value="{price.pk}"' in listed  # kept when the form is sent
    assert alice.post("/deals/lost-reasons/", {"name": "Weather"}).status_code == 403
    manager = web_for(cast.manager)
    r = manager.post("/deals/lost-reasons/", {"name": "  price "})
    assert r.status_code == 422 and "already a lost reason" in r.content.decode()
    assert manager.post("/deals/lost-reasons/", {"name": "Weather"}).status_code == 302
    assert 'name="active"' in manager.get(f"/deals/lost-reasons/{price.pk}/").content.decode()
    r = manager.post(f"/deals/lost-reasons/{price.pk}/", {"name": "Too expensive"})  # unticked: retired
    assert r.status_code == 302
    price.refresh_from_db()
    assert price.name == "Too expensive" and not price.active
    deal.refresh_from_db()
    assert deal.lost_reason_id == price.pk  # kept on the deal
    move = manager.get(
        f"/deals/{deal_create(by=cast.manager, party=make_person(cast.manager), data=DealIn(title='B')).pk}/move/?to=lost"
    ).content.decode()
    assert "Too expensive" not in move and "Weather" in move

"""vCard export: a party or the list as filtered, readable back by an address-book parser, scoped."""

from __future__ import annotations

import datetime as dt

import vobject

from friday.parties import services, vcard
from friday.parties.services import AddressIn, AffiliationIn, PartyIn
from tests.conftest import make_person


def _org(by, name):
    return services.party_create(by=by, data=PartyIn(kind="organisation", name=name), allow_duplicates=True)


def test_a_person_s_vcard_reads_back_whole(cast, web_for):
    acme = _org(cast.alice, "Acme; Boilers, Ltd")
    ada = make_person(
        cast.alice,
        "Ádá",
        "Lovelace",
        emails=["ada@example.com", "ada.home@example.org"],
        phones=["+447400900123"],
        addresses=[AddressIn("1 High St", "Flat 2", "Leeds", "", "LS1 1AA", "GB", label="home")],
        affiliations=[AffiliationIn(acme, "Engineer")],
        tags=["vip", "gas & oil"],
        birthday=dt.date(1815, 12, 10),
        notes="Prefers mornings.\nRing the bell twice. " + "Long note " * 20,
    )
    response = web_for(cast.alice).get(f"/parties/{ada.pk}/vcard/")
    assert response.status_code == 200 and response["Content-Type"] == "text/vcard; charset=utf-8"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%C3%81d%C3%A1-Lovelace.vcf"
    text = response.content.decode("utf-8")
    assert "\r\n" in text and all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded
    card = vobject.readOne(text)
    assert card.version.value == "3.0" and card.uid.value == f"friday-{vcard.install_mark()}-party-{ada.pk}"
    assert (card.n.value.given, card.n.value.family, card.fn.value) == ("Ádá", "Lovelace", "Ádá Lovelace")
    assert [e.value for e in card.email_list] == ["ada@example.com", "ada.home@example.org"]
    assert "PREF" in card.email_list[0].type_paramlist and "PREF" not in card.email_list[1].type_paramlist
    assert card.tel.value == "+447400900123"
    assert (card.adr.value.street, card.adr.value.city, card.adr.value.code) == (
        "1 High St\nFlat 2",
        "Leeds",
        "LS1 1AA",
    )
    assert card.adr.type_param == "HOME"
    assert card.org.value == ["Acme; Boilers, Ltd"] and card.title.value == "Engineer"
    assert card.categories.value == ["gas & oil", "vip"]
    assert card.bday.value == "1815-12-10"
    assert card.note.value.startswith("Prefers mornings.\nRing the bell twice.")
    assert web_for(cast.bob).get(f"/parties/{ada.pk}/vcard/").status_code == 404  # not Bob's to see


def test_the_list_as_filtered_downloads_as_vcards(cast, web_for):
    _org(cast.alice, "Acme")
    make_person(cast.alice, "Ada", "Lovelace", tags=["vip"])
    make_person(cast.alice, "Charles", "Babbage")
    make_person(cast.bob, "Grace", "Hopper", tags=["vip"])
    response = web_for(cast.alice).get("/parties/?tag=vip&format=vcf")
    assert response.status_code == 200 and response["Content-Type"] == "text/vcard; charset=utf-8"
    cards = list(vobject.readComponents(b"".join(response.streaming_content).decode("utf-8")))
    assert [c.fn.value for c in cards] == ["Ada Lovelace"]
    everyone = web_for(cast.manager).get("/parties/?sort=name&format=vcf")
    cards = list(vobject.readComponents(b"".join(everyone.streaming_content).decode("utf-8")))
    assert [c.fn.value for c in cards] == ["Acme", "Ada Lovelace", "Charles Babbage", "Grace Hopper"]
    assert cards[0].org.value == ["Acme"] and cards[0].x_abshowas.value == "COMPANY"
    page = web_for(cast.alice).get("/parties/").content.decode()
    assert 'data-export="vcf"' in page
